"""verify's decisions, each pinned by a bundle that must be refused when the decision is loosened.

Bundles are signed for real through the local authority (as in
test_verify_commit.py) with one claim or one subject changed, and verified by
``verify_any``, the function CD and the release call: the subject's digest is
compared exactly (not by case, not by a prefix), the source ref even when the
signer is a reusable workflow whose own ref is right, the run attempt has an
upper bound, and the repository is owner/name with nothing after it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest

from pipeline import signing, verify
from pipeline.errors import CheckFailed, InputError
from pipeline.trust import LOCAL_ISSUER, Trust
from pipeline.verify import Expectations

SHA = "3" * 40
IMAGE = "127.0.0.1:5000/octo/app"
DIGEST = hashlib.sha256(b"the image").hexdigest()
REUSABLE = "other/lib/.github/workflows/sign.yml@refs/heads/main"


@dataclass(frozen=True)
class Reusable(signing.Workflow):
    """A run of this repository whose signing job is another repository's reusable workflow."""

    job_workflow_ref: str = REUSABLE

    def claims(self) -> dict[str, str]:
        return {**super().claims(), "job_workflow_ref": self.job_workflow_ref}


def run(**changes: str) -> signing.Workflow:
    values = {"repository": "octo/app", "ref": "refs/heads/main", "sha": SHA, "run_id": "7000", "repository_id": "42"}
    return signing.Workflow(**{**values, **changes})


def expected(**overrides: str) -> Expectations:
    values = {
        "repository": "octo/app",
        "ref": "refs/heads/main",
        "repository_id": "42",
        "issuer": LOCAL_ISSUER,
        "run_id": "7000",
    }
    return Expectations(**{**values, **overrides})


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    from pipeline.authority.server import AuthorityServer  # noqa: PLC0415

    server = AuthorityServer(tmp_path_factory.mktemp("authority")).start()
    yield Trust(local_url=server.url)
    server.shutdown()
    server.server_close()


def provenance_about(subject_hex: str, workflow: signing.Workflow, trust: Trust) -> bytes:
    """A real bundle whose statement's only subject is ``subject_hex``, as written."""
    document = signing.provenance([(IMAGE, DIGEST)], workflow)
    document["subject"] = [{"name": IMAGE, "digest": {"sha256": subject_hex}}]
    return signing.sign(document, trust, workflow)


def check(bundle: bytes, expectations: Expectations, trust: Trust) -> verify.Verified:
    return verify.verify_any([("b", bundle)], expectations, DIGEST, trust.verifier())


def test_the_honest_bundle_verifies(authority):
    result = check(provenance_about(DIGEST, run(), authority), expected(commit=SHA), authority)
    assert (result.commit, result.subject) == (SHA, f"sha256:{DIGEST}")


@pytest.mark.parametrize(
    "subject",
    [
        DIGEST.upper(),  # the same hex in upper case: not what was written for this image
        DIGEST[:12],  # a prefix of the digest
        DIGEST[:-1],  # all but the last digit
        DIGEST + "0",  # the digest with more after it
        DIGEST[:12] + "0" * 52,  # another digest sharing the first twelve digits
        DIGEST[:-1] + ("0" if DIGEST[-1] != "0" else "1"),  # another digest differing in the last digit
    ],
)
def test_the_subject_digest_is_compared_exactly(authority, subject):
    bundle = provenance_about(subject, run(), authority)
    with pytest.raises(CheckFailed, match=f"no subject has the digest sha256:{DIGEST}"):
        check(bundle, expected(), authority)


