"""The local Sigstore authority, and the trust boundary between it and GitHub's.

Every bundle here is made by sigstore-python's own signer against the local
authority over HTTP, and checked by sigstore's own verifier through this
repository's verify functions: only the trust root differs from CD's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pipeline import signing, verify
from pipeline.authority import LocalAuthority, fulcio, merkle
from pipeline.errors import CheckFailed, InputError
from pipeline.settings import Settings
from pipeline.trust import GITHUB_ISSUER, LOCAL_ISSUER, Trust, select
from pipeline.verify import Expectations

VECTORS = Path(__file__).resolve().parent / "data" / "sigstore"
RUN = signing.Workflow(repository="octo/app", ref="refs/heads/main", sha="a" * 40, run_id="7000", repository_id="42")
DIGEST = hashlib.sha256(b"the image manifest").hexdigest()
IMAGE = "127.0.0.1:5000/octo/app"


def expected(**overrides: str) -> Expectations:
    values = {
        "repository": "octo/app",
        "ref": "refs/heads/main",
        "repository_id": "42",
        "run_id": "7000",
        "issuer": LOCAL_ISSUER,
    }
    return Expectations(**{**values, **overrides})


def sign(server, run=RUN, digest=DIGEST) -> bytes:
    return signing.sign(signing.provenance([(IMAGE, digest)], run), Trust(local_url=server.url), run)


def check(bundle: bytes, server, digest=DIGEST, **overrides: str) -> verify.Verified:
    return verify.verify_any(
        [("bundle", bundle)], expected(**overrides), digest, Trust(local_url=server.url).verifier()
    )


def refusal(bundle: bytes, server, **overrides: str) -> str:
    with pytest.raises(CheckFailed) as caught:
        check(bundle, server, **overrides)
    message = str(caught.value)
    assert "\n" not in message, message  # one clear line
    assert len(message) < 600, message
    return message


def edited(bundle: bytes, change) -> bytes:
    document = json.loads(bundle)
    change(document)
    return json.dumps(document).encode()


@pytest.fixture(scope="module")
def module_authority(tmp_path_factory):
    """One authority and one signed bundle for the read-only checks (signing costs ~50 ms)."""
    from pipeline.authority.server import AuthorityServer  # noqa: PLC0415

    server = AuthorityServer(tmp_path_factory.mktemp("authority")).start()
    yield server, sign(server)
    server.shutdown()
    server.server_close()


# -- what verifies ------------------------------------------------------------
def test_an_image_signed_locally_verifies_against_the_local_root_with_its_identity(module_authority):
    server, bundle = module_authority
    result = check(bundle, server)
    assert result.issuer == LOCAL_ISSUER
    assert result.signer_workflow == "https://github.com/octo/app/.github/workflows/ci.yml@refs/heads/main"
    assert result.run_uri == "https://github.com/octo/app/actions/runs/7000/attempts/1"
    assert result.commit == "a" * 40
    assert result.subject == f"sha256:{DIGEST}"


def test_the_statement_has_the_shape_actions_attest_gives_it(module_authority):
    _, bundle = module_authority
    payload = json.loads(base64.b64decode(json.loads(bundle)["dsseEnvelope"]["payload"]))
    assert payload["subject"] == [{"name": IMAGE, "digest": {"sha256": DIGEST}}]
    definition = payload["predicate"]["buildDefinition"]
    assert definition["buildType"] == signing.BUILD_TYPE
    assert definition["resolvedDependencies"][0]["digest"] == {"gitCommit": "a" * 40}
    assert payload["predicate"]["runDetails"]["metadata"]["invocationId"].endswith("/runs/7000/attempts/1")


def test_a_bundle_signed_before_a_restart_verifies_after_it(local_authority):
    bundle = sign(local_authority)
    again = LocalAuthority(local_authority.authority.state, local_authority.url)
    assert again.trusted_root() == local_authority.authority.trusted_root()
    assert check(bundle, local_authority).subject == f"sha256:{DIGEST}"


def test_every_entry_of_a_growing_log_verifies(local_authority):
    """Log sizes 1 to 5: inclusion proofs of left and right leaves, odd and even trees."""
    bundles = [sign(local_authority, digest=hashlib.sha256(bytes([n])).hexdigest()) for n in range(5)]
    for n, bundle in enumerate(bundles):
        assert check(bundle, local_authority, digest=hashlib.sha256(bytes([n])).hexdigest())
    assert local_authority.authority.log.info()["treeSize"] == 5


# -- the trust boundary: the two roots are never merged ----------------------
def test_the_production_root_refuses_a_locally_signed_bundle(module_authority):
    _, bundle = module_authority
    production = Trust(offline=True).verifier()
    with pytest.raises(CheckFailed, match="does not chain to a trusted Fulcio root"):
        verify.verify_any([("local", bundle)], expected(issuer=GITHUB_ISSUER), DIGEST, production)


def test_the_local_root_refuses_a_real_github_bundle(module_authority):
    server, _ = module_authority
    real = (VECTORS / "attestation-direct-workflow.sigstore.json").read_bytes()
    beacon = Expectations(
        repository="sigstore-conformance/extremely-dangerous-public-oidc-beacon",
        ref="refs/heads/main",
        signer_workflow=".github/workflows/extremely-dangerous-oidc-beacon.yml",
        issuer=LOCAL_ISSUER,
    )
    digest = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
    with pytest.raises(CheckFailed, match="does not chain to a trusted Fulcio root"):
        verify.verify_any([("github", real)], beacon, digest, Trust(local_url=server.url).verifier())


def test_the_local_issuer_is_pinned_a_local_bundle_checked_for_githubs_issuer_is_refused(module_authority):
    server, bundle = module_authority
    assert "OIDCIssuer" in refusal(bundle, server, issuer=GITHUB_ISSUER)


def test_configuration_alone_picks_the_root(monkeypatch):
    assert select(Settings.from_env({})) == Trust()
    local = select(Settings.from_env({"LOCAL_SIGSTORE": "http://127.0.0.1:5010/"}))
    assert local.local_url == "http://127.0.0.1:5010"
    assert local.issuer == LOCAL_ISSUER
    with pytest.raises(InputError, match="cannot be combined"):
        select(Settings.from_env({"LOCAL_SIGSTORE": "http://127.0.0.1:5010"}), offline=True)


@pytest.mark.parametrize("url", ["https://127.0.0.1:5010", "http://example.com:80", "http://127.0.0.1", "ftp://x"])
def test_the_local_authority_must_be_on_loopback(url):
    with pytest.raises(InputError, match="LOCAL_SIGSTORE must be"):
        Settings.from_env({"LOCAL_SIGSTORE": url})


def test_the_local_authority_is_never_used_on_a_github_runner():
    env = {"LOCAL_SIGSTORE": "http://127.0.0.1:5010", "GITHUB_ACTIONS": "true"}
    with pytest.raises(InputError, match="never used there"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "ACT": "true"}).local_sigstore  # act's runner is this machine


# -- the local Fulcio checks its tokens ----------------------------------------
def _csr() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(key, hashes.SHA256())
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


def _token(key, **changes) -> str:
    now = int(time.time())
    body = {**RUN.claims(), "iss": LOCAL_ISSUER, "aud": "sigstore", "sub": "repo:octo/app", "iat": now, "exp": now + 60}
    body.update(changes)
    return jwt.encode(body, key, algorithm="ES256")


def test_a_token_with_a_good_signature_that_claims_githubs_issuer_is_refused(tmp_path):
    authority = LocalAuthority(tmp_path, "http://127.0.0.1:1")
    with pytest.raises(CheckFailed, match="issuer"):
        authority.signing_certificate(
            {"certificateSigningRequest": _csr()}, f"Bearer {_token(authority.oidc_key, iss=GITHUB_ISSUER)}"
        )
    # The same token with the local issuer is accepted: the issuer was the only fault.
    good = authority.signing_certificate({"certificateSigningRequest": _csr()}, f"Bearer {_token(authority.oidc_key)}")
    assert len(good["signedCertificateEmbeddedSct"]["chain"]["certificates"]) == 2


@pytest.mark.parametrize(
    ("why", "token"),
    [
        ("another key", lambda _a: _token(ec.generate_private_key(ec.SECP256R1()))),
        ("expired", lambda a: _token(a.oidc_key, iat=int(time.time()) - 900, exp=int(time.time()) - 300)),
        ("another audience", lambda a: _token(a.oidc_key, aud="someone-else")),
        ("not a JWT", lambda _a: "not-a-token"),
    ],
)
def test_the_local_fulcio_refuses_tokens_it_cannot_trust(tmp_path, why, token):
    authority = LocalAuthority(tmp_path, "http://127.0.0.1:1")
    with pytest.raises(CheckFailed, match="identity token"):
        authority.signing_certificate({"certificateSigningRequest": _csr()}, f"Bearer {token(authority)}")


def test_the_local_fulcio_wants_proof_of_possession_of_an_ec_key(tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415

    authority = LocalAuthority(tmp_path, "http://127.0.0.1:1")
    bearer = f"Bearer {_token(authority.oidc_key)}"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(rsa_key, hashes.SHA256())
    pem = base64.b64encode(rsa_csr.public_bytes(serialization.Encoding.PEM)).decode()
    with pytest.raises(CheckFailed, match="must hold an EC key"):
        authority.signing_certificate({"certificateSigningRequest": pem}, bearer)
    der = bytearray(x509.load_pem_x509_csr(base64.b64decode(_csr())).public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0x01  # inside the signature: the CSR no longer proves the key
    forged = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    with pytest.raises(CheckFailed, match="no proof of key possession"):
        authority.signing_certificate({"certificateSigningRequest": base64.b64encode(forged).decode()}, bearer)
    with pytest.raises(InputError, match="not a base64 PEM CSR"):
        authority.signing_certificate({"certificateSigningRequest": "bm90IGEgQ1NS"}, bearer)


def test_the_token_service_refuses_missing_malformed_or_issuer_claims(tmp_path):
    authority = LocalAuthority(tmp_path, "http://127.0.0.1:1")
    with pytest.raises(InputError, match="lacks the claim"):
        authority.token({"repository": "octo/app"})
    with pytest.raises(InputError, match="malformed claim.*sha"):
        authority.token({**RUN.claims(), "sha": "main"})
    with pytest.raises(InputError, match="issuer sets"):
        authority.token({**RUN.claims(), "iss": GITHUB_ISSUER})


def _post(url: str, body: bytes) -> tuple[int, dict]:
    reply = requests.post(url, data=body, timeout=10)
    return reply.status_code, reply.json()


def test_the_http_endpoints_answer_bad_requests_with_a_reason(local_authority):
    url = local_authority.url
    status, body = _post(f"{url}/api/v2/signingCert", json.dumps({"certificateSigningRequest": _csr()}).encode())
    assert (status, body["message"]) == (401, "no identity token (Authorization: Bearer ...)")
    assert _post(f"{url}/api/v1/log/entries", b"{not json")[0] == 400
    assert _post(f"{url}/api/v1/log/entries", json.dumps({"kind": "rekord", "spec": {}}).encode())[1][
        "message"
    ].startswith("entries of kind 'rekord' are not accepted")
    assert _post(f"{url}/nowhere", b"{}")[0] == 404
    root = requests.get(f"{url}/trusted_root.json", timeout=10).json()
    assert root["mediaType"].startswith("application/vnd.dev.sigstore.trustedroot+json")
    state = local_authority.authority.state
    assert json.loads((state / "trusted_root.json").read_text()) == root
    assert json.loads((state / "signing_config.json").read_text())["caUrls"][0]["url"] == url


def test_the_log_refuses_an_entry_whose_signature_does_not_verify(module_authority):
    server, bundle = module_authority
    document = json.loads(bundle)
    certificate = document["verificationMaterial"]["certificate"]["rawBytes"]
    pem = x509.load_der_x509_certificate(base64.b64decode(certificate)).public_bytes(serialization.Encoding.PEM)
    envelope = {**document["dsseEnvelope"], "payload": base64.b64encode(b'{"forged": true}').decode()}
    proposed = {
        "kind": "dsse",
        "apiVersion": "0.0.1",
        "spec": {"proposedContent": {"envelope": json.dumps(envelope), "verifiers": [base64.b64encode(pem).decode()]}},
    }
    size = server.authority.log.info()["treeSize"]
    with pytest.raises(CheckFailed, match="does not verify with its certificate"):
        server.authority.log_entry(proposed)
    assert server.authority.log.info()["treeSize"] == size  # nothing was appended


# -- each refusal a verifier must make, on a bundle this authority signed -----
def test_a_tampered_image_is_refused(module_authority):
    server, bundle = module_authority
    assert "no subject has the digest" in refusal_for_digest(bundle, server, "b" * 64)


def refusal_for_digest(bundle, server, digest):
    with pytest.raises(CheckFailed) as caught:
        check(bundle, server, digest=digest)
    return str(caught.value)


def test_another_repository_is_refused(module_authority):
    server, bundle = module_authority
    assert "SANs do not match" in refusal(bundle, server, repository="octo/other")


def test_another_run_is_refused(module_authority):
    server, bundle = module_authority
    assert "run invocation URI does not match" in refusal(bundle, server, run_id="7001")


def test_an_expired_certificate_is_refused(local_authority):
    """The log's clock an hour ahead: the 10-minute leaf expired before the entry was integrated."""
    authority = local_authority.authority
    real_log_entry = authority.log_entry
    authority.log_entry = lambda proposed: authority.log.append(proposed, int(time.time()) + 3600)
    try:
        bundle = sign(local_authority)
    finally:
        authority.log_entry = real_log_entry
    assert "certificate was not valid when the transparency log recorded the signature" in refusal(
        bundle, local_authority
    )


