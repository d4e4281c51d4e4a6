"""The image, the registry and the deployment, with a real Docker engine."""

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from pipeline import docker as dk
from pipeline import profile, registry
from pipeline.cli import main
from pipeline.errors import CheckFailed
from pipeline.settings import Settings
from projects import service_project

ROOT = Path(__file__).resolve().parents[2]
_LOCAL = Settings.from_env(dict(os.environ))
REGISTRY, BASE = _LOCAL.local_registry, _LOCAL.local_base_image
_MISSING = dk.available()
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(bool(_MISSING), reason=f"no Docker engine: {_MISSING}"),
]


def sh(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=600).stdout


@pytest.fixture(scope="module", autouse=True)
def local_platform():
    """Every test here needs the local base image and registry, not just an engine.

    GitHub's runners have Docker but neither: there these tests skip, and CI's
    image job and CD do the same for real.
    """
    try:
        sh("docker", "image", "inspect", BASE)
        requests.get(f"http://{REGISTRY}/v2/", timeout=5).raise_for_status()
    except (subprocess.CalledProcessError, requests.RequestException):
        pytest.skip(f"base image {BASE} or registry {REGISTRY} missing: run scripts/local-platform.sh up")


def forget_local_names(prefix):
    """Remove every local tag and pulled digest under ``prefix`` (not the registry's copy).

    Each run names its images afresh; without this the engine would gain a
    dozen names a run, forever.
    """
    listed = sh("docker", "images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}")
    names = set()
    for repository, tag, digest in (line.split() for line in listed.splitlines()):
        if repository.startswith(prefix):
            names.add(f"{repository}:{tag}" if tag != "<none>" else f"{repository}@{digest}")
    if names:
        sh("docker", "rmi", *sorted(names))


@pytest.fixture(scope="module")
def pushed():
    """The working tree's image, pushed to the local registry and removed locally."""
    name = f"{REGISTRY}/e2e/sample-app-{uuid.uuid4().hex[:8]}"
    sh("docker", "build", "-q", "--network", "host", "--build-arg", f"BASE_IMAGE={BASE}", "-t", f"{name}:v1", str(ROOT))
    sh("docker", "push", "-q", f"{name}:v1")
    digest = registry.resolve(registry.parse_reference(f"{name}:v1")).digest
    sh("docker", "rmi", f"{name}:v1")
    yield name, digest
    forget_local_names(name)  # and the tests' own names under it (`-ci`, moved tags, pulls)


def test_deploy_by_digest_reports_and_comments(pushed, fake_github, tmp_path, capsys):
    name, digest = pushed
    out = tmp_path / "cd.json"
    status = main(
        [
            "deploy",
            "--image",
            f"{name}:v1",
            "--no-verify",
            "--output",
            str(out),
            "--pr",
            "5",
            "--environment",
            "preview",
        ]
    )
    assert status == 0, capsys.readouterr()
    data = json.loads(out.read_text())
    assert data["ok"] is True
    assert data["digest"] == digest
    assert data["verification"] == "not verified: switched off explicitly (--no-verify)"
    runs = {s["name"]: s for s in data["steps"]}
    assert runs["run 2 3"]["exit_code"] == 0
    assert runs["run 2 abc"]["exit_code"] == 2
    assert "--network none --read-only --cap-drop ALL --security-opt no-new-privileges" in runs["run 2 3"]["command"]
    assert f"@{digest}" in runs["run 2 3"]["command"]
    (comment,) = fake_github.comments[5]
    assert comment["body"].startswith("<!-- service-pipeline:cd-report -->")
    assert "Deployment to `preview` succeeded" in comment["body"]
    assert out.with_suffix(".md").read_text() == comment["body"]
    assert "> **NOT VERIFIED.**" in comment["body"]


