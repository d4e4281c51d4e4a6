"""Every verification is bound to its commit: the certificate's source commit is compared, exactly.

Bundles are signed for real by sigstore's own signer through the local
authority (tests/pipeline/test_authority.py), for two commits, and verified
by the same functions CD and the release use.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from pipeline import signing, verify
from pipeline.cli import build_parser, main
from pipeline.commands import cd
from pipeline.errors import CheckFailed, InputError
from pipeline.settings import Settings
from pipeline.trust import LOCAL_ISSUER, Trust
from pipeline.verify import Expectations

OLD, NEW = "1" * 40, "2" * 40
IMAGE = "127.0.0.1:5000/octo/app"
OLD_DIGEST = hashlib.sha256(b"the image of the old commit").hexdigest()
NEW_DIGEST = hashlib.sha256(b"the image of the new commit").hexdigest()


def run_for(sha: str) -> signing.Workflow:
    return signing.Workflow(repository="octo/app", ref="refs/heads/main", sha=sha, run_id="7000", repository_id="42")


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """One authority, and one bundle for each commit's image."""
    from pipeline.authority.server import AuthorityServer  # noqa: PLC0415

    server = AuthorityServer(tmp_path_factory.mktemp("authority")).start()
    trust = Trust(local_url=server.url)
    bundles = {
        sha: signing.sign(signing.provenance([(IMAGE, digest)], run_for(sha)), trust, run_for(sha))
        for sha, digest in ((OLD, OLD_DIGEST), (NEW, NEW_DIGEST))
    }
    yield server, trust, bundles
    server.shutdown()
    server.server_close()


def expected(**overrides: str) -> Expectations:
    values = {"repository": "octo/app", "ref": "refs/heads/main", "repository_id": "42", "issuer": LOCAL_ISSUER}
    return Expectations(**{**values, **overrides})


def test_each_image_verifies_for_its_own_commit(signed):
    _, trust, bundles = signed
    for sha, digest in ((OLD, OLD_DIGEST), (NEW, NEW_DIGEST)):
        result = verify.verify_any([("b", bundles[sha])], expected(commit=sha), digest, trust.verifier())
        assert result.commit == sha


def test_an_attestation_of_another_commit_is_refused_naming_both(signed):
    _, trust, bundles = signed
    with pytest.raises(CheckFailed) as caught:
        verify.verify_any([("b", bundles[OLD])], expected(commit=NEW), OLD_DIGEST, trust.verifier())
    assert str(caught.value) == (
        "refused: none of 1 bundle(s) verified: b: the certificate's source commit does not match "
        f"(OIDCSourceRepositoryDigest): got {OLD}, expected {NEW}"
    )


@pytest.mark.parametrize("near", [NEW[:39] + "3", "3" + NEW[1:], OLD[:20] + NEW[20:]])
def test_a_commit_that_shares_a_prefix_or_a_suffix_is_another_commit(signed, near):
    _, trust, bundles = signed
    with pytest.raises(CheckFailed, match=f"got {NEW}, expected {near}"):
        verify.verify_any([("b", bundles[NEW])], expected(commit=near), NEW_DIGEST, trust.verifier())


def test_without_a_commit_pin_the_commit_is_reported_not_compared(signed):
    _, trust, bundles = signed
    assert verify.verify_any([("b", bundles[OLD])], expected(), OLD_DIGEST, trust.verifier()).commit == OLD


@pytest.mark.parametrize("commit", ["A" * 40, "1" * 39, "1" * 41, "g" * 40, " " + "1" * 39, "sha-" + "1" * 36])
def test_the_commit_must_be_a_full_lower_case_sha(commit):
    with pytest.raises(InputError, match="the commit must be a full lower-case 40-digit SHA"):
        expected(commit=commit).validate()


def test_the_cli_compares_the_commit_and_names_both(signed, tmp_path, monkeypatch, capsys):
    server, _, bundles = signed
    monkeypatch.setenv("LOCAL_SIGSTORE", server.url)
    (tmp_path / "old.json").write_bytes(bundles[OLD])
    args = ["verify", "--bundle", str(tmp_path / "old.json"), "--digest", OLD_DIGEST, "--repository", "octo/app"]
    args += ["--ref", "refs/heads/main", "--json"]
    assert main([*args, "--commit", OLD]) == 0
    assert json.loads(capsys.readouterr().out)["commit"] == OLD
    assert main([*args, "--commit", NEW]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"got {OLD}, expected {NEW}" in err
    assert main([*args, "--commit", "AB" * 20]) == 2  # upper case: not how a commit is written


def test_deploy_pins_the_commit_of_the_image_it_deploys_by_default():
    settings = Settings.from_env({"GITHUB_REPOSITORY": "octo/app", "GITHUB_REF": "refs/heads/main"})
    parsed = build_parser().parse_args(["deploy", "--sha", NEW])
    assert cd._expectations(parsed, settings, LOCAL_ISSUER).commit == NEW
    parsed = build_parser().parse_args(["deploy", "--sha", NEW, "--commit", OLD])
    assert cd._expectations(parsed, settings, LOCAL_ISSUER).commit == OLD
    parsed = build_parser().parse_args(["verify", "--digest", NEW_DIGEST])
    assert cd._expectations(parsed, settings, LOCAL_ISSUER).commit == ""


def test_cd_pins_mains_commit_and_binds_a_pull_requests_image_through_its_run():
    assert cd.attested_commit("push", NEW, "5") == NEW
    assert cd.attested_commit("push", NEW, "") == NEW
    # A PR run's certificate names GitHub's merge commit, which CD cannot know: the run binds it.
    assert cd.attested_commit("pull_request", NEW, "5") == ""
    with pytest.raises(InputError, match="RUN_ID is required to deploy a pull request"):
        cd.attested_commit("pull_request", NEW, "")