def test_a_certificate_without_an_sct_is_refused(module_authority):
    server, bundle = module_authority
    authority = server.authority
    document = json.loads(bundle)
    leaf = x509.load_der_x509_certificate(base64.b64decode(document["verificationMaterial"]["certificate"]["rawBytes"]))
    builder = (
        x509.CertificateBuilder()
        .subject_name(leaf.subject)
        .issuer_name(leaf.issuer)
        .public_key(leaf.public_key())
        .serial_number(leaf.serial_number)
        .not_valid_before(leaf.not_valid_before_utc)
        .not_valid_after(leaf.not_valid_after_utc)
    )
    for extension in leaf.extensions:
        if extension.oid != fulcio.SCT_LIST_OID:
            builder = builder.add_extension(extension.value, extension.critical)
    bare = builder.sign(authority.ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    no_sct = edited(
        bundle, lambda d: d["verificationMaterial"]["certificate"].update(rawBytes=base64.b64encode(bare).decode())
    )
    assert "SCT" in refusal(no_sct, server)


def test_a_bundle_without_its_inclusion_promise_is_refused(module_authority):
    server, bundle = module_authority
    no_set = edited(bundle, lambda d: d["verificationMaterial"]["tlogEntries"][0].pop("inclusionPromise"))
    assert "must contain an inclusion promise" in refusal(no_set, server)


def test_a_bad_checkpoint_is_refused(module_authority):
    server, bundle = module_authority

    def forge(document):
        proof = document["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
        note, _, signature = proof["checkpoint"]["envelope"].rpartition(" ")
        raw = bytearray(base64.b64decode(signature))
        raw[-1] ^= 1
        proof["checkpoint"]["envelope"] = f"{note} {base64.b64encode(bytes(raw)).decode()}\n"

    assert "checkpoint" in refusal(edited(bundle, forge), server)


def test_an_entry_that_is_not_in_the_log_is_refused(local_authority):
    """Two entries, so the proof has a sibling to forge; the proof then leads to another root."""
    sign(local_authority, digest="c" * 64)
    bundle = sign(local_authority)

    def forge(document):
        proof = document["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
        proof["hashes"][0] = base64.b64encode(hashlib.sha256(b"another entry").digest()).decode()

    assert "inclusion proof" in refusal(edited(bundle, forge), local_authority)


# -- RFC 6962 arithmetic, checked against RFC 9162's verification algorithm ----
def _verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162, 2.1.3.2, written out independently of the module under test."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def test_inclusion_proofs_verify_for_every_leaf_of_every_tree_up_to_33():
    for size in range(1, 34):
        leaves = [merkle.leaf_hash(bytes([n])) for n in range(size)]
        root = merkle.root(leaves)
        for index in range(size):
            proof = merkle.inclusion_proof(index, leaves)
            assert _verify_inclusion(index, size, leaves[index], proof, root), (index, size)
            assert not _verify_inclusion(index, size, merkle.leaf_hash(b"other"), proof, root)


@pytest.mark.parametrize("index", [2, 3, -1])
def test_an_inclusion_proof_outside_the_tree_is_an_error(index):
    with pytest.raises(ValueError, match="outside a tree of 2 leaves"):
        merkle.inclusion_proof(index, [merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")])


# -- the entry point the platform starts ----------------------------------------
def test_the_authority_runs_as_a_process_and_keeps_its_keys(tmp_path):
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    url_file = tmp_path / "url"
    argv = [sys.executable, "-m", "pipeline.authority", "--state", str(tmp_path / "state"), "--url-file", str(url_file)]
    roots = []
    for _ in range(2):
        url_file.unlink(missing_ok=True)
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while not (url_file.exists() and url_file.read_text()) and time.monotonic() < deadline:
                time.sleep(0.02)
            url = url_file.read_text()
            assert url.startswith("http://127.0.0.1:")
            assert requests.get(f"{url}/api/v1/log", timeout=10).json()["treeSize"] == 0
            roots.append(requests.get(f"{url}/trusted_root.json", timeout=10).json())
        finally:
            process.terminate()
            out, _ = process.communicate(timeout=10)
        assert "a test authority, trusted nowhere else" in out

    def keys(root):  # what a verifier trusts; the URL is the port of the day
        return (
            [t["logId"] for t in root["tlogs"]],
            [t["logId"] for t in root["ctlogs"]],
            [c["certChain"] for c in root["certificateAuthorities"]],
        )

    assert keys(roots[0]) == keys(roots[1])  # the same keys after a restart


def test_a_port_in_use_is_one_line_and_exit_1(tmp_path, capsys):
    import socket  # noqa: PLC0415

    from pipeline.authority.server import main  # noqa: PLC0415

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["--state", str(tmp_path), "--port", str(taken.getsockname()[1])]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the local Sigstore authority cannot start:")
    assert err.count("\n") == 1


# -- message signatures (hashedrekord) and the log's refusals ---------------------
def test_a_message_signature_made_locally_verifies_and_other_bytes_do_not(local_authority):
    trust = Trust(local_url=local_authority.url)
    wheel = b"the wheel's bytes"
    with trust.signing_context().signer(trust.identity_token(RUN.claims())) as signer:
        bundle = signer.sign_artifact(wheel)
    parsed = verify.parse_bundle(bundle.to_json().encode(), "wheel")
    result = verify.verify_artifact(parsed, expected(), wheel, trust.verifier())
    assert result.subject == f"sha256:{hashlib.sha256(wheel).hexdigest()}"
    with pytest.raises(CheckFailed, match="refused"):
        verify.verify_artifact(parsed, expected(), b"other bytes", trust.verifier())


def _dsse(envelope: object, verifiers: object) -> dict:
    return {
        "kind": "dsse",
        "apiVersion": "0.0.1",
        "spec": {"proposedContent": {"envelope": envelope, "verifiers": verifiers}},
    }


PEM_B64 = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n").decode()
GOOD_ENVELOPE = json.dumps(
    {"payload": "e30=", "payloadType": "application/vnd.in-toto+json", "signatures": [{"sig": "AA=="}]}
)


@pytest.mark.parametrize(
    ("proposed", "message"),
    [
        (["not", "an", "object"], "not a Rekor entry object"),
        ({"kind": "rekord", "spec": {}}, "kind 'rekord' are not accepted"),
        (_dsse(None, []), "no proposedContent.envelope"),
        (_dsse("{not json", ["x"]), "envelope is not JSON"),
        (_dsse(GOOD_ENVELOPE, []), "exactly one verifier"),
        (_dsse(json.dumps({"payload": "e30=", "signatures": []}), ["x"]), "a payloadType and exactly one signature"),
        (_dsse(json.dumps({"payload": "%%%", "payloadType": "t", "signatures": [{}]}), ["x"]), "payload is not base64"),
        (_dsse(GOOD_ENVELOPE, ["%%%"]), "verifier is not a base64 PEM certificate"),
        (_dsse(GOOD_ENVELOPE, [PEM_B64]), "verifier is not a base64 PEM certificate"),
        ({"kind": "hashedrekord", "spec": {"data": {}}}, "lacks its signature, key or hash"),
        (
            {
                "kind": "hashedrekord",
                "spec": {
                    "signature": {"content": "AA==", "publicKey": {"content": PEM_B64}},
                    "data": {"hash": {"algorithm": "sha1", "value": "00"}},
                },
            },
            "verifier is not a base64 PEM certificate",
        ),
    ],
)
def test_the_log_refuses_malformed_entries_with_a_reason(tmp_path, proposed, message):
    authority = LocalAuthority(tmp_path, "http://127.0.0.1:1")
    with pytest.raises(CheckFailed, match=message):
        authority.log_entry(proposed)
    assert authority.log.info()["treeSize"] == 0


def test_a_hashedrekord_entry_with_another_hash_or_signature_is_refused(module_authority):
    server, bundle = module_authority
    document = json.loads(bundle)
    der = base64.b64decode(document["verificationMaterial"]["certificate"]["rawBytes"])
    pem = base64.b64encode(x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)).decode()

    def entry(algorithm: str, value: str) -> dict:
        signature = {"content": base64.b64encode(b"\x30\x00").decode(), "publicKey": {"content": pem}}
        return {
            "kind": "hashedrekord",
            "spec": {"signature": signature, "data": {"hash": {"algorithm": algorithm, "value": value}}},
        }

    with pytest.raises(CheckFailed, match="not a sha256 digest"):
        server.authority.log_entry(entry("sha1", "0" * 40))
    with pytest.raises(CheckFailed, match="does not verify with its certificate"):
        server.authority.log_entry(entry("sha256", "0" * 64))


# -- the trust's failures are one line each ---------------------------------------
def test_an_authority_that_does_not_answer_is_named(tmp_path):
    with pytest.raises(CheckFailed, match=r"the local Sigstore authority at http://127.0.0.1:9 does not answer"):
        Trust(local_url="http://127.0.0.1:9").verifier()


def test_an_authority_without_a_trust_root_is_named(fake_github):
    with pytest.raises(CheckFailed, match="answered HTTP 404 for its trust root"):
        Trust(local_url=fake_github.url).verifier()


def test_a_refused_log_entry_fails_signing_with_the_instance_named(local_authority, monkeypatch):
    def refuse(proposed):
        raise CheckFailed("the log is read-only today")

    monkeypatch.setattr(local_authority.authority, "log_entry", refuse)
    with pytest.raises(CheckFailed, match=r"signing failed on the local test authority at .*: RekorClientError"):
        sign(local_authority)


def test_on_githubs_instance_the_token_is_the_runners_ambient_one(monkeypatch):
    import sigstore.oidc  # noqa: PLC0415

    monkeypatch.setattr(sigstore.oidc, "detect_credential", lambda: None)
    with pytest.raises(CheckFailed, match="id-token: write"):
        Trust().identity_token(RUN.claims())

    def broken():
        raise sigstore.oidc.IdentityError("GitHub: malformed response")

    monkeypatch.setattr(sigstore.oidc, "detect_credential", broken)
    with pytest.raises(CheckFailed, match="no OIDC token for signing: GitHub: malformed response"):
        Trust().identity_token(RUN.claims())


def test_an_unreadable_key_is_named_and_never_replaced(tmp_path):
    (tmp_path / "fulcio.key").write_text("not a key")
    with pytest.raises(InputError, match=r"the authority key .*fulcio.key cannot be read") as caught:
        LocalAuthority(tmp_path, "http://127.0.0.1:1")
    assert "\n" not in str(caught.value)  # cryptography's report, on one line
    assert (tmp_path / "fulcio.key").read_text() == "not a key"  # a new key would orphan every bundle signed
    assert (
        oct((LocalAuthority(tmp_path / "fresh", "http://127.0.0.1:1").state / "ctlog.key").stat().st_mode)[-3:] == "600"
    )


# -- the local issuer's clock and claims ---------------------------------------------
def test_a_token_lives_ten_minutes_from_the_issuers_clock(tmp_path):
    authority = LocalAuthority(tmp_path, "http://127.0.0.1:1", clock=lambda: 1_900_000_000)
    claims = jwt.decode(authority.token(RUN.claims()), options={"verify_signature": False}, audience="sigstore")
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (1_900_000_000, 1_900_000_000, 1_900_000_600)
    assert claims["iss"] == LOCAL_ISSUER
    assert claims["sub"] == "repo:octo/app:ref:refs/heads/main"


@pytest.mark.parametrize("offset", [-3600, 3600])
def test_tokens_are_judged_by_the_authoritys_clock_not_the_machines(tmp_path, offset):
    """An hour behind or ahead, mint and check agree: only the authority's clock counts."""
    authority = LocalAuthority(tmp_path, "http://127.0.0.1:1", clock=lambda: time.time() + offset)
    token = authority.token(RUN.claims())
    chain = authority.signing_certificate({"certificateSigningRequest": _csr()}, f"Bearer {token}")
    assert len(chain["signedCertificateEmbeddedSct"]["chain"]["certificates"]) == 2


def test_a_token_is_valid_from_its_first_second_to_just_before_it_expires(tmp_path):
    now = [1_900_000_000]
    authority = LocalAuthority(tmp_path, "http://127.0.0.1:1", clock=lambda: now[0])
    token = authority.token(RUN.claims())
    for moment, accepted in (
        (1_900_000_000, True),
        (1_900_000_599, True),
        (1_900_000_600, False),
        (1_899_999_999, False),
    ):
        now[0] = moment
        if accepted:
            authority.signing_certificate({"certificateSigningRequest": _csr()}, f"Bearer {token}")
        else:
            with pytest.raises(CheckFailed, match="outside its validity period"):
                authority.signing_certificate({"certificateSigningRequest": _csr()}, f"Bearer {token}")


def test_an_issuer_that_sorts_before_the_local_one_is_refused_too(tmp_path):
    authority = LocalAuthority(tmp_path, "http://127.0.0.1:1")
    forged = _token(authority.oidc_key, iss="https://accounts.example.com/" + "x" * 100)
    with pytest.raises(CheckFailed) as caught:
        authority.signing_certificate({"certificateSigningRequest": _csr()}, f"Bearer {forged}")
    assert f"issuer 'https://accounts.example.com/{'x' * 51}' is not {LOCAL_ISSUER}" in str(caught.value)