def test_attestations_switched_off_deploy_unverified_and_say_why(pushed, tmp_path, fake_github, monkeypatch, capsys):
    name, digest = pushed
    monkeypatch.setenv("ATTEST_IMAGES", "false")
    out = tmp_path / "cd.json"
    status = main(["deploy", "--image", f"{name}:v1", "--output", str(out)])
    assert status == 0, capsys.readouterr()
    data = json.loads(out.read_text())
    assert data["digest"] == digest
    assert (
        data["verification"] == "not verified: attestations are switched off (repository variable ATTEST_IMAGES=false)"
    )
    assert "> **NOT VERIFIED.**" in out.with_suffix(".md").read_text()


def test_the_resolved_digest_is_what_runs_after_the_tag_moves(pushed):
    name, digest = pushed
    resolved = registry.resolve(registry.parse_reference(f"{name}:v1"))
    # Move the tag to another image (the bare base) after resolving.
    sh("docker", "tag", BASE, f"{name}:v1")
    sh("docker", "push", "-q", f"{name}:v1")
    assert registry.resolve(registry.parse_reference(f"{name}:v1")).digest != digest
    sh("docker", "pull", "-q", resolved.pinned)
    run = dk.run_hardened(resolved.pinned, ["2", "3"], timeout=60)
    assert (run.exit_code, run.stdout) == (0, "5\n")


def test_container_is_not_root_and_read_only(pushed):
    name, digest = pushed
    sh("docker", "pull", "-q", f"{name}@{digest}")
    user = sh("docker", "run", "--rm", "--network", "none", "--entrypoint", "id", f"{name}@{digest}", "-u")
    assert user.strip() != "0"
    write = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "--read-only",
            "--entrypoint",
            "touch",
            f"{name}@{digest}",
            "/x",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert write.returncode != 0
    assert "Read-only file system" in write.stderr


def test_failures_are_reported_with_exit_1(pushed, tmp_path, capsys):
    name, _ = pushed
    out = tmp_path / "cd.json"
    assert main(["deploy", "--image", f"{name}:missing", "--no-verify", "--output", str(out)]) == 1
    assert "does not exist" in json.loads(out.read_text())["steps"][-1]["detail"]
    assert main(["deploy", "--image", "not a ref", "--no-verify", "--output", str(out)]) == 1
    assert main(["deploy", "--image", "127.0.0.1:9/x:y", "--no-verify", "--output", str(out)]) == 1
    assert "cannot reach the registry" in capsys.readouterr().err


SHA = "e" * 40


@pytest.fixture
def cd_env(pushed, fake_github, monkeypatch, tmp_path):
    """CD's environment for the pushed image, tagged as CI tags PR 8's (pr-8-sha-<SHA>) in the local registry."""
    name, digest = pushed
    repository = name.split("/", 1)[1]
    sh("docker", "pull", "-q", f"{name}@{digest}")
    sh("docker", "tag", f"{name}@{digest}", f"{name}:pr-8-sha-{SHA}")
    sh("docker", "push", "-q", f"{name}:pr-8-sha-{SHA}")
    for key, value in {
        "GITHUB_REPOSITORY": repository,
        "IMAGE_REGISTRY": REGISTRY,
        "HEAD_SHA": SHA,
        "RUN_ID": "31",
        "RUN_ATTEMPT": "1",
        "REPOSITORY_ID": "99",
        "ENVIRONMENT": "preview",
        "SIGSTORE_OFFLINE": "1",
    }.items():
        monkeypatch.setenv(key, value)
    service_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    fake_github.attestations[digest.split(":")[1]] = []
    return repository, digest


