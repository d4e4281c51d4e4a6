"""The toolkit distribution (toolkit/): what it holds, that it builds reproducibly, that the gate works installed."""

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLKIT = ROOT / "toolkit"
# What only local runs and tests need: never in what the jobs install.
LOCAL_ONLY = {"local.py", "release_local.py", "cells.py", "signing.py", "attest.py"}


def outside_env() -> dict[str, str]:
    """The environment of another project's process: nothing of this suite's coverage or paths.

    The suite measures its subprocesses (coverage's ``patch = subprocess``):
    inherited, that would measure the installed toolkit as if it were this
    checkout's code, and another project's pytest would report into our data.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "COVERAGE_", "PYTEST_"))}


def build(out: Path) -> Path:
    """The toolkit's wheel, by the locked backend, at a fixed time."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    argv = [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)]
    subprocess.run(argv, cwd=TOOLKIT, env=env, check=True, capture_output=True, text=True)
    (wheel,) = out.glob("service_pipeline-*.whl")
    return wheel


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build(tmp_path_factory.mktemp("toolkit"))


def test_two_builds_are_byte_identical(built, tmp_path):
    again = build(tmp_path)
    assert hashlib.sha256(built.read_bytes()).hexdigest() == hashlib.sha256(again.read_bytes()).hexdigest()


def test_the_wheel_holds_the_helpers_and_the_gate_and_nothing_local(built):
    wheel = built
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {n for n in names if not n.startswith("service_pipeline-")}
    assert all(n.startswith(("pipeline/", "quality_gate/")) for n in modules), sorted(modules)
    assert not [n for n in names if "authority" in n or "/tests/" in n or n.startswith("tests/")]
    assert not [n for n in modules if Path(n).name in LOCAL_ONLY]
    # Every module of the helpers is either shipped or named local-only: a new
    # one must be classified, not slip in (or out) unseen.
    sources = {
        f"pipeline/{p.relative_to(ROOT / 'src' / 'pipeline').as_posix()}"
        for p in (ROOT / "src" / "pipeline").rglob("*.py")
        if "authority" not in p.parts
    }
    sources |= {f"quality_gate/{p.name}" for p in (ROOT / "plugins" / "quality_gate").glob("*.py")}
    assert sources - modules == {f"pipeline/{name}" for name in LOCAL_ONLY}
    assert modules - sources == set()
    metadata = zipfile.ZipFile(wheel).read("service_pipeline-0.1.0.dist-info/METADATA").decode()
    assert "Name: service-pipeline" in metadata
    assert "Version: 0.1.0" in metadata
    entry_points = zipfile.ZipFile(wheel).read("service_pipeline-0.1.0.dist-info/entry_points.txt").decode()
    assert "quality_gate = quality_gate.plugin" in entry_points
    assert "service-pipeline = pipeline.cli:main" in entry_points
    assert not [n for n in names if "sample_app" in n]


def test_no_sdist_is_made_that_could_not_rebuild_the_wheel():
    # The wheel's sources are outside toolkit/: an sdist of it would not build.
    assert "targets.sdist" not in (TOOLKIT / "pyproject.toml").read_text()


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory):
    """A fresh environment with the toolkit wheel and pytest-cov, as another project would have it."""
    uv = shutil.which("uv") or os.environ.get("HATCH_UV", "")
    assert uv, "uv is not on PATH (hatch installs it): it makes the scratch environment"
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=outside_env())
    python = venv / "bin" / "python"
    wheel = built
    # As the jobs install it: its dependencies from the hashed lock, then the
    # toolkit itself; pytest and pytest-cov as the project's own test tools.
    argv = [uv, "pip", "install", "--quiet", "--python", str(python)]
    lock = ROOT / ".github" / "helpers-requirements.txt"
    tools = ["pytest==9.2.0", "pytest-cov==7.1.0", "pluggy", "iniconfig", "packaging", "pygments"]
    for extra in (["--require-hashes", "--no-deps", "-r", str(lock)], ["--no-deps", str(wheel)], tools):
        done = subprocess.run([*argv, *extra], capture_output=True, text=True, check=False, env=outside_env())
        assert done.returncode == 0, f"installing {extra[-1]} failed: {done.stderr[-500:]}"
    return python


def project(path: Path, fail_under: int) -> Path:
    """A project that knows nothing of the pipeline: a module, a test, its coverage threshold."""
    (path / "calc.py").write_text("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n")
    (path / "test_calc.py").write_text("from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    (path / "pyproject.toml").write_text(f"[tool.coverage.report]\nfail_under = {fail_under}\n")
    return path


@pytest.mark.parametrize(("fail_under", "status", "verdict"), [(60, 0, "passed"), (90, 1, "FAILED")])
def test_any_project_gets_the_gate_from_the_installed_toolkit(installed, tmp_path, fail_under, status, verdict):
    folder = project(tmp_path, fail_under)
    env = outside_env()
    done = subprocess.run(
        [str(installed), "-m", "pytest", "--cov=calc", "-p", "no:cacheprovider", "--gate-json=gate.json"],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == status, done.stdout + done.stderr
    assert f"Quality gate {verdict}: coverage 75%" in done.stdout  # 3 of calc.py's 4 statements, no precision set
    assert (folder / "gate.json").exists()
    # It came from the installed toolkit, not from this checkout.
    where = subprocess.run(
        [str(installed), "-c", "import quality_gate; print(quality_gate.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert str(installed.parents[1]) in where


def test_the_installed_command_offers_no_local_only_command(installed):
    argv = [str(installed), "-m", "pipeline", "--help"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=outside_env())
    assert done.returncode == 0, done.stderr
    for command in ("matrix", "verify", "cd-deploy", "release-check", "verify-release"):
        assert command in done.stdout
    for command in ("local", "attest", "release "):
        assert f"    {command}" not in done.stdout
