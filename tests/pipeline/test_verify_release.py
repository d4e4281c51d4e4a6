"""`verify_assets` (verify-release): every entry of the folder accounted for, at the tag's commit.

The files are signed for real, as release.yml at the tag, through the local
Sigstore authority; the folder is then damaged in every way a download or an
attacker could.
"""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest

from pipeline import distribution, signing
from pipeline.errors import CheckFailed, InputError
from pipeline.trust import LOCAL_ISSUER, Trust
from pipeline.verify import Expectations

TAG, COMMIT, OTHER = "v1.2.3", "c" * 40, "d" * 40
FILES = {"sample_app-1.2.3.tar.gz": b"the sdist", "sample_app-1.2.3-py3-none-any.whl": b"the wheel"}
RUN = signing.Workflow(
    repository="octo/app", ref=f"refs/tags/{TAG}", sha=COMMIT, run_id="9", path=".github/workflows/release.yml"
)


def expected(commit: str = COMMIT) -> Expectations:
    return Expectations(
        repository="octo/app",
        ref=f"refs/tags/{TAG}",
        signer_workflow=".github/workflows/release.yml",
        issuer=LOCAL_ISSUER,
        commit=commit,
    )


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    from pipeline.authority.server import AuthorityServer  # noqa: PLC0415

    server = AuthorityServer(tmp_path_factory.mktemp("authority")).start()
    trust = Trust(local_url=server.url)
    subjects = [(name, hashlib.sha256(data).hexdigest()) for name, data in FILES.items()]
    yield trust, signing.sign(signing.provenance(subjects, RUN), trust, RUN)
    server.shutdown()
    server.server_close()


@pytest.fixture
def folder(tmp_path, signed):
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "release.sigstore.json").write_bytes(signed[1])
    (tmp_path / "SHA256SUMS").write_text(
        "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in FILES.items())
    )
    return tmp_path


def refusal(folder, signed, commit=COMMIT) -> str:
    with pytest.raises(CheckFailed) as caught:
        distribution.verify_assets(folder, TAG, expected(commit), signed[0])
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_every_file_verifies_at_the_tags_commit(folder, signed):
    verified = distribution.verify_assets(folder, TAG, expected(), signed[0])
    assert sorted(verified) == sorted((n, hashlib.sha256(d).hexdigest()) for n, d in FILES.items())


def test_a_release_signed_at_another_commit_is_refused_naming_both(folder, signed):
    message = refusal(folder, signed, commit=OTHER)
    assert message.startswith(f"{TAG}: sample_app-1.2.3-py3-none-any.whl (sha256:")
    assert "no bundle verified" in message
    assert (
        "(refused bundles: release.sigstore.json: the certificate's source commit does not match "
        f"(OIDCSourceRepositoryDigest): got {COMMIT}, expected {OTHER})"
    ) in message


def test_the_commit_is_required(folder, signed):
    with pytest.raises(InputError, match=f"verifying {TAG} needs the commit it names: give --commit"):
        distribution.verify_assets(folder, TAG, expected(commit=""), signed[0])


def test_a_file_no_verified_bundle_names_is_refused_with_its_reason(folder, signed):
    (folder / "extra.whl").write_bytes(b"not released")
    message = refusal(folder, signed)
    assert "extra.whl (sha256:" in message
    assert "no verified bundle names its digest" in message
    assert "sample_app-1.2.3.tar.gz" not in message


@pytest.mark.parametrize("kind", ["directory", "fifo", "symlink-loop", "dangling-link", "read-error", "5-gb"])
def test_an_entry_that_cannot_be_checked_is_refused_by_name_never_skipped(folder, signed, kind):
    path = folder / "odd.whl"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink-loop":
        path.symlink_to(path)
    elif kind == "dangling-link":
        path.symlink_to(folder / "nowhere")
    elif kind == "read-error":
        path.symlink_to("/proc/self/mem")  # regular, size 0, and reading fails even as root
    else:
        with path.open("wb") as handle:
            handle.truncate(5 * 1024**3)
    message = refusal(folder, signed)
    why = {
        "directory": "it is a directory, not a regular file",
        "fifo": "it is a named pipe (FIFO), not a regular file",
        "symlink-loop": "too many levels of symbolic links",
        "dangling-link": "no such file or directory",
        "read-error": "input/output error",
        "5-gb": "it is 5.0 GiB, over the 2.0 GiB limit",
    }[kind]
    assert f"{TAG}: odd.whl: {why}" in message


