"""Verification against real Sigstore bundles (tests/pipeline/data/sigstore, see its README)."""

import json
import os
from pathlib import Path

import pytest

from pipeline import grammar, verify
from pipeline.cli import main
from pipeline.errors import CheckFailed, InputError
from pipeline.trust import Trust
from pipeline.verify import Expectations

VECTORS = Path(__file__).resolve().parent / "data" / "sigstore"
DIRECT = "attestation-direct-workflow.sigstore.json"
DIRECT_DIGEST = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
BEACON = "sigstore-conformance/extremely-dangerous-public-oidc-beacon"


def direct_args(**overrides):
    values = {
        "--repository": BEACON,
        "--repository-id": "632596897",
        "--ref": "refs/heads/main",
        "--signer-workflow": ".github/workflows/extremely-dangerous-oidc-beacon.yml",
        "--run-id": "12359147651",
        "--digest": DIRECT_DIGEST,
        "--bundle": str(VECTORS / DIRECT),
    }
    values.update(overrides)
    args = ["verify", "--offline"]
    for key, value in values.items():
        args += [key, value]
    return args


def message_signature_args(**overrides):
    """The message-signature vector checked as a signed artifact (no digest, an artifact file)."""
    args = direct_args(**{"--bundle": str(VECTORS / "message-signature-workflow.sigstore.json"), **overrides})
    args = [a for a in args if a not in ("--digest", DIRECT_DIGEST)]
    return [*args, "--artifact", str(VECTORS / "message-signature-workflow.artifact")]


def test_direct_workflow_attestation_verifies(capsys):
    assert main([*direct_args(), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["run_uri"].endswith("/actions/runs/12359147651/attempts/1")
    assert result["predicate_type"] == verify.SLSA_PROVENANCE_V1
    assert result["subject"] == f"sha256:{DIRECT_DIGEST}"


def test_reusable_workflow_attestation_verifies(capsys):
    args = direct_args(
        **{
            "--repository": "malancas/attest-demo",
            "--repository-id": "804070735",
            "--signer-workflow": "github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d",
            "--build-config": ".github/workflows/shared.yml",
            "--run-id": "9228858953",
            "--digest": "49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25",
            "--bundle": str(VECTORS / "attestation-reusable-workflow.sigstore.json"),
        }
    )
    assert main(args) == 0
    assert "verified: sha256:49a3" in capsys.readouterr().out


CUSTOM = {
    "--repository": "too-legit/attest",
    "--repository-id": "851894824",
    "--signer-workflow": ".github/workflows/integration.yml",
    "--run-id": "10818226125",
    "--digest": "afa27b44d43b02a9fea41d13cedc2e4016cfcf87c5dbf990e593669aa8ce286d",
    "--bundle": str(VECTORS / "attestation-custom-issuer.sigstore.json"),
}


def test_custom_issuer_verifies_only_with_its_issuer(capsys):
    assert main(direct_args(**CUSTOM, **{"--issuer": "https://token.actions.githubusercontent.com/hammer-time"})) == 0
    assert main(direct_args(**CUSTOM)) == 1
    assert "refused" in capsys.readouterr().err


def test_message_signature_verifies_as_an_artifact(capsys):
    assert main(message_signature_args(**{"--run-id": "8347481628"})) == 0
    assert "verified: sha256:a0cfc712" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"--repository": "octo/app"}, "SANs do not match"),
        ({"--repository-id": "1"}, "632596897"),
        ({"--signer-workflow": ".github/workflows/ci.yml"}, "SANs do not match"),
        ({"--ref": "refs/heads/dev"}, "SANs do not match"),
        ({"--run-id": "1"}, "12359147651"),
        ({"--digest": "b" * 64}, "no subject has the digest"),
        ({"--bundle": str(VECTORS / "message-signature-workflow.sigstore.json")}, "not an attestation"),
    ],
)
def test_refusals_name_what_did_not_hold(capsys, override, reason):
    assert main(direct_args(**override)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert reason in err


def tampered(tmp_path, mutate):
    data = json.loads((VECTORS / DIRECT).read_text())
    mutate(data)
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(data))
    return str(path)


