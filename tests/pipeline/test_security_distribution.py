"""verify-release's decision of what is a bundle and what is a release file, pinned.

A bundle is exactly ``*.sigstore.json``, ``*.jsonl`` or ``*.sigstore``; every
other regular file but ``SHA256SUMS`` is a release file that a verified bundle
must name, whatever its kind. Taking any ``*.json`` as a bundle, or checking
only wheels and sdists, would let a file nobody attested ride along in a
release that "verified". Signed for real through the local authority.
"""

from __future__ import annotations

import hashlib

import pytest

from pipeline import distribution, signing
from pipeline.errors import CheckFailed
from pipeline.trust import LOCAL_ISSUER, Trust
from pipeline.verify import Expectations

TAG, COMMIT = "v1.2.3", "e" * 40
FILES = {
    "sample_app-1.2.3.tar.gz": b"the sdist",
    "sample_app-1.2.3-py3-none-any.whl": b"the wheel",
    "sample_app-1.2.3.cdx.json": b'{"bomFormat": "CycloneDX"}',
}
RUN = signing.Workflow(
    repository="octo/app", ref=f"refs/tags/{TAG}", sha=COMMIT, run_id="9", path=".github/workflows/release.yml"
)
EXPECTED = Expectations(
    repository="octo/app",
    ref=f"refs/tags/{TAG}",
    signer_workflow=".github/workflows/release.yml",
    issuer=LOCAL_ISSUER,
    commit=COMMIT,
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
    return tmp_path


def test_an_attested_json_release_file_is_verified_as_a_release_file(folder, signed):
    verified = distribution.verify_assets(folder, TAG, EXPECTED, signed[0])
    assert sorted(verified) == sorted((n, hashlib.sha256(d).hexdigest()) for n, d in FILES.items())


@pytest.mark.parametrize(
    "name",
    [
        "extra.json",  # a .json that is not a bundle's name
        "provenance.intoto.json",
        "sample_app-1.2.3.zip",
        "install.sh",
        "sample_app-1.2.3-py3-none-any.whl.asc",
        "README",
        "sample_app-1.2.3.tar.bz2",
    ],
)
def test_a_file_of_any_kind_no_bundle_names_is_refused_by_name(folder, signed, name):
    data = b"nobody attested this"
    (folder / name).write_bytes(data)
    with pytest.raises(CheckFailed) as refused:
        distribution.verify_assets(folder, TAG, EXPECTED, signed[0])
    digest = hashlib.sha256(data).hexdigest()
    assert str(refused.value) == f"{TAG}: {name} (sha256:{digest[:12]}…): no verified bundle names its digest"


def test_a_replaced_wheel_is_refused_by_name(folder, signed):
    # Beside the other kinds, a wheel is still checked: its new bytes are refused by name.
    (folder / "sample_app-1.2.3-py3-none-any.whl").write_bytes(b"another wheel")
    with pytest.raises(CheckFailed, match=r"sample_app-1\.2\.3-py3-none-any\.whl \(sha256:"):
        distribution.verify_assets(folder, TAG, EXPECTED, signed[0])


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_every_line_after_a_blank_one_is_still_checked(blank):
    digests = {"a.whl": "1" * 64, "b.whl": "2" * 64}
    text = f"{'1' * 64}  a.whl\n{blank}\n{'3' * 64}  b.whl\nnot a line\n"
    assert distribution.check_sums(text.encode(), digests) == [
        f"SHA256SUMS line 3: b.whl has sha256 {'2' * 64}, SHA256SUMS says {'3' * 64}",
        "SHA256SUMS line 4 is not '<sha256> <name>': 'not a line'",
    ]


def test_a_bad_sums_line_is_quoted_to_eighty_characters():
    (problem,) = distribution.check_sums(("z" * 200 + "\n").encode(), {"a.whl": "1" * 64})
    assert problem == f"SHA256SUMS line 1 is not '<sha256> <name>': {'z' * 80!r}"


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (["sub/" + "n" * 200], "names {!r}, a path outside the folder (a release file has no path)"),
        (["n" * 200, "n" * 200], "lists {!r} again"),
        (["m" * 200], "names {!r}, which is not in the folder"),
    ],
)
def test_a_named_file_is_quoted_to_eighty_characters(lines, problem):
    digests = {"n" * 200: "1" * 64}
    text = "".join(f"{'1' * 64}  {name}\n" for name in lines)
    shown = problem.format(("sub/" + "n" * 200 if lines[0].startswith("sub/") else lines[0])[:80])
    assert distribution.check_sums(text.encode(), digests)[-1] == f"SHA256SUMS line {len(lines)} {shown}"


def test_a_folder_that_cannot_be_read_says_why_in_words(tmp_path):
    from pipeline.errors import InputError  # noqa: PLC0415

    with pytest.raises(InputError) as refused:
        distribution.verify_assets(tmp_path / "absent", TAG, EXPECTED, Trust(local_url="http://127.0.0.1:9"))
    assert str(refused.value) == f"cannot read {tmp_path / 'absent'}: no such file or directory"


def test_a_sums_file_that_cannot_be_read_is_one_refused_entry_beside_the_others(folder, signed):
    (folder / "SHA256SUMS").write_bytes(b" " * (1024 * 1024 + 1))
    with pytest.raises(CheckFailed) as refused:
        distribution.verify_assets(folder, TAG, EXPECTED, signed[0])
    assert str(refused.value).startswith(f"{TAG}: SHA256SUMS: ")
    assert "over the 1.0 MiB limit" in str(refused.value)


@pytest.mark.parametrize("name", ["..", ".", "a\0b"])
def test_dot_names_and_nul_are_paths_outside_the_folder(name):
    (problem,) = distribution.check_sums(f"{'1' * 64}  {name}\n".encode(), {"a.whl": "1" * 64})
    assert problem == f"SHA256SUMS line 1 names {name!r}, a path outside the folder (a release file has no path)"


def test_a_folder_of_bundles_only_has_no_release_files(tmp_path, signed):
    from pipeline.errors import InputError  # noqa: PLC0415

    (tmp_path / "release.sigstore.json").write_bytes(signed[1])
    with pytest.raises(InputError, match="holds no release files"):
        distribution.verify_assets(tmp_path, TAG, EXPECTED, signed[0])


def test_every_release_file_after_an_unreadable_one_is_still_checked(folder, signed):
    huge = folder / "a-huge.bin"
    with huge.open("wb") as handle:
        handle.truncate(2 * 1024**3 + 1)  # sparse: over GitHub's asset limit, refused by its size
    (folder / "z-unattested.txt").write_bytes(b"nobody attested this")
    with pytest.raises(CheckFailed) as refused:
        distribution.verify_assets(folder, TAG, EXPECTED, signed[0])
    message = str(refused.value)
    assert message.startswith(f"{TAG}: a-huge.bin: ")
    assert "z-unattested.txt (sha256:" in message


def test_a_backslash_name_is_a_path_and_lines_after_a_malformed_one_are_checked():
    digests = {"a.whl": "1" * 64}
    text = f"not a line\n{'1' * 64}  dist\\a.whl\n{'2' * 64}  a.whl\n"
    assert distribution.check_sums(text.encode(), digests) == [
        "SHA256SUMS line 1 is not '<sha256> <name>': 'not a line'",
        "SHA256SUMS line 2 names 'dist\\\\a.whl', a path outside the folder (a release file has no path)",
        f"SHA256SUMS line 3: a.whl has sha256 {'1' * 64}, SHA256SUMS says {'2' * 64}",
    ]
