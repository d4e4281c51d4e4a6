import subprocess

import pytest

from pipeline.cli import main
from projects import service_project

INIT = '"""sample-app."""\n\n__version__ = "0.1.0"\n'
CHANGELOG = "# Changelog\n\n## [Unreleased]\n\n### Added\n- a thing\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A repository with the two files a release edits, on main, one commit."""
    (tmp_path / "src" / "sample_app").mkdir(parents=True)
    (tmp_path / "src" / "sample_app" / "__init__.py").write_text(INIT)
    (tmp_path / "CHANGELOG.md").write_text(CHANGELOG)
    service_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    return tmp_path


def git(*args):
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    return subprocess.run(["git", *ident, *args], check=True, capture_output=True, text=True).stdout.strip()


def test_prepare_sets_the_version_and_rolls_the_changelog_and_never_pushes(project, capsys):
    assert main(["release-prepare", "0.2.0", "--date", "2026-11-30"]) == 0
    assert '__version__ = "0.2.0"' in (project / "src" / "sample_app" / "__init__.py").read_text()
    assert (
        "## [Unreleased]\n\n## [0.2.0] - 2026-11-30\n\n### Added\n- a thing" in (project / "CHANGELOG.md").read_text()
    )
    out = capsys.readouterr().out
    assert "git tag -s v0.2.0" in out
    assert "git push origin main v0.2.0" in out
    assert git("status", "--porcelain")  # changed, not committed: a person decides


@pytest.mark.parametrize(("version", "status"), [("0.2", 2), ("v0.2.0", 2), ("0.2.0.dev1", 2)])
def test_prepare_refuses_a_bad_version_and_writes_nothing(project, capsys, version, status):
    assert main(["release-prepare", version]) == status
    assert "not a release version" in capsys.readouterr().err
    assert git("status", "--porcelain") == ""