def flip(text):
    import base64  # noqa: PLC0415

    raw = bytearray(base64.b64decode(text))
    raw[len(raw) // 2] ^= 1
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("where", ["payload", "signature", "certificate"])
def test_one_flipped_byte_is_refused(tmp_path, capsys, where):
    def mutate(data):
        if where == "payload":
            data["dsseEnvelope"]["payload"] = flip(data["dsseEnvelope"]["payload"])
        elif where == "signature":
            sig = data["dsseEnvelope"]["signatures"][0]
            sig["sig"] = flip(sig["sig"])
        else:
            cert = data["verificationMaterial"]["certificate"]
            cert["rawBytes"] = flip(cert["rawBytes"])

    status = main(direct_args(**{"--bundle": tampered(tmp_path, mutate)}))
    assert status == 1  # a bundle that does not verify is the checked thing failing
    err = capsys.readouterr().err
    assert err.startswith("error: refused")
    assert err.count("\n") == 1


def test_truncated_json_is_refused(tmp_path, capsys):
    path = tmp_path / "t.json"
    path.write_text((VECTORS / DIRECT).read_text()[:500])
    assert main(direct_args(**{"--bundle": str(path)})) == 1
    assert "not JSON" in capsys.readouterr().err


def test_a_missing_file_is_bad_input_and_a_non_bundle_is_refused(tmp_path, capsys):
    (tmp_path / "x.json").write_text('{"a": 1}')
    assert main(direct_args(**{"--bundle": str(tmp_path / "missing.json")})) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(direct_args(**{"--bundle": str(tmp_path / "x.json")})) == 1
    assert "not a valid Sigstore bundle" in capsys.readouterr().err


def test_bundles_from_the_api(fake_github, monkeypatch, capsys):
    bundle = json.loads((VECTORS / DIRECT).read_text())
    fake_github.attestations[DIRECT_DIGEST] = [
        {"bundle": {"x": 1}},
        {"bundle": bundle},
        {"bundle_url": f"{fake_github.url}/bundles/1"},
    ]
    fake_github.attestations["raw"] = [{"data": json.dumps(bundle)}]
    args = [a for a in direct_args() if a not in ("--bundle", str(VECTORS / DIRECT))]
    # The first, malformed, entry is refused; the valid one after it still verifies.
    assert main(args) == 0
    fake_github.attestations[DIRECT_DIGEST] = [{"bundle_url": f"{fake_github.url}/bundles/1"}]
    assert main(args) == 0


def test_empty_attestation_list_and_api_error(fake_github, capsys):
    fake_github.attestations[DIRECT_DIGEST] = []
    args = [a for a in direct_args() if a not in ("--bundle", str(VECTORS / DIRECT))]
    assert main(args) == 1
    assert "no attestation exists" in capsys.readouterr().err
    del fake_github.attestations[DIRECT_DIGEST]
    assert main(args) == 1
    assert "HTTP 404" in capsys.readouterr().err


def test_statement_checks_on_synthetic_statements():
    good = {
        "_type": verify.IN_TOTO_STATEMENT_V1,
        "predicateType": verify.SLSA_PROVENANCE_V1,
        "subject": [{"digest": {"sha256": "c" * 64}}],
    }
    assert verify.check_statement(verify.IN_TOTO_PAYLOAD, json.dumps(good).encode(), "c" * 64)
    with pytest.raises(CheckFailed, match="payload type"):
        verify.check_statement("text/plain", b"{}", "c" * 64)
    with pytest.raises(CheckFailed, match="not JSON"):
        verify.check_statement(verify.IN_TOTO_PAYLOAD, b"{", "c" * 64)
    with pytest.raises(CheckFailed, match="in-toto v1"):
        verify.check_statement(verify.IN_TOTO_PAYLOAD, b"[]", "c" * 64)
    wrong = {**good, "predicateType": "https://spdx.dev/Document"}
    with pytest.raises(CheckFailed, match="predicate"):
        verify.check_statement(verify.IN_TOTO_PAYLOAD, json.dumps(wrong).encode(), "c" * 64)


def test_policy_construction_and_input_checks():
    expected = verify.Expectations(
        repository="octo/app", ref="refs/heads/main", repository_id="5", run_id="9", run_attempt="2"
    )
    assert expected.signer_uri == "https://github.com/octo/app/.github/workflows/ci.yml@refs/heads/main"
    assert expected.run_base == "https://github.com/octo/app/actions/runs/9/attempts"
    expected.policy()  # builds: every value is well formed
    with pytest.raises(InputError):
        verify.Expectations(repository="octo/app", ref="r", signer_workflow="a/b/.github/x.yml").signer_uri
    with pytest.raises(InputError):
        verify.Expectations(repository="", ref="").policy()
    with pytest.raises(InputError):
        grammar.require_digest("sha256:xyz")
    assert grammar.require_digest("sha256:" + "a" * 64) == "a" * 64
    assert verify._der_utf8(b"\x0c\x03abc") == "abc"
    assert verify._der_utf8(b"\x0c\x81\x03abc") == "abc"
    assert verify._der_utf8(b"raw") == "raw"


def test_trust_root_failure_is_one_clear_line(monkeypatch, capsys):
    from sigstore.errors import TUFError  # noqa: PLC0415
    from sigstore.verify import Verifier  # noqa: PLC0415

    def unreachable(*args, **kwargs):
        raise TUFError("Failed to refresh TUF metadata")

    # Stands in for a TUF repository that cannot be reached (this machine reaches none).
    monkeypatch.setattr(Verifier, "production", unreachable)
    args = [a for a in direct_args() if a != "--offline"]
    assert main(args) == 1
    assert capsys.readouterr().err.startswith("error: cannot load Sigstore's trust root (TUFError)")


def test_message_signature_for_another_repository_is_refused(capsys):
    assert main(message_signature_args(**{"--repository": "octo/app"})) == 1
    assert capsys.readouterr().err.startswith("error: refused: ")


def test_offline_trust_root_leaves_the_users_cache_setting_alone(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "mine"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    Trust(offline=True).verifier()
    assert os.environ["XDG_CACHE_HOME"] == str(tmp_path / "mine")
    assert "XDG_DATA_HOME" not in os.environ
    assert not (tmp_path / "mine").exists()  # nothing was read from or written to it


def test_an_attestation_entry_without_a_bundle_is_refused(fake_github, capsys):
    fake_github.attestations[DIRECT_DIGEST] = [{"repository_id": 1}]
    args = [a for a in direct_args() if a not in ("--bundle", str(VECTORS / DIRECT))]
    assert main(args) == 1
    assert "neither an inline bundle nor a bundle_url" in capsys.readouterr().err


def test_claims_of_a_certificate_without_fulcio_extensions():
    import datetime as dt  # noqa: PLC0415

    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    assert set(verify._certificate_claims(cert).values()) == {""}


# -- hardening: every identity value, every candidate, every malformed input -----


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--issuer", "", "issuer must be an https URL"),
        ("--issuer", "https://", "issuer must be an https URL"),
        ("--issuer", "http://token.actions.githubusercontent.com", "issuer must be an https URL"),
        ("--repository", "nonsense", "repository must be owner/name"),
        ("--ref", "main", "ref must be a full ref"),
        ("--ref", "refs/", "ref must be a full ref"),
        ("--signer-workflow", " ", "signer workflow must be a path"),
        ("--repository-id", "12x", "repository id must be a number"),
        ("--run-id", "0", "run id must be a positive number"),
        ("--run-id", "-5", "run id must be a positive number"),
        ("--run-attempt", "0", "run attempt must be a number from 1"),
        ("--run-attempt", "99999999", "run attempt must be a number from 1"),
        ("--run-attempt", "1e3", "run attempt must be a number from 1"),
        ("--build-config", "evil.yml", "build config must be a .github/ path"),
    ],
)
def test_every_policy_value_is_checked_before_any_policy_is_built(capsys, flag, value, message):
    # An empty --issuer used to switch the issuer check off (sigstore skips empty values).
    assert main(direct_args(**{flag: value})) == 2
    assert message in capsys.readouterr().err


