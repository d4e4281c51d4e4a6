"""The edges of verification a reviewer of each check would test (written from mutation testing's survivors).

Each test names the decision it pins: exact messages where a person reads
them, boundaries where a comparison could slip by one, and the order in which
candidates are numbered.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import verify
from pipeline.errors import CheckFailed, InputError
from pipeline.verify import Expectations

VECTORS = Path(__file__).resolve().parent / "data" / "sigstore"
GOOD = {
    "_type": verify.IN_TOTO_STATEMENT_V1,
    "predicateType": verify.SLSA_PROVENANCE_V1,
    "subject": [{"digest": {"sha256": "c" * 64}}],
}


def certificate_with(extensions: dict[str, bytes]):
    """A throwaway certificate carrying these raw extension values (OID -> bytes)."""
    import datetime as dt  # noqa: PLC0415

    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(x509.Name([]))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(minutes=1))
    )
    for oid, value in extensions.items():
        builder = builder.add_extension(x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value), critical=False)
    return builder.sign(key, hashes.SHA256())


def statement(**changes: object) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


# -- the statement: an inequality is not an order ----------------------------------
@pytest.mark.parametrize(
    ("payload_type", "payload", "message"),
    [
        # Each value sorts before the accepted one: a check that compared by order would let it pass.
        ("application/json", statement(), "payload type is 'application/json', not in-toto"),
        (verify.IN_TOTO_PAYLOAD, statement(_type="https://in-toto.io/Statement/v0.1"), "not an in-toto v1 statement"),
        (verify.IN_TOTO_PAYLOAD, statement(predicateType="https://slsa.dev/provenance/v0.2"), "predicate is"),
        (verify.IN_TOTO_PAYLOAD, statement(subject=[]), "has no subject list"),
        (verify.IN_TOTO_PAYLOAD, statement(subject="sha256:" + "c" * 64), "has no subject list"),
        (verify.IN_TOTO_PAYLOAD, b"[" * 100_000, "nested too deeply"),
    ],
)
def test_a_statement_that_is_not_slsa_v1_about_the_digest_is_refused(payload_type, payload, message):
    with pytest.raises(CheckFailed, match=message):
        verify.check_statement(payload_type, payload, "c" * 64)


def test_a_long_predicate_is_shown_to_100_characters():
    with pytest.raises(CheckFailed) as caught:
        verify.check_statement(verify.IN_TOTO_PAYLOAD, statement(predicateType="p" * 150), "c" * 64)
    assert f"predicate is '{'p' * 100}', expected" in str(caught.value)


# -- Expectations: an empty value after the scheme is as empty as none -----------------
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("issuer", "https://", "the issuer must be an https URL"),
        ("server_url", "https://", "the server URL must be an https URL"),
        ("server_url", "http://github.com", "the server URL must be an https URL"),
        ("ref", "refs/", "the ref must be a full ref"),
        ("signer_workflow", ".github/workflows/ci.yml evil", "the signer workflow must be a path"),
    ],
)
def test_a_value_with_nothing_after_its_prefix_is_refused(field, value, message):
    values = {"repository": "octo/app", "ref": "refs/heads/main", field: value}
    with pytest.raises(InputError, match=message):
        Expectations(**values).validate()


@pytest.mark.parametrize(
    ("field", "shown"),
    [
        ("issuer", 60),
        ("server_url", 60),
        ("repository", 60),
        ("ref", 60),
        ("signer_workflow", 60),
        ("repository_id", 30),
        ("run_id", 30),
        ("run_attempt", 30),
        ("build_config", 60),
    ],
)
def test_a_refused_value_is_quoted_to_a_fixed_length(field, shown):
    """Enough to recognise the value, never a wall of it."""
    values = {"repository": "octo/app", "ref": "refs/heads/main", field: "z" * 200 + " "}  # a space: no path
    with pytest.raises(InputError) as caught:
        Expectations(**values).validate()
    assert f"'{'z' * shown}'" in str(caught.value)


# -- reasons: exact where a person reads them ---------------------------------------
def test_a_reason_for_an_unclassified_error_keeps_its_words_and_hides_raw_bytes():
    # Only what this module did not classify goes through reason(): its words, bounded, no bytes.
    assert (
        verify.reason("Unsupported DSSE log entry type: intoto/0.0.2")
        == "Unsupported DSSE log entry type: intoto/0.0.2"
    )
    assert verify.reason("got b'" + "A" * 100 + "' back") == "got <bytes> back"


def test_an_error_of_another_kind_keeps_its_own_words():
    assert verify.reason(ValueError("Bundle message digest mismatch")) == "Bundle message digest mismatch"


def test_a_long_unsupported_kind_is_named_to_40_and_20_characters(tmp_path):
    document = {"verificationMaterial": {"tlogEntries": [{"kindVersion": {"kind": "k" * 60, "version": "v" * 30}}]}}
    with pytest.raises(CheckFailed) as caught:
        verify.parse_bundle(json.dumps(document).encode(), "b.json")
    assert f"its transparency-log entry is {'k' * 40}/{'v' * 20};" in str(caught.value)


# -- candidates are numbered from 1, and an inline bundle is a candidate -------------
def test_api_candidates_are_numbered_from_one(fake_github):
    from pipeline.github import GitHub  # noqa: PLC0415
    from pipeline.settings import Settings  # noqa: PLC0415

    digest = "d" * 64
    fake_github.attestations[digest] = [{"bundle": {"mediaType": "x"}}, {"something": "else"}]
    found = verify.fetch_bundles(GitHub(Settings.from_env({"GITHUB_API_URL": fake_github.url})), "octo/app", digest)
    assert [origin for origin, _ in found] == ["attestation #1", "attestation #2"]
    assert json.loads(found[0][1]) == {"mediaType": "x"}  # the inline bundle itself, not a refusal
    assert found[1][1] == verify.Unreadable("neither an inline bundle nor a bundle_url", bad_input=False)


def test_a_bundle_that_cannot_be_downloaded_is_a_candidate_that_says_why(fake_github):
    from pipeline.github import GitHub  # noqa: PLC0415
    from pipeline.settings import Settings  # noqa: PLC0415

    digest = "e" * 64
    fake_github.attestations[digest] = [{"bundle_url": f"{fake_github.url}/nowhere"}]
    settings = Settings.from_env({"GITHUB_API_URL": fake_github.url, "PIPELINE_MAX_WAIT": "0.5"})
    [(origin, data)] = verify.fetch_bundles(GitHub(settings), "octo/app", digest)
    assert origin == "attestation #1"
    assert isinstance(data, verify.Unreadable)
    assert data.reason.startswith("download failed: ")
    assert not data.bad_input  # a download that fails is a refusal (exit 1), not a usage error


# -- JSON Lines: one candidate a line, numbered from 1; one line is one bundle --------
def test_json_lines_are_numbered_from_one_and_a_single_line_is_one_bundle():
    assert [o for o, _ in verify.read_bundles(b'{"a": 1}\n{"b": 2}\n', "f.jsonl")] == [
        "f.jsonl line 1",
        "f.jsonl line 2",
    ]
    assert verify.read_bundles(b"not json at all", "f.json") == [("f.json", b"not json at all")]


# -- certificate claims in either DER length form --------------------------------------
def test_claims_are_read_in_short_and_long_der_forms_and_raw_values_too():
    from pipeline.authority.fulcio import _der_utf8  # noqa: PLC0415

    long_ref = "refs/heads/" + "b" * 300  # a two-byte DER length
    values = {
        "1.3.6.1.4.1.57264.1.9": _der_utf8("w" * 200),  # a one-byte long-form length (0x81)
        "1.3.6.1.4.1.57264.1.14": _der_utf8(long_ref),
        "1.3.6.1.4.1.57264.1.12": b"https://github.com/octo/app",  # raw, as old Fulcio wrote some
    }  # the issuer (1.8) is absent: the claims after it are still read
    claims = verify._certificate_claims(certificate_with(values))
    assert claims["signer_workflow"] == "w" * 200
    assert claims["ref"] == long_ref
    assert claims["repository"] == "https://github.com/octo/app"
    assert claims["issuer"] == ""


# -- second round: what the next mutation run left alive ------------------------------
def test_the_malformed_field_is_named_by_its_path():
    document = json.loads((VECTORS / "attestation-direct-workflow.sigstore.json").read_text())
    document["verificationMaterial"]["tlogEntries"][0]["logIndex"] = "not a number"
    with pytest.raises(CheckFailed) as caught:
        verify.parse_bundle(json.dumps(document).encode(), "b.json")
    # From pydantic's structured error: the path, and the cause of a value error, not its dump.
    assert str(caught.value) == (
        "refused: b.json is not a valid Sigstore bundle: field verificationMaterial.tlogEntries.0.logIndex: "
        "invalid literal for int() with base 10: 'not a number'"
    )


def test_a_missing_field_is_named_and_an_error_without_structure_names_nothing():
    document = json.loads((VECTORS / "attestation-direct-workflow.sigstore.json").read_text())
    del document["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    with pytest.raises(CheckFailed) as caught:
        verify.parse_bundle(json.dumps(document).encode(), "b.json")
    assert str(caught.value).endswith(": field verificationMaterial.tlogEntries.0.inclusionProof: Field required")
    assert verify.pydantic_problem(ValueError("nothing to name")) == ""


def test_a_reason_at_the_limit_is_whole_and_one_past_it_is_cut_before_its_last_word():
    at_limit = "x" * 235 + " yyyy"  # 240 characters: the documented limit, written out
    assert verify.reason(at_limit) == at_limit
    past = "x" * 236 + " yyyy"
    assert verify.reason(past) == "x" * 236 + " …"
    two_words_in = "a" * 200 + " bb" + " " + "c" * 100
    assert verify.reason(two_words_in) == "a" * 200 + " bb …"


def test_an_error_whose_name_sorts_before_the_chain_error_keeps_its_words():
    assert verify.reason(AttributeError("no attribute 'x'")) == "no attribute 'x'"


def test_a_statement_type_that_sorts_after_v1_is_refused_too():
    with pytest.raises(CheckFailed, match="not an in-toto v1 statement"):
        verify.check_statement(verify.IN_TOTO_PAYLOAD, statement(_type="https://in-toto.io/Statement/v2"), "c" * 64)


def test_a_blank_file_is_one_candidate_not_none():
    assert verify.read_bundles(b"  \n", "blank.json") == [("blank.json", b"  \n")]


def test_expectations_cannot_change_after_they_are_checked():
    import dataclasses  # noqa: PLC0415

    expected = Expectations(repository="octo/app", ref="refs/heads/main")
    expected.validate()
    with pytest.raises(dataclasses.FrozenInstanceError):
        expected.issuer = ""  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        verify.Verified("i", "w", "r", "1", "ref", "c", "u", "p", "s").subject = "other"  # type: ignore[misc]


def test_short_empty_and_odd_claim_values_are_read_as_written():
    values = {
        "1.3.6.1.4.1.57264.1.15": b"\x0c\x017",  # a one-character UTF8String (repository id 7)
        "1.3.6.1.4.1.57264.1.13": b"\x0c\x00",  # an empty UTF8String
        "1.3.6.1.4.1.57264.1.14": b"x",  # one raw byte
        "1.3.6.1.4.1.57264.1.12": b"\x04\x03abc",  # another tag: read raw, not as a string
        "1.3.6.1.4.1.57264.1.18": b"\x0c",  # a tag with no length: raw, never an index error
    }
    claims = verify._certificate_claims(certificate_with(values))
    assert (claims["repository_id"], claims["commit"], claims["ref"]) == ("7", "", "x")
    assert claims["repository"] == "\x04\x03abc"
    assert claims["build_config"] == "\x0c"


def test_another_runs_uri_is_shown_around_where_it_differs():
    from sigstore.errors import VerificationError  # noqa: PLC0415

    from pipeline.authority.fulcio import _der_utf8  # noqa: PLC0415

    uri = "https://github.com/octo/app/actions/runs/" + "9" * 300 + "/attempts/1"
    certificate = certificate_with({"1.3.6.1.4.1.57264.1.21": _der_utf8(uri)})
    policy = verify.RunAttempts("https://github.com/octo/app/actions/runs/" + "9" * 299 + "8/attempts", 1)
    with pytest.raises(VerificationError) as caught:
        policy.verify(certificate)
    message = str(caught.value)
    assert isinstance(caught.value, verify.Mismatch)
    # The two URIs share 340 characters: both are shown from just before the first that differs.
    assert message.startswith("the certificate's run invocation URI does not match (RunAttempts): got …")
    assert f"{'9' * 19}9{'9' * 10}" in message.split(", expected", 1)[0]
    assert "98/attempts/1 to /1" in message.split(", expected", 1)[1]
    assert len(message) < 2 * verify.VALUE_WIDTH + 120
