"""Every bad input to `verify`: one line, the exact reason, bounded in time and memory.

Files that cannot be read are made for real (a FIFO, a symlink loop, a sparse
5 GB file, /dev/zero, /proc/self/mem, which fails to read even as root); the
bundles are the real public vectors of tests/pipeline/data/sigstore.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import verify
from pipeline.cli import main
from pipeline.commands import common
from pipeline.errors import CheckFailed, InputError

VECTORS = Path(__file__).resolve().parent / "data" / "sigstore"
GOOD = str(VECTORS / "attestation-direct-workflow.sigstore.json")
DIGEST = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
BEACON = ["--repository", "sigstore-conformance/extremely-dangerous-public-oidc-beacon", "--ref", "refs/heads/main"]
BEACON += ["--signer-workflow", ".github/workflows/extremely-dangerous-oidc-beacon.yml"]
ARGS = ["verify", "--offline", "--digest", DIGEST, *BEACON]


def bundles(*paths: str) -> list[str]:
    return [arg for path in paths for arg in ("--bundle", path)]


def fifo(tmp_path: Path) -> str:
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return str(path)


def loop(tmp_path: Path) -> str:
    (tmp_path / "a.json").symlink_to(tmp_path / "b.json")
    (tmp_path / "b.json").symlink_to(tmp_path / "a.json")
    return str(tmp_path / "a.json")


def sparse(tmp_path: Path) -> str:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(5 * 1024**3)  # 5 GiB, no disk used
    return str(path)


UNREADABLE = {
    "directory": (str, "it is a directory, not a regular file"),
    "fifo": (fifo, "it is a named pipe (FIFO), not a regular file"),
    "dev-zero": (lambda _: "/dev/zero", "it is a character device, not a regular file"),
    "symlink-loop": (loop, "too many levels of symbolic links"),
    "missing": (lambda tmp: str(tmp / "missing.json"), "no such file or directory"),
    "5-gb": (sparse, "it is 5.0 GiB, over the 16.0 MiB limit"),
    # A regular file of size 0 that fails to read, even as root: the read error is named.
    "read-error": (lambda _: "/proc/self/mem", "input/output error"),
}


@pytest.mark.parametrize("kind", sorted(UNREADABLE))
def test_an_unreadable_bundle_file_is_named_with_why_in_bounded_time(tmp_path, capsys, kind):
    make, why = UNREADABLE[kind]
    path = make(tmp_path)
    started = time.monotonic()
    assert main([*ARGS, *bundles(path)]) == 2  # nothing was given to verify: bad input
    err = capsys.readouterr().err
    assert err == f"error: cannot read {path}: {why}\n"
    # ...and it hides no good bundle beside it, before or after it.
    assert main([*ARGS, *bundles(path, GOOD)]) == 0
    assert main([*ARGS, *bundles(GOOD, path)]) == 0
    assert time.monotonic() - started < 10


def test_every_bad_file_is_reported_not_only_the_first(tmp_path, capsys):
    other = str(VECTORS / "message-signature-workflow.sigstore.json")
    paths = [str(tmp_path), loop(tmp_path), other]
    assert main([*ARGS, *bundles(*paths)]) == 1  # one of them was a bundle, refused
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "none of 3 bundle(s) verified" in err
    assert f"{tmp_path}: it is a directory" in err
    assert f"{paths[1]}: too many levels of symbolic links" in err
    assert f"{other}: the bundle holds a message signature, not an attestation" in err


def test_a_file_that_cannot_be_opened_is_refused_even_for_root(tmp_path):
    """No permission: root reads anything, so a child drops to `nobody` first."""
    path = tmp_path / "secret.json"
    path.write_bytes(b"{}")
    path.chmod(0)
    tmp_path.chmod(0o755)
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.close(reader)
        try:
            os.setgid(65534)
            os.setuid(65534)
            common.read(str(path))
            message = "read it"
        except InputError as error:
            message = str(error)
        except OSError as error:
            message = f"setuid failed: {error}"
        os.write(writer, message.encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    with os.fdopen(reader, "rb") as pipe:
        message = pipe.read().decode()
    if message.startswith("setuid failed"):
        pytest.skip(message)
    assert message == f"cannot read {path}: permission denied"


def test_reading_is_bounded_whatever_the_size_says(tmp_path):
    path = tmp_path / "b.json"
    path.write_bytes(b"x" * 101)
    assert verify.read_regular(str(path), 101) == b"x" * 101
    with pytest.raises(InputError, match="it is 101 bytes, over the 100 bytes limit"):
        verify.read_regular(str(path), 100)
    assert verify.sha256_file(str(path), 101) == __import__("hashlib").sha256(b"x" * 101).hexdigest()
    with pytest.raises(InputError, match="over the 100 bytes limit"):
        verify.sha256_file(str(path), 100)
    assert verify.size_text(5 * 1024**3) == "5.0 GiB"
    assert verify.size_text(1023) == "1023 bytes"
    assert verify.size_text(1536) == "1.5 KiB"


def test_a_huge_artifact_is_hashed_in_chunks_not_read_whole(tmp_path, capsys):
    # A 5 GB --artifact was read into memory; it is hashed and refused for its digest, not for its size.
    huge = sparse(tmp_path)
    os.truncate(huge, 64 * 1024**2)  # keep the test quick: 64 MiB of zeros, hashed in 1 MiB chunks
    args = ["verify", "--offline", *BEACON, "--bundle", str(VECTORS / "message-signature-workflow.sigstore.json")]
    assert main([*args, "--artifact", huge]) == 1
    assert "refused: its signature or transparency-log entry does not verify" in capsys.readouterr().err
    assert main([*args, "--artifact", str(VECTORS / "message-signature-workflow.artifact")]) == 0


# -- encodings: named as such ---------------------------------------------------------
@pytest.mark.parametrize(
    ("encoding", "why"),
    [
        ("utf-8-sig", "begins with a UTF-8 byte-order mark (a bundle is UTF-8 JSON without one)"),
        ("utf-16", "is UTF-16 text (a bundle is UTF-8 JSON)"),
        ("utf-16-be", "is UTF-16 or UTF-32 text without a byte-order mark (a bundle is UTF-8 JSON)"),
        ("utf-32", "is UTF-32 text (a bundle is UTF-8 JSON)"),
        ("latin-1", "is not UTF-8 text (byte 14 is 0xe9)"),
    ],
)
def test_a_bundle_in_another_encoding_is_named_as_such(tmp_path, capsys, encoding, why):
    text = Path(GOOD).read_text()
    if encoding == "latin-1":
        text = '{"mediaType":"é"}'
    path = tmp_path / "b.sigstore.json"
    path.write_bytes(text.encode(encoding))
    assert main([*ARGS, *bundles(str(path))]) == 1
    assert capsys.readouterr().err == f"error: refused: none of 1 bundle(s) verified: {path} {why}\n"


# -- structure, not words -------------------------------------------------------------
def edited(tmp_path: Path, change) -> str:
    document = json.loads(Path(GOOD).read_text())
    change(document)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_an_empty_certificate_chain_is_named_not_blamed_on_another_instance(tmp_path, capsys):
    def change(document):
        material = document["verificationMaterial"]
        del material["certificate"]
        material["x509CertificateChain"] = {"certificates": []}
        document["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2"

    assert main([*ARGS, *bundles(edited(tmp_path, change))]) == 1
    err = capsys.readouterr().err
    assert err.endswith("is not a valid Sigstore bundle: expected non-empty certificate chain in bundle\n")
    assert "another Sigstore instance" not in err


def test_a_certificate_that_is_not_der_is_named_by_its_field(tmp_path, capsys):
    def change(document):
        document["verificationMaterial"]["certificate"]["rawBytes"] = base64.b64encode(b"not a certificate").decode()

    assert main([*ARGS, *bundles(edited(tmp_path, change))]) == 1
    assert capsys.readouterr().err.endswith(
        "is not a valid Sigstore bundle: field verificationMaterial.certificate.rawBytes: not a DER X.509 certificate\n"
    )


def test_megabytes_in_a_field_never_reach_the_message(tmp_path, capsys):
    def change(document):
        document["extra"] = "A" * 10_000_000
        document["dsseEnvelope"]["payloadType"] = "B" * 5_000_000

    assert main([*ARGS, *bundles(edited(tmp_path, change))]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert len(err) < 400
    assert "AAAAAAAAAA" not in err


@pytest.mark.parametrize(
    ("flag", "value", "expected_and_got"),
    [
        (
            "--ref",
            "refs/heads/dev",
            "got https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon",
        ),
        ("--repository-id", "632596898", "got 632596897, expected 632596898"),
        (
            "--run-id",
            "12359147652",
            "got https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/actions/runs/12359147651/attempts/1",
        ),
        (
            "--commit",
            "82a3bfe6dd50fe9c71d6315eae66da15307856ce",
            "got 82a3bfe6dd50fe9c71d6315eae66da15307856cf, expected 82a3bfe6dd50fe9c71d6315eae66da15307856ce",
        ),
        (
            "--issuer",
            "https://token.actions.githubusercontent.com/other",
            "expected https://token.actions.githubusercontent.com/other",
        ),
    ],
)
def test_a_pinned_value_that_differs_is_shown_with_what_was_expected(capsys, flag, value, expected_and_got):
    assert main([*ARGS, *bundles(GOOD), flag, value]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert expected_and_got in err
    assert value in err


def test_values_are_cut_only_around_their_first_difference():
    long = "x" * 500
    got, want = verify.around_difference(long + "GOT", long + "WANT", width=40)
    assert got.endswith("xGOT")
    assert want.endswith("xWANT")
    assert got.startswith("…")
    assert len(got) <= 42
    assert verify.around_difference("a\nb", "a b") == ("a\\x0ab", "a b")
    assert verify.around_difference("same", "same") == ("same", "same")


def test_a_chain_from_another_instance_is_named_by_its_issuer(local_authority):
    """The production root against a locally signed bundle: the issuer is not in the root."""
    from pipeline import signing  # noqa: PLC0415
    from pipeline.trust import Trust  # noqa: PLC0415

    run = signing.Workflow(repository="octo/app", ref="refs/heads/main", sha="a" * 40, run_id="1")
    bundle = signing.sign(signing.provenance([("x", "b" * 64)], run), Trust(local_url=local_authority.url), run)
    expected = verify.Expectations(repository="octo/app", ref="refs/heads/main")
    with pytest.raises(CheckFailed) as caught:
        verify.verify_any([("b", bundle)], expected, "b" * 64, Trust(offline=True).verifier())
    message = str(caught.value)
    assert (
        "its certificate does not chain to a trusted Fulcio root: its issuer 'CN=sample-pipeline local Fulcio"
        in message
    )
    assert "is not in this trust root" in message


def test_offline_verification_prints_its_verdict_and_nothing_else():
    # sigstore's TUF client warned "TUF repository is loaded in offline mode" on stderr.
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *ARGS, *bundles(GOOD)],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "LOCAL_SIGSTORE"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.count("\n") == 1
    assert done.stdout.startswith(f"verified: sha256:{DIGEST} signed by ")
