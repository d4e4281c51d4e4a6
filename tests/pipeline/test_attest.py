"""``attest``: sign as this run on the configured instance, store the bundle where verifiers look."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from pipeline import referrers, registry
from pipeline.cli import main

DIGEST = hashlib.sha256(b"the image manifest").hexdigest()
SHA = "b" * 40


@pytest.fixture
def run_variables(monkeypatch, fake_github, local_authority):
    """The variables Actions sets for the signing job (act sets the same)."""
    for name, value in {
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": SHA,
        "GITHUB_RUN_ID": "7000",
        "GITHUB_REPOSITORY_ID": "42",
        "GITHUB_EVENT_NAME": "push",
    }.items():
        monkeypatch.setenv(name, value)
    return fake_github


def attest(tmp_path, *extra: str, name: str = "127.0.0.1:5000/octo/app") -> int:
    args = ["attest", "--subject-name", name, "--subject-digest", f"sha256:{DIGEST}"]
    return main([*args, "--output", str(tmp_path / "bundle.json"), *extra])


def verify_args(*extra: str) -> list[str]:
    return ["verify", "--digest", f"sha256:{DIGEST}", "--run-id", "7000", "--repository-id", "42", *extra]


def test_an_attested_image_is_verified_from_the_attestations_api(run_variables, tmp_path, capsys):
    assert attest(tmp_path) == 0
    said = capsys.readouterr().out
    assert f"attested provenance of 127.0.0.1:5000/octo/app@sha256:{DIGEST[:12]} on" in said
    assert "the local test authority" in said
    assert len(run_variables.attestations[DIGEST]) == 1  # stored with the repository, as actions/attest does
    assert main(verify_args()) == 0
    assert capsys.readouterr().out.startswith(f"verified: sha256:{DIGEST} signed by https://github.com/octo/app/")


def test_the_bundle_file_alone_verifies_and_a_later_run_is_not_this_one(run_variables, tmp_path, capsys):
    assert attest(tmp_path) == 0
    bundle = str(tmp_path / "bundle.json")
    assert main(verify_args("--bundle", bundle)) == 0
    assert main([*verify_args("--bundle", bundle)[:4], "7001", *verify_args()[5:], "--bundle", bundle]) == 1
    assert "run invocation URI does not match" in capsys.readouterr().err


def test_an_sbom_attestation_is_not_accepted_as_provenance(run_variables, tmp_path, capsys):
    sbom = tmp_path / "sbom.json"
    sbom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}))
    assert attest(tmp_path, "--sbom-path", str(sbom)) == 0
    document = json.loads((tmp_path / "bundle.json").read_text())
    statement = json.loads(base64.b64decode(document["dsseEnvelope"]["payload"]))
    assert statement["predicateType"] == "https://cyclonedx.org/bom"
    assert main(verify_args()) == 1
    assert "predicate is 'https://cyclonedx.org/bom'" in capsys.readouterr().err


def test_pushed_to_the_registry_it_is_found_there_as_a_referrer(run_variables, oci, tmp_path, capsys):
    name = f"{oci['host']}/octo/app"
    content = b'{"schemaVersion": 2, "layers": []}'
    oci["manifests"][f"sha256:{DIGEST}"] = content
    oci["types"][f"sha256:{DIGEST}"] = "application/vnd.oci.image.manifest.v1+json"
    assert attest(tmp_path, "--push-to-registry", name=name) == 0
    assert "referrer sha256:" in capsys.readouterr().out
    found = referrers.find(registry.parse_reference(f"{name}@sha256:{DIGEST}"))
    assert [data for _, data in found] == [(tmp_path / "bundle.json").read_bytes()]
    assert main(verify_args("--from-registry", name)) == 0


def test_a_missing_authority_is_one_line_and_exit_1(run_variables, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("LOCAL_SIGSTORE", "http://127.0.0.1:9")
    assert attest(tmp_path) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the local OIDC issuer does not answer (ConnectionError)")
    assert err.count("\n") == 1
    assert not (tmp_path / "bundle.json").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"GITHUB_RUN_ID": ""}, "signing needs GITHUB_REF, GITHUB_SHA and GITHUB_RUN_ID"),
        ({"GITHUB_SHA": "main"}, "signing needs GITHUB_REF, GITHUB_SHA and GITHUB_RUN_ID"),
    ],
)
def test_a_run_without_its_identity_is_a_usage_error(run_variables, monkeypatch, tmp_path, capsys, change, message):
    for key, value in change.items():
        monkeypatch.setenv(key, value)
    assert attest(tmp_path) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("name", ["127.0.0.1:5000/octo/app:main", "octo/app@sha256:" + "0" * 64, ""])
def test_the_subject_is_an_image_name_without_tag_or_digest(run_variables, tmp_path, capsys, name):
    assert attest(tmp_path, name=name) == 2
    assert "the subject name must be an image name" in capsys.readouterr().err


def test_a_malformed_sbom_is_refused_before_signing(run_variables, tmp_path, capsys):
    sbom = tmp_path / "sbom.json"
    sbom.write_text('{"spdxVersion": "SPDX-2.3"}')
    assert attest(tmp_path, "--sbom-path", str(sbom)) == 2
    assert "not a CycloneDX JSON document" in capsys.readouterr().err
    assert run_variables.attestations == {}


def test_a_statement_sigstore_would_not_sign_is_one_line_and_nothing_is_asked_of_the_authority():
    from pipeline import signing  # noqa: PLC0415
    from pipeline.errors import InputError  # noqa: PLC0415
    from pipeline.trust import Trust  # noqa: PLC0415

    # Nothing answers on this port: a request to the authority would fail another way.
    nowhere = Trust(local_url="http://127.0.0.1:9")
    with pytest.raises(InputError) as caught:
        signing.sign({"_type": "https://in-toto.io/Statement/v1", "subject": "not a list"}, nowhere, None)
    message = str(caught.value)
    assert message.startswith("the statement is not a valid in-toto statement: ")
    assert "\n" not in message


def test_files_are_attested_by_name_and_digest_and_each_verifies(run_variables, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_WORKFLOW_REF", "octo/app/.github/workflows/release.yml@refs/tags/v1.0.0")
    monkeypatch.setenv("GITHUB_REF", "refs/tags/v1.0.0")
    dist = tmp_path / "dist"
    dist.mkdir()
    for name in ("app-1.0.0.tar.gz", "app-1.0.0-py3-none-any.whl"):
        (dist / name).write_bytes(name.encode())
    args = ["attest", "--subject-path", str(dist / "app-*"), "--output", str(tmp_path / "dist.sigstore.json")]
    assert main(args) == 0
    assert "attested provenance of app-1.0.0-py3-none-any.whl@sha256:" in capsys.readouterr().out
    for name in ("app-1.0.0.tar.gz", "app-1.0.0-py3-none-any.whl"):
        digest = hashlib.sha256(name.encode()).hexdigest()
        verified = [
            "verify", "--digest", digest, "--bundle", str(tmp_path / "dist.sigstore.json"),
            "--ref", "refs/tags/v1.0.0", "--signer-workflow", ".github/workflows/release.yml",
        ]  # fmt: skip
        assert main(verified) == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--subject-path", "nothing-here-*"], "no file matches nothing-here-*"),
        (["--subject-path", "x", "--subject-name", "n"], "not both"),
        ([], "give --subject-name with --subject-digest, or --subject-path"),
    ],
)
def test_the_subjects_are_named_one_way(run_variables, tmp_path, capsys, extra, message):
    assert main(["attest", "--output", str(tmp_path / "b.json"), *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_workflow_ref_of_another_repository_is_refused(run_variables, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GITHUB_WORKFLOW_REF", "evil/app/.github/workflows/ci.yml@refs/heads/main")
    assert attest(tmp_path) == 2
    assert "GITHUB_WORKFLOW_REF does not name a workflow of octo/app" in capsys.readouterr().err