@pytest.mark.parametrize("kind", ["directory", "fifo", "read-error", "5-gb", "not-json"])
def test_a_bad_bundle_beside_a_good_one_hides_nothing(folder, signed, kind):
    path = folder / "other.sigstore.json"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "read-error":
        path.symlink_to("/proc/self/mem")
    elif kind == "5-gb":
        with path.open("wb") as handle:
            handle.truncate(5 * 1024**3)
    else:
        path.write_text("{not json")
    assert len(distribution.verify_assets(folder, TAG, expected(), signed[0])) == 2
    # Alone, it is reported with its reason (no traceback, not "no bundle names it").
    (folder / "release.sigstore.json").unlink()
    message = refusal(folder, signed)
    assert "no bundle verified" in message
    assert "(refused bundles: other.sigstore.json" in message


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (f"{'0' * 64}  sample_app-1.2.3.tar.gz", "sample_app-1.2.3.tar.gz has sha256 "),
        (f"{'0' * 64}  missing.whl", "names 'missing.whl', which is not in the folder"),
        (f"{'0' * 64}  ../x", "names '../x', a path outside the folder"),
        (f"{'0' * 64}  /etc/passwd", "names '/etc/passwd', a path outside the folder"),
        (f"{'0' * 64}  sub/x.whl", "names 'sub/x.whl', a path outside the folder"),
        ("not a line", "is not '<sha256> <name>'"),
        (f"{'A' * 64}  sample_app-1.2.3.tar.gz", "is not '<sha256> <name>'"),
    ],
)
def test_sha256sums_is_checked_against_the_files(folder, signed, line, problem):
    wheel = "sample_app-1.2.3-py3-none-any.whl"
    (folder / "SHA256SUMS").write_text(f"{hashlib.sha256(FILES[wheel]).hexdigest()}  {wheel}\n{line}\n")
    message = refusal(folder, signed)
    assert message.startswith(f"{TAG}: SHA256SUMS line 2")
    assert problem in message


def test_sha256sums_rules():
    digests = {"a.whl": "1" * 64}
    assert distribution.check_sums(f"{'1' * 64}  a.whl\n".encode(), digests) == []
    assert distribution.check_sums(f"{'1' * 64} *a.whl\n".encode(), digests) == []  # binary mode
    assert distribution.check_sums(f"{'1' * 64}  a.whl\n{'1' * 64}  a.whl\n".encode(), digests) == [
        "SHA256SUMS line 2 lists 'a.whl' again"
    ]
    assert distribution.check_sums(b"\n", digests) == ["SHA256SUMS lists no file"]
    assert distribution.check_sums(b"\xff", digests) == ["SHA256SUMS is not UTF-8 text"]
    assert distribution.check_sums(f"{'2' * 64}  a.whl".encode(), digests) == [
        f"SHA256SUMS line 1: a.whl has sha256 {'1' * 64}, SHA256SUMS says {'2' * 64}"
    ]


def test_the_tags_commit_comes_from_git(tmp_path):
    def git(*argv):
        return subprocess.run(["git", *argv], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")
    git("-c", "user.name=t", "-c", "user.email=t@t", "tag", "-a", TAG, "-m", "annotated")
    assert distribution.tag_commit(TAG, tmp_path) == git("rev-parse", "HEAD")
    assert distribution.tag_commit("v9.9.9", tmp_path) == ""
    assert distribution.tag_commit("--upload-pack=x", tmp_path) == ""