def test_cd_refuses_an_unattested_image_and_says_so_on_the_pr(cd_env, fake_github, monkeypatch, tmp_path, capsys):
    repository, _ = cd_env
    fake_github.pulls_by_commit[SHA] = [
        {
            "number": 8,
            "state": "open",
            "head": {"sha": SHA, "ref": "f", "repo": {"full_name": repository}},
            "base": {"ref": "main", "repo": {"full_name": repository}},
        }
    ]
    monkeypatch.setenv("TRIGGER", "pull_request")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    assert main(["cd-deploy"]) == 1
    report = json.loads((tmp_path / "reports" / "cd-report.json").read_text())
    assert report["verification"].startswith("failed: refused: no attestation exists")
    assert not any(step["name"].startswith("run") for step in report["steps"])
    assert fake_github.comments == {}  # the deploy job holds no write token: the comment job posts
    assert "pr=8\n" in (tmp_path / "output").read_text()
    monkeypatch.setenv("PR_NUMBER", "8")
    assert main(["cd-comment", "--report", str(tmp_path / "reports" / "cd-report.md")]) == 0
    (comment,) = fake_github.comments[8]
    assert "Deployment to `preview` failed" in comment["body"]
    assert "no attestation exists" in comment["body"]
    assert "deployment failed at verify" in capsys.readouterr().err


def test_build_push_and_sbom_through_the_ci_commands(pushed, tmp_path, monkeypatch, capsys):
    name, _ = pushed
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "name": f"{name}-ci",
                "references": [f"{name}-ci:main", f"{name}-ci:sha-{SHA}"],
                "sha": SHA,
                "push": True,
                "reason": "test",
            }
        )
    )
    image_json, sbom_json = tmp_path / "image.json", tmp_path / "sbom.json"
    assert main(["image-build", "--plan", str(plan), "--base", BASE, "--host-network", "--context", str(ROOT)]) == 0
    assert main(["image-push", "--plan", str(plan), "--output", str(image_json)]) == 0
    image = json.loads(image_json.read_text())
    assert image["digest"] == registry.resolve(registry.parse_reference(f"{name}-ci:main")).digest
    labels = json.loads(sh("docker", "image", "inspect", "--format", "{{json .Config.Labels}}", f"{name}-ci:main"))
    # What was built: the checked-out commit (a PR's merge commit), not the plan's sha- tag.
    head = sh("git", "-C", str(ROOT), "rev-parse", "HEAD").strip()
    assert labels["org.opencontainers.image.revision"] == head
    assert labels["org.opencontainers.image.created"] != "unknown"
    assert labels["org.opencontainers.image.licenses"] == "MIT"
    assert main(["sbom", "--image-json", str(image_json), "--output", str(sbom_json), "--insecure-registry"]) == 0
    components = json.loads(sbom_json.read_text())["components"]
    assert any(c.get("name") == "sample-app" for c in components)
    assert "components" in capsys.readouterr().out


def test_a_verified_deployment_records_the_signer(pushed):
    from pipeline import deploy  # noqa: PLC0415
    from pipeline.verify import Verified  # noqa: PLC0415

    name, digest = pushed
    seen = []

    def verified(d):
        seen.append(d)
        return Verified(
            "issuer",
            "https://github.com/o/r/.github/workflows/ci.yml@refs/heads/main",
            "repo",
            "1",
            "refs/heads/main",
            "abc",
            "https://github.com/o/r/actions/runs/1/attempts/1",
            "https://slsa.dev/provenance/v1",
            d,
        )

    result = deploy.deploy(f"{name}@{digest}", "production", verified, runs=profile.load(ROOT).runs)
    assert seen == [digest]
    assert result.ok
    assert result.verification == "verified"
    text = deploy.render(result, "https://github.com/o/r/actions/runs/2")
    assert "signer: `https://github.com/o/r/.github/workflows/ci.yml@refs/heads/main`" in text
    assert "Deployment to `production` succeeded" in text


def test_a_timeout_is_reported_and_fails(pushed, tmp_path, capsys):
    name, digest = pushed
    out = tmp_path / "cd.json"
    assert (
        main(["deploy", "--image", f"{name}@{digest}", "--no-verify", "--timeout", "0.05", "--output", str(out)]) == 1
    )
    steps = json.loads(out.read_text())["steps"]
    assert steps[-1]["detail"] == "timed out after 0.05s"
    assert "deployment failed at run" in capsys.readouterr().err
    name = steps[-1]["command"].split("--name ", 1)[1].split()[0]
    assert sh("docker", "ps", "--all", "--quiet", "--filter", f"name=^/{name}$").strip() == ""