def test_the_source_ref_is_compared_even_when_the_reusable_signers_ref_is_right(authority):
    # A feature branch calling main's reusable signer: the SAN names the signer at
    # refs/heads/main, only the source-ref claim says where the run came from.
    feature = Reusable(**{**run().__dict__, "ref": "refs/heads/feature"})
    bundle = signing.sign(signing.provenance([(IMAGE, DIGEST)], feature), authority, feature)
    with pytest.raises(CheckFailed) as refused:
        check(bundle, expected(signer_workflow=REUSABLE), authority)
    assert "source repository ref" in str(refused.value)
    assert "refs/heads/feature" in str(refused.value)
    on_main = Reusable(**run().__dict__)
    good = signing.sign(signing.provenance([(IMAGE, DIGEST)], on_main), authority, on_main)
    assert check(good, expected(signer_workflow=REUSABLE), authority).ref == "refs/heads/main"


def test_a_later_attempt_than_the_one_expected_is_refused(authority):
    second = run(run_attempt="2")
    bundle = signing.sign(signing.provenance([(IMAGE, DIGEST)], second), authority, second)
    with pytest.raises(CheckFailed, match="attempts/2"):
        check(bundle, expected(run_attempt="1"), authority)
    assert check(bundle, expected(run_attempt="2"), authority).run_uri.endswith("/attempts/2")
    assert check(bundle, expected(run_attempt="3"), authority).run_uri.endswith("/attempts/2")


@pytest.mark.parametrize(
    "uri_attempt",
    ["4", "10", "999999"],
)
def test_the_run_attempt_policy_has_an_upper_bound(uri_attempt):
    base = "https://github.com/octo/app/actions/runs/7000/attempts"
    policy = verify.RunAttempts(base, 3)
    assert [policy.accepts(f"{base}/{n}") for n in ("1", "2", "3")] == [True, True, True]
    assert not policy.accepts(f"{base}/{uri_attempt}")


@pytest.mark.parametrize(
    "repository", ["octo/app/extra", "octo/app\n", "octo/app x", "octo/app@refs/heads/main", "octo/app/"]
)
def test_the_repository_is_owner_slash_name_and_nothing_after_it(repository):
    with pytest.raises(InputError, match="the repository must be owner/name"):
        Expectations(repository=repository, ref="refs/heads/main").validate()


def test_a_compared_value_is_shown_whole_up_to_160_characters_and_cut_after():
    whole = verify.around_difference("a" * 160, "b" * 160)
    assert whole == ("a" * 160, "b" * 160)
    cut = verify.around_difference("a" * 161, "b" * 161)
    assert cut == ("a" * 160 + "…", "b" * 160 + "…")


def test_a_bad_commit_pin_is_quoted_to_fifty_characters():
    with pytest.raises(InputError) as refused:
        Expectations(repository="octo/app", ref="refs/heads/main", commit="z" * 200).validate()
    assert str(refused.value) == f"the commit must be a full lower-case 40-digit SHA, not {'z' * 50!r}"


def test_a_bundle_whose_certificate_passed_but_whose_signature_fails_names_the_signature(authority):
    import base64  # noqa: PLC0415
    import json  # noqa: PLC0415

    bundle = json.loads(provenance_about(DIGEST, run(), authority))
    envelope = bundle["dsseEnvelope"]
    signature = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    signature[-1] ^= 1
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(signature)).decode()
    with pytest.raises(CheckFailed) as refused:
        check(json.dumps(bundle).encode(), expected(), authority)
    assert "b: its signature or transparency-log entry does not verify" in str(refused.value)


MIB = 1024 * 1024


def test_a_bundle_file_of_sixteen_mebibytes_is_read_and_one_byte_more_is_refused(tmp_path):
    at_limit, over = tmp_path / "at.jsonl", tmp_path / "over.jsonl"
    at_limit.write_bytes(b" " * (16 * MIB))
    over.write_bytes(b" " * (16 * MIB + 1))
    (candidate,) = verify.bundles_from_file(str(at_limit), "at.jsonl")
    assert not isinstance(candidate[1], verify.Unreadable)
    ((origin, refused),) = verify.bundles_from_file(str(over), "over.jsonl")
    assert origin == "over.jsonl"
    assert isinstance(refused, verify.Unreadable)
    assert "over the 16.0 MiB limit" in refused.reason