def test_an_empty_issuer_cannot_accept_another_issuers_bundle(capsys):
    args = direct_args(**{"--issuer": "", "--bundle": str(VECTORS / "attestation-custom-issuer.sigstore.json")})
    assert main(args) == 2


def test_a_huge_run_attempt_costs_nothing(capsys):
    # One policy per attempt used 24 GB for --run-attempt 99999999; the URI is now parsed.
    assert main(direct_args(**{"--run-attempt": "999999"})) == 0


def test_a_later_attempt_of_the_same_run_still_accepts_the_first_attempts_bundle(capsys):
    assert main(direct_args(**{"--run-attempt": "3"})) == 0


@pytest.mark.parametrize("uri_suffix", ["0", "2", "01", "1/../1", "1x", "/"])
def test_run_attempts_policy_refuses_other_attempts(uri_suffix):
    from cryptography import x509  # noqa: PLC0415
    from sigstore.errors import VerificationError  # noqa: PLC0415
    from sigstore.models import Bundle  # noqa: PLC0415

    cert = Bundle.from_json((VECTORS / DIRECT).read_bytes()).signing_certificate
    run = "https://github.com/" + BEACON + "/actions/runs/12359147651/attempts"
    verify.RunAttempts(run, 1).verify(cert)  # the real one: attempt 1
    with pytest.raises(VerificationError, match="run invocation URI"):
        verify.RunAttempts(run.replace("12359147651", "1235914765"), 9).verify(cert)
    assert isinstance(cert, x509.Certificate)
    policy = verify.RunAttempts(run[: -len("/attempts")] + "/attempts" + uri_suffix, 1)
    with pytest.raises(VerificationError):
        policy.verify(cert)