# The local pipeline and the release dry run both write this commit's
# `local/sample-app:sha-<commit>`: one worker runs them, one after the other.
# Every other test here works under a repository name of its own.
@pytest.mark.xdist_group("local-sample-app")
def test_local_pipeline_end_to_end_with_a_stand_in_hatch(stand_in_hatch, monkeypatch, capsys, local_authority):
    """Every stage of `hatch run pipeline` but lint and the matrix, which the stand-in answers.

    The image is attested through the local Sigstore authority and the
    deployment verifies the bundle it finds next to the image in the registry.
    """
    from pipeline.local import run_local  # noqa: PLC0415

    reports = stand_in_hatch / "reports"
    (reports / "old").mkdir(parents=True)
    monkeypatch.setenv("FAKE_REPORTS", str(reports))
    monkeypatch.chdir(ROOT)  # the image is built from the working tree
    assert run_local(container=True, reports=reports) == 0
    out = capsys.readouterr().out
    stages = ("lint", "tests (matrix, gate)", "combined coverage", "wheel", "image", "push", "SBOM", "attest", "deploy")
    for stage in stages:
        assert f"| {stage} | ok |" in out
    assert f"| base {BASE} |" in out  # the image stage's note
    assert f"| 2 3 -> 5, 2 abc -> exit 2; verified against the local test authority at {local_authority.url}" in out
    cd_report = (reports / "cd-report.md").read_text()
    assert "Deployment to `local` succeeded" in cd_report
    assert "- verification: verified" in cd_report
    assert "NOT VERIFIED" not in cd_report
    assert "- signer: `https://github.com/local/sample-app/.github/workflows/ci.yml@refs/heads/" in cd_report
    assert "- issuer: `https://oidc.local-sigstore.invalid`" in cd_report  # the local root, said plainly
    assert (reports / "provenance.sigstore.json").is_file()
    assert (reports / "old").is_dir()  # folders are left alone; only stale files go
    ci_report = (reports / "ci-report.md").read_text()
    digest = json.loads((reports / "image.json").read_text())["digest"]
    assert f"docker pull {REGISTRY}/local/sample-app@{digest}" in ci_report
    assert "**SBOM**:" in ci_report
    assert "**Attestation**: `sha256:" in ci_report
    assert "Trivy runs on GitHub Actions only" in ci_report


def test_promotion_points_version_tags_at_the_digest_without_a_rebuild(pushed):
    name, digest = pushed
    pinned = registry.parse_reference(f"{name}@{digest}")
    tags = ("0.2.0", "0.2", "latest")
    assert registry.promote(pinned, tags) == dict.fromkeys(tags, "created")
    for tag in tags:
        assert registry.resolve(registry.parse_reference(f"{name}:{tag}")).digest == digest
    # A re-run of a finished release changes nothing.
    assert registry.promote(pinned, tags) == dict.fromkeys(tags, "unchanged")


def test_promotion_never_moves_a_version_tag_to_other_content(pushed):
    name, digest = pushed
    sh("docker", "tag", BASE, f"{name}:other")
    sh("docker", "push", "-q", f"{name}:other")
    other = registry.resolve(registry.parse_reference(f"{name}:other")).digest
    registry.promote(registry.parse_reference(f"{name}@{digest}"), ("0.3.0", "latest"))
    with pytest.raises(CheckFailed, match="already names"):
        registry.promote(registry.parse_reference(f"{name}@{other}"), ("0.3.0",))
    assert registry.promote(registry.parse_reference(f"{name}@{other}"), ("latest",)) == {"latest": "moved"}
    assert registry.resolve(registry.parse_reference(f"{name}:0.3.0")).digest == digest