def test_prepare_writes_nothing_when_the_changelog_cannot_roll(project, capsys):
    (project / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n")
    git("commit", "-qam", "empty")
    assert main(["release-prepare", "0.2.0"]) == 1
    assert "lists no change" in capsys.readouterr().err
    assert git("status", "--porcelain") == ""


def test_check_passes_a_prepared_tag_on_main(project, capsys, tmp_path, monkeypatch):
    main(["release-prepare", "0.2.0", "--date", "2026-11-30"])
    git("commit", "-qam", "Release 0.2.0")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out"))
    sha = git("rev-parse", "HEAD")
    assert main(["release-check", "--tag", "refs/tags/v0.2.0", "--sha", sha, "--no-image"]) == 0
    assert "v0.2.0 may be released" in capsys.readouterr().out
    outputs = (tmp_path / "out").read_text()
    assert "version=0.2.0\n" in outputs
    assert "prerelease=false\n" in outputs
    assert "image-tags=0.2.0 0.2 latest\n" in outputs


def test_check_reports_every_problem_in_one_line_before_anything_is_built(project, capsys):
    git("checkout", "-q", "-b", "side")
    git("commit", "-q", "--allow-empty", "-m", "not on main")
    sha = git("rev-parse", "HEAD")
    assert main(["release-check", "--tag", "v0.3.0", "--sha", sha, "--no-image"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    for problem in ("package version is 0.1.0", "does not point at a commit of main", "no section '## [0.3.0]"):
        assert problem in err
    assert main(["release-check", "--tag", "v0.3", "--sha", sha, "--no-image"]) == 2


def test_check_needs_cis_image_for_the_commit(project, capsys, monkeypatch):
    main(["release-prepare", "0.2.0", "--date", "2026-11-30"])
    git("commit", "-qam", "Release 0.2.0")
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/app")
    monkeypatch.setenv("IMAGE_REGISTRY", "127.0.0.1:9")
    assert main(["release-check", "--tag", "v0.2.0", "--sha", git("rev-parse", "HEAD")]) == 1
    assert "CI's image for" in capsys.readouterr().err


def test_notes_hold_the_changelog_section_the_image_and_how_to_verify(project, capsys, monkeypatch):
    main(["release-prepare", "0.2.0", "--date", "2026-11-30"])
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/app")
    image = "ghcr.io/octo/app@sha256:" + "d" * 64
    assert main(["release-notes", "--tag", "v0.2.0", "--image", image]) == 0
    notes = (project / "reports" / "release.md").read_text()
    assert notes.startswith("### Added\n- a thing\n")
    assert f"`{image}`" in notes
    assert "--signer-workflow octo/app/.github/workflows/release.yml" in notes
    assert "hatch run ci verify-release v0.2.0" in notes


def test_publish_creates_the_release_once_and_a_rerun_changes_nothing(tmp_path, fake_github, capsys):
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "sample_app-0.2.0-py3-none-any.whl").write_bytes(b"wheel")
    (dist / "sample_app-0.2.0.tar.gz").write_bytes(b"sdist")
    notes = tmp_path / "notes.md"
    notes.write_text("### Added\n- a thing\n")
    argv = ["release-publish", "--tag", "v0.2.0rc1", "--notes", str(notes), "--dir", str(dist)]
    assert main(argv) == 0
    made = fake_github.releases["v0.2.0rc1"]
    assert made["prerelease"] is True
    assert made["body"] == "### Added\n- a thing\n"
    assert sorted(a["name"] for a in made["assets"]) == sorted(p.name for p in dist.iterdir())
    writes = len([r for r in fake_github.requests if r[0] == "POST"])
    assert main(argv) == 0
    assert "unchanged" in capsys.readouterr().out
    assert len([r for r in fake_github.requests if r[0] == "POST"]) == writes
    (dist / "extra.json").write_text("{}")
    assert main(argv) == 1
    assert "published with other assets (missing extra.json)" in capsys.readouterr().err


def test_publish_refuses_bad_input_before_any_write(tmp_path, fake_github, capsys):
    notes = tmp_path / "notes.md"
    notes.write_text("x")
    (tmp_path / "empty").mkdir()
    assert main(["release-publish", "--tag", "v0.2.0", "--notes", str(notes), "--dir", str(tmp_path / "empty")]) == 2
    assert main(["release-publish", "--tag", "0.2.0", "--notes", str(notes), "--dir", str(tmp_path)]) == 2
    assert fake_github.requests == []


def test_assets_go_only_to_githubs_upload_host(fake_github):
    from pipeline import github  # noqa: PLC0415
    from pipeline.errors import GitHubError  # noqa: PLC0415
    from pipeline.settings import Settings  # noqa: PLC0415

    client = github.GitHub(Settings.from_env({"GITHUB_API_URL": fake_github.url, "GITHUB_TOKEN": "t"}))
    with pytest.raises(GitHubError, match="not GitHub's upload host"):
        client.upload("https://evil.example/upload", "x", b"x")


VECTORS = __import__("pathlib").Path(__file__).resolve().parent / "data" / "sigstore"
BEACON = ["--repository", "sigstore-conformance/extremely-dangerous-public-oidc-beacon"]
BEACON += ["--signer-workflow", ".github/workflows/extremely-dangerous-oidc-beacon.yml", "--ref", "refs/heads/main"]
BEACON += ["--commit", "82a3bfe6dd50fe9c71d6315eae66da15307856cf"]  # the vector certificate's commit


@pytest.fixture
def downloaded(tmp_path):
    """A release folder: one file and the real bundle that attests it (public test data)."""
    import shutil  # noqa: PLC0415

    folder = tmp_path / "assets"
    folder.mkdir()
    shutil.copy(VECTORS / "attestation-direct-workflow.artifact", folder / "sample_app-0.2.0.tar.gz")
    shutil.copy(VECTORS / "attestation-direct-workflow.sigstore.json", folder / "provenance.sigstore.json")
    return folder


def test_verify_release_accepts_every_file_attested_by_the_signer(downloaded, capsys):
    assert main(["verify-release", "v0.2.0", "--dir", str(downloaded), "--offline", *BEACON]) == 0
    assert "all 1 files attested by" in capsys.readouterr().out


def test_verify_release_refuses_an_extra_or_changed_file_with_its_name(downloaded, capsys):
    (downloaded / "extra.whl").write_bytes(b"not attested")
    assert main(["verify-release", "v0.2.0", "--dir", str(downloaded), "--offline", *BEACON]) == 1
    err = capsys.readouterr().err
    assert "extra.whl" in err
    assert "sample_app-0.2.0.tar.gz" not in err
    (downloaded / "extra.whl").unlink()
    (downloaded / "sample_app-0.2.0.tar.gz").write_bytes(b"tampered")
    assert main(["verify-release", "v0.2.0", "--dir", str(downloaded), "--offline", *BEACON]) == 1
    assert "sample_app-0.2.0.tar.gz" in capsys.readouterr().err


def test_verify_release_refuses_another_signer_or_ref(downloaded, capsys):
    # The default expectation: this repository's release.yml at refs/tags/v0.2.0.
    args = ["verify-release", "v0.2.0", "--dir", str(downloaded), "--offline"]
    args += ["--commit", "82a3bfe6dd50fe9c71d6315eae66da15307856cf"]
    assert main([*args, "--repository", "sigstore-conformance/extremely-dangerous-public-oidc-beacon"]) == 1
    assert "release.yml@refs/tags/v0.2.0" in capsys.readouterr().err


def test_verify_release_bad_input(tmp_path, downloaded, capsys):
    assert main(["verify-release", "0.2.0", "--dir", str(downloaded), *BEACON]) == 2
    (downloaded / "provenance.sigstore.json").unlink()
    assert main(["verify-release", "v0.2.0", "--dir", str(downloaded), "--offline", *BEACON]) == 1
    assert "no attestation bundles" in capsys.readouterr().err
    assert main(["verify-release", "v0.2.0", "--dir", str(tmp_path / "nope"), *BEACON]) == 2


def test_two_builds_of_one_commit_are_byte_identical(tmp_path):
    from pipeline import distribution  # noqa: PLC0415

    first = distribution.build_distributions(tmp_path / "a", "1700000000", "sample_app")
    second = distribution.build_distributions(tmp_path / "b", "1700000000", "sample_app")
    assert [p.name for p in first] == [p.name for p in second]
    assert len(first) == 2
    for one, two in zip(first, second, strict=True):
        assert one.read_bytes() == two.read_bytes(), one.name
    assert [distribution.check_metadata(p) for p in first] == ["", ""]


def test_bad_metadata_is_named(tmp_path):
    import zipfile  # noqa: PLC0415

    from pipeline import distribution  # noqa: PLC0415

    wheel = tmp_path / "bad-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("bad-1.0.dist-info/METADATA", "Metadata-Version: 2.4\nName: bad pkg\nVersion: one\n")
    assert "invalid metadata" in distribution.check_metadata(wheel)
    (tmp_path / "x.tar.gz").write_bytes(b"not a tarball")
    assert "no readable metadata" in distribution.check_metadata(tmp_path / "x.tar.gz")