def test_one_unreadable_bundle_does_not_stop_the_ones_after_it(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main([*direct_args(), "--bundle", str(bad)]) == 0
    args = direct_args()
    assert main([args[0], "--bundle", str(bad), *args[1:]]) == 0


def test_every_refused_candidate_says_why(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    other = str(VECTORS / "message-signature-workflow.sigstore.json")
    args = direct_args(**{"--bundle": str(bad)})
    assert main([*args, "--bundle", other]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "none of 2 bundle(s) verified" in err
    assert f"{bad}" in err
    assert "not an object" in err
    assert "message signature, not an attestation" in err


def test_json_lines_of_bundles_are_read_one_a_line(tmp_path, capsys):
    lines = tmp_path / "bundles.jsonl"
    direct = json.dumps(json.loads((VECTORS / DIRECT).read_text()))
    other = json.dumps(json.loads((VECTORS / "message-signature-workflow.sigstore.json").read_text()))
    lines.write_text(f"{other}\n{direct}\n")
    assert main(direct_args(**{"--bundle": str(lines)})) == 0
    lines.write_text(f"{other}\n{other}\n")
    assert main(direct_args(**{"--bundle": str(lines)})) == 1
    assert "line 2" in capsys.readouterr().err


def test_deeply_nested_json_is_refused_without_a_traceback(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert main(direct_args(**{"--bundle": str(deep)})) == 1
    err = capsys.readouterr().err
    assert "nested too deeply" in err
    assert "Traceback" not in err


def test_an_unparseable_timestamp_is_refused_without_a_traceback(tmp_path, capsys):
    def mutate(data):
        data["verificationMaterial"]["timestampVerificationData"] = {"rfc3161Timestamps": [{"signedTimestamp": "AAAA"}]}

    assert main(direct_args(**{"--bundle": tampered(tmp_path, mutate)})) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: refused")
    assert "Traceback" not in err


def test_a_malformed_field_is_named(tmp_path, capsys):
    def mutate(data):
        data["verificationMaterial"]["tlogEntries"][0]["logIndex"] = "not a number"

    assert main(direct_args(**{"--bundle": tampered(tmp_path, mutate)})) == 1
    err = capsys.readouterr().err
    assert "refused" in err
    assert len(err) < 600


def test_an_unsupported_log_entry_kind_is_named(tmp_path, capsys):
    import base64  # noqa: PLC0415

    def mutate(data):
        entry = data["verificationMaterial"]["tlogEntries"][0]
        entry["kindVersion"] = {"kind": "intoto", "version": "0.0.2"}
        body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
        body["kind"], body["apiVersion"] = "intoto", "0.0.2"
        entry["canonicalizedBody"] = base64.b64encode(json.dumps(body).encode()).decode()

    assert main(direct_args(**{"--bundle": tampered(tmp_path, mutate)})) == 1
    assert "intoto/0.0.2" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Unsupported DSSE log entry type: intoto/0.0.2", "intoto/0.0.2"),
        ("x " * 400, " …"),
        ("got b'" + "A" * 5000 + "' instead", "<bytes>"),
    ],
)
def test_reasons_are_one_short_line_a_person_can_act_on(text, expected):
    line = verify.reason(text)
    assert expected in line
    assert "\n" not in line
    assert len(line) <= verify.MAX_REASON + 2
    assert not line.endswith("x …") or line.endswith(" x …")


@pytest.mark.parametrize(
    "subject",
    [None, [], "sha256:abc", [None], [{"digest": "abc"}], [{"digest": {"sha1": "x"}}], [{}], [1, 2]],
)
def test_a_malformed_subject_is_a_refusal_not_a_crash(subject):
    statement = {"_type": verify.IN_TOTO_STATEMENT_V1, "predicateType": verify.SLSA_PROVENANCE_V1, "subject": subject}
    with pytest.raises(CheckFailed, match="refused"):
        verify.check_statement(verify.IN_TOTO_PAYLOAD, json.dumps(statement).encode(), "a" * 64)


@pytest.mark.parametrize("junk", ["x", "\n", "0" * 64, " "])
def test_junk_after_a_digest_is_refused(junk):
    with pytest.raises(InputError):
        grammar.require_digest("a" * 64 + junk if junk.strip() else "a" * 64 + "x")


def test_expectations_reject_bad_run_numbers():
    # An attempt of 0 would have dropped the run pin; it is refused before any policy.
    with pytest.raises(InputError, match="run attempt"):
        Expectations(repository="o/r", ref="refs/heads/main", run_id="1", run_attempt="0").validate()
    assert Expectations(repository="o/r", ref="refs/heads/main").run_base == ""


def test_without_the_optional_pins_the_identity_is_still_checked(capsys):
    # No repository id, no run: the real bundle verifies on issuer, signer, repository and ref alone...
    args = [a for a in direct_args() if a not in ("--repository-id", "632596897", "--run-id", "12359147651")]
    assert "--repository-id" not in args
    assert main(args) == 0
    # ...and each of those is still compared.
    assert main([*args, "--ref", "refs/heads/other"]) == 1
    assert "refs/heads/other" in capsys.readouterr().err