@pytest.mark.xdist_group("local-sample-app")
def test_the_release_dry_run_releases_the_local_image_of_this_commit(
    pushed, tmp_path, capsys, monkeypatch, local_authority
):
    name, digest = pushed
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    local = f"{REGISTRY}/local/sample-app"
    sh("docker", "pull", "-q", f"{name}@{digest}")
    sh("docker", "tag", f"{name}@{digest}", f"{local}:local-sha-{head.strip()}")
    sh("docker", "push", "-q", f"{local}:local-sha-{head.strip()}")
    monkeypatch.chdir(ROOT)
    # A version of its own: the registry keeps the tags of earlier runs, and a
    # version tag is never moved to other content.
    minor, patch = uuid.uuid4().int % 1000, uuid.uuid4().int % 1000
    version = f"9.{minor}.{patch}"
    assert main(["release", version, "--dry-run", "--reports", str(tmp_path)]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "2 builds, byte-identical" in out
    assert "| attest | ok |" in out
    assert f"3 files signed as local/sample-app/.github/workflows/release.yml@refs/tags/v{version}" in out
    assert "| verify release | ok | " in out
    assets = {p.name for p in (tmp_path / "release-assets").iterdir()}
    assert assets == {
        f"sample_app-{version}.tar.gz",
        f"sample_app-{version}-py3-none-any.whl",
        "SHA256SUMS",
        "sample-app.cdx.json",
        "release.sigstore.json",
    }
    # What a user runs on the downloaded assets; a file no bundle covers is refused by name.
    verify_args = ["verify-release", f"v{version}", "--dir", str(tmp_path / "release-assets"), "--commit", head.strip()]
    assert main([*verify_args, "--repository", "local/sample-app"]) == 0
    (tmp_path / "release-assets" / "extra.txt").write_text("not released")
    assert main([*verify_args, "--repository", "local/sample-app"]) == 1
    assert "extra.txt (sha256:" in capsys.readouterr().err
    (tmp_path / "release-assets" / "extra.txt").unlink()
    other = "f" * 40 if head.strip() != "f" * 40 else "e" * 40
    assert main([*verify_args[:-1], other, "--repository", "local/sample-app"]) == 1
    assert f"got {head.strip()}, expected {other}" in capsys.readouterr().err  # the tag's commit, compared
    for tag in (version, f"9.{minor}", "latest"):
        assert registry.resolve(registry.parse_reference(f"{local}:{tag}")).digest == digest
    notes = (tmp_path / "release.md").read_text()
    assert f"`{local}@{digest}`" in notes
    assert {p.name for p in (tmp_path / "dist").iterdir()} >= {f"sample_app-{version}.tar.gz", "SHA256SUMS"}
    sbom = json.loads((tmp_path / "sbom" / "sample-app.cdx.json").read_text())
    assert [c["name"] for c in sbom["components"]] == ["sample-app"]


def test_verify_reads_the_bundles_attached_to_an_image_in_the_registry(pushed, capsys):
    # A real bundle (public test data) attached, as actions/attest pushes it, to
    # the digest it attests; the referrers tag schema, since this registry has no
    # referrers API. Then the same verification as from the API.
    from pipeline import referrers  # noqa: PLC0415

    name, _ = pushed
    vectors = ROOT / "tests" / "pipeline" / "data" / "sigstore"
    subject = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
    artifact = (vectors / "attestation-direct-workflow.artifact").read_bytes()
    # The subject need not be in the registry (a dangling referrer is valid OCI).
    assert len(artifact) == 109
    target = registry.parse_reference(f"{name}@{subject}")
    referrers.attach(target, (vectors / "attestation-direct-workflow.sigstore.json").read_bytes())
    found = referrers.find(target)
    assert len(found) == 1
    beacon = "sigstore-conformance/extremely-dangerous-public-oidc-beacon"
    args = ["verify", "--offline", "--digest", subject, "--from-registry", name, "--repository", beacon]
    args += ["--signer-workflow", ".github/workflows/extremely-dangerous-oidc-beacon.yml", "--ref", "refs/heads/main"]
    assert main(args) == 0, capsys.readouterr()
    assert main([*args[:-2], "--ref", "refs/heads/other"]) == 1


# -- every deployment is bound to its commit: two real builds and a re-tag ------------------
OLD_COMMIT, NEW_COMMIT = "0" * 39 + "1", "0" * 39 + "2"


@pytest.fixture
def two_commits(pushed, fake_github, local_authority, monkeypatch, tmp_path):
    """Images of two commits, each attested (through the local authority) for its own commit.

    The second build differs by its revision label, as CI's builds of two
    commits do; then the old digest is re-tagged ``sha-<new commit>``, as a
    tag-push by anyone holding ``packages: write`` could.
    """
    from pipeline import signing  # noqa: PLC0415
    from pipeline.trust import Trust  # noqa: PLC0415

    name, _ = pushed
    repository = name.split("/", 1)[1]
    digests = {}
    for run_id, commit in (("31", OLD_COMMIT), ("32", NEW_COMMIT)):
        tag = f"{name}:build-{commit[-1]}"
        label = f"org.opencontainers.image.revision={commit}"
        sh("docker", "build", "-q", "--network", "host", "--build-arg", f"BASE_IMAGE={BASE}", "--label", label,
           "-t", tag, str(ROOT))  # fmt: skip
        sh("docker", "push", "-q", tag)
        digests[commit] = registry.resolve(registry.parse_reference(tag)).digest
        run = signing.Workflow(
            repository=repository, ref="refs/heads/main", sha=commit, run_id=run_id, repository_id="99"
        )
        document = signing.provenance([(name, digests[commit])], run)
        bundle = signing.sign(document, Trust(local_url=local_authority.url), run)
        fake_github.attestations[digests[commit].split(":")[1]] = [{"bundle": json.loads(bundle)}]
    assert digests[OLD_COMMIT] != digests[NEW_COMMIT]
    sh("docker", "tag", f"{name}:build-1", f"{name}:sha-{NEW_COMMIT}")  # the re-tag
    sh("docker", "push", "-q", f"{name}:sha-{NEW_COMMIT}")
    for key, value in {
        "GITHUB_REPOSITORY": repository,
        "IMAGE_REGISTRY": REGISTRY,
        "GITHUB_REF": "refs/heads/main",
    }.items():
        monkeypatch.setenv(key, value)
    service_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    return name, digests


def test_an_older_image_re_tagged_as_a_newer_commit_is_refused_naming_both(two_commits, tmp_path, capsys):
    _, digests = two_commits
    out = tmp_path / "cd.json"
    assert main(["deploy", "--sha", NEW_COMMIT, "--repository-id", "99", "--output", str(out)]) == 1
    report = json.loads(out.read_text())
    assert report["digest"] == digests[OLD_COMMIT]  # what sha-<new> names now
    assert report["verification"].startswith("failed: refused: ")
    assert (
        f"source commit does not match (OIDCSourceRepositoryDigest): got {OLD_COMMIT}, expected {NEW_COMMIT}"
        in (report["verification"])
    )
    assert not any(step["name"].startswith("run") for step in report["steps"])  # nothing of it ran
    assert "deployment failed at verify" in capsys.readouterr().err
    # verify by digest says the same, and the honest image verifies for its own commit.
    verify_args = ["verify", "--repository-id", "99", "--json"]
    assert main([*verify_args, "--digest", digests[OLD_COMMIT], "--commit", NEW_COMMIT]) == 1
    assert f"got {OLD_COMMIT}, expected {NEW_COMMIT}" in capsys.readouterr().err
    assert main([*verify_args, "--digest", digests[NEW_COMMIT], "--commit", NEW_COMMIT]) == 0
    assert json.loads(capsys.readouterr().out)["commit"] == NEW_COMMIT


def test_cd_refuses_the_re_tagged_image_and_deploys_the_honest_one(two_commits, monkeypatch, tmp_path, capsys):
    name, digests = two_commits
    for key, value in {
        "TRIGGER": "push",
        "REF": "refs/heads/main",
        "HEAD_SHA": NEW_COMMIT,
        "RUN_ID": "32",
        "REPOSITORY_ID": "99",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ENVIRONMENT", "production")
    assert main(["cd-deploy"]) == 1
    report = json.loads((tmp_path / "reports" / "cd-report.json").read_text())
    assert f"got {OLD_COMMIT}, expected {NEW_COMMIT}" in report["verification"]
    capsys.readouterr()
    # Put the tag back on the commit's own image: the same job deploys it, verified.
    sh("docker", "tag", f"{name}:build-2", f"{name}:sha-{NEW_COMMIT}")
    sh("docker", "push", "-q", f"{name}:sha-{NEW_COMMIT}")
    assert main(["cd-deploy"]) == 0, capsys.readouterr()
    report = json.loads((tmp_path / "reports" / "cd-report.json").read_text())
    assert report["digest"] == digests[NEW_COMMIT]
    assert report["verification"] == "verified"
    assert report["verified"]["commit"] == NEW_COMMIT


BASE_COMMIT, MERGE_COMMIT = "0" * 39 + "3", "0" * 39 + "4"


def _pr_attested(two_commits, fake_github, local_authority, merge_parents):
    """The newer image as a PR run would attest it: ``refs/pull/7/merge`` at a merge commit."""
    from pipeline import signing  # noqa: PLC0415
    from pipeline.trust import Trust  # noqa: PLC0415

    name, digests = two_commits
    repository = name.split("/", 1)[1]
    sh("docker", "tag", f"{name}:build-2", f"{name}:pr-7-sha-{NEW_COMMIT}")
    sh("docker", "push", "-q", f"{name}:pr-7-sha-{NEW_COMMIT}")
    run = signing.Workflow(
        repository=repository, ref="refs/pull/7/merge", sha=MERGE_COMMIT, run_id="33", repository_id="99"
    )
    bundle = signing.sign(
        signing.provenance([(name, digests[NEW_COMMIT])], run), Trust(local_url=local_authority.url), run
    )
    fake_github.attestations[digests[NEW_COMMIT].split(":")[1]] = [{"bundle": json.loads(bundle)}]
    fake_github.commits[MERGE_COMMIT] = {"sha": MERGE_COMMIT, "parents": [{"sha": p} for p in merge_parents]}
    head = {"sha": NEW_COMMIT, "ref": "feature", "repo": {"full_name": repository}}
    fake_github.pulls_by_commit[NEW_COMMIT] = [
        {"number": 7, "state": "open", "head": head, "base": {"ref": "main", "repo": {"full_name": repository}}}
    ]
    return digests


@pytest.mark.parametrize(
    ("parents", "deployed"),
    [
        ([BASE_COMMIT, NEW_COMMIT], True),  # GitHub's merge commit of the head
        ([BASE_COMMIT, OLD_COMMIT], False),  # a merge of another head
        ([NEW_COMMIT], False),  # a commit after the head, not its merge
    ],
)
def test_a_pr_image_is_bound_to_its_head_through_the_merge_commit(
    two_commits, fake_github, local_authority, monkeypatch, tmp_path, capsys, parents, deployed
):
    digests = _pr_attested(two_commits, fake_github, local_authority, parents)
    env = {"TRIGGER": "pull_request", "HEAD_SHA": NEW_COMMIT, "RUN_ID": "33", "REPOSITORY_ID": "99"}
    for key, value in {**env, "ENVIRONMENT": "preview", "GITHUB_TOKEN": "t"}.items():
        monkeypatch.setenv(key, value)
    status = main(["cd-deploy"])
    report = json.loads((tmp_path / "reports" / "cd-report.json").read_text())
    assert report["digest"] == digests[NEW_COMMIT]
    if deployed:
        assert status == 0, capsys.readouterr()
        assert report["verification"] == "verified"
        assert report["verified"]["commit"] == MERGE_COMMIT
    else:
        assert status == 1
        assert (
            f"the certificate's commit {MERGE_COMMIT} is neither the PR's head {NEW_COMMIT}" in (report["verification"])
        )
        assert not any(step["name"].startswith("run") for step in report["steps"])
