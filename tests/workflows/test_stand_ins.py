"""The stand-ins refuse what the actions they stand in for refuse."""

import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parent / "stand-ins" / "shared"
# The stand-ins run on the runner's system Python, as the real actions run on
# its Node, never on the interpreter a matrix cell put first on PATH.
SYSTEM_PYTHON = "/usr/bin/python3"
pytestmark = pytest.mark.skipif(
    not Path(SYSTEM_PYTHON).exists(), reason=f"no {SYSTEM_PYTHON}: the stand-ins run on the runner's system Python"
)


def distributions(folder):
    return subprocess.run(
        [SYSTEM_PYTHON, str(SHARED / "distributions.py"), str(folder)], capture_output=True, text=True, check=False
    )


def wheel(folder, name="app-1.0-py3-none-any.whl"):
    with zipfile.ZipFile(folder / name, "w") as archive:
        archive.writestr("app-1.0.dist-info/METADATA", "Metadata-Version: 2.4\nName: app\nVersion: 1.0\n")


def sdist(folder, name="app-1.0.tar.gz"):
    info = folder / "PKG-INFO"
    info.write_text("Metadata-Version: 2.4\nName: app\nVersion: 1.0\n")
    with tarfile.open(folder / name, "w:gz") as archive:
        archive.add(info, arcname="app-1.0/PKG-INFO")
    info.unlink()


def test_pypi_publish_takes_a_wheel_and_an_sdist(tmp_path):
    wheel(tmp_path)
    sdist(tmp_path)
    done = distributions(tmp_path)
    assert done.returncode == 0, done.stdout
    assert "2 distributions checked, nothing uploaded" in done.stdout


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("SHA256SUMS", b"abc  app-1.0.tar.gz\n", "Unknown distribution format: 'SHA256SUMS'"),
        ("app.cdx.json", b"{}", "Unknown distribution format"),
        ("broken-1.0-py3-none-any.whl", b"not a zip", "not a readable wheel"),
        ("broken-1.0.tar.gz", b"not a tar", "not a readable sdist"),
    ],
)
def test_pypi_publish_refuses_what_twine_check_refuses(tmp_path, name, content, why):
    wheel(tmp_path)
    (tmp_path / name).write_bytes(content)
    done = distributions(tmp_path)
    assert done.returncode == 1
    assert why in done.stdout


def test_pypi_publish_refuses_an_empty_folder(tmp_path):
    assert "no distributions" in distributions(tmp_path).stdout


def upload(store, name, source, overwrite="false"):
    env = {**os.environ, "ACT_ARTIFACTS": str(store), "NAME": name, "PATTERNS": str(source)}
    env |= {"OVERWRITE": overwrite, "IF_NO_FILES": "error"}
    args = [SYSTEM_PYTHON, str(SHARED / "artifacts.py"), "upload"]
    return subprocess.run(args, capture_output=True, text=True, env=env, check=False)


def test_a_second_upload_of_one_name_is_refused_unless_it_overwrites(tmp_path):
    store, source = tmp_path / "store", tmp_path / "report.xml"
    store.mkdir()
    source.write_text("attempt 1")
    assert upload(store, "reports-3.13", source).returncode == 0
    source.write_text("attempt 2")
    refused = upload(store, "reports-3.13", source)
    assert refused.returncode == 1
    assert "already exists in this run" in refused.stdout
    assert upload(store, "reports-3.13", source, overwrite="true").returncode == 0
    assert (store / "reports-3.13" / "report.xml").read_text() == "attempt 2"


def test_download_patterns_expand_braces_as_minimatch_does(tmp_path):
    store = tmp_path / "store"
    for name in ("reports-3.12", "coverage", "image", "image-archive", "trivy"):
        (store / name).mkdir(parents=True)
        (store / name / f"{name}.txt").write_text(name)
    out = tmp_path / "out"
    github_output = tmp_path / "github_output"
    github_output.touch()
    env = {**os.environ, "ACT_ARTIFACTS": str(store), "NAME": "", "DEST": str(out), "MERGE": "true"}
    env |= {"PATTERN": "{reports-*,coverage,image,trivy}", "GITHUB_OUTPUT": str(github_output)}
    args = [SYSTEM_PYTHON, str(SHARED / "artifacts.py"), "download"]
    subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    assert sorted(p.name for p in out.iterdir()) == ["coverage.txt", "image.txt", "reports-3.12.txt", "trivy.txt"]
