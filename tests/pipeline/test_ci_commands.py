"""The commands the CI workflow calls, as the workflow calls them (env + files)."""

import json
import os

import pytest
from coverage import CoverageData

from pipeline.cli import main
from projects import service_project

SHA = "c" * 40


@pytest.fixture
def actions_env(tmp_path, monkeypatch, fake_github):
    """A pull_request run of octo/app with outputs and summary files."""
    out, summary = tmp_path / "output", tmp_path / "summary"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    service_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def pr_event(tmp_path, monkeypatch, head_repo="octo/app", user="me"):
    path = tmp_path / "event.json"
    path.write_text(
        json.dumps(
            {
                "pull_request": {
                    "number": 7,
                    "user": {"login": user},
                    "head": {"ref": "Feat/X", "sha": SHA, "repo": {"full_name": head_repo}},
                }
            }
        )
    )
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")


def test_image_tags_plans_a_fork_pr_without_push(actions_env, monkeypatch, capsys):
    pr_event(actions_env, monkeypatch, head_repo="fork/app")
    monkeypatch.setenv("GITHUB_REPOSITORY", "Octo/App")
    assert main(["image-tags"]) == 0
    outputs = (actions_env / "output").read_text()
    assert "name=ghcr.io/octo/app\n" in outputs
    assert "push=false" in outputs
    assert f"\nghcr.io/octo/app:pr-7\nghcr.io/octo/app:pr-7-sha-{SHA}\n" in outputs
    plan = json.loads((actions_env / "reports" / "image-plan.json").read_text())
    assert plan["references"][-1] == f"ghcr.io/octo/app:pr-7-sha-{SHA}"
    assert "not pushed (pull request from a fork" in (actions_env / "summary").read_text()


def test_image_push_without_permission_records_why(actions_env, monkeypatch):
    pr_event(actions_env, monkeypatch, user="dependabot[bot]")
    assert main(["image-tags"]) == 0
    assert main(["image-push"]) == 0
    image = json.loads((actions_env / "reports" / "image.json").read_text())
    assert image == {
        "name": "ghcr.io/octo/app",
        "tags": ["pr-7", f"pr-7-sha-{SHA}"],
        "digest": "",
        "pushed": False,
        "reason": "Dependabot pull request: built and tested, not pushed",
    }
    assert "pushed=false" in (actions_env / "output").read_text()


def test_malformed_event_and_plan_are_usage_errors(actions_env, monkeypatch, capsys):
    (actions_env / "event.json").write_text(json.dumps({"pull_request": {"number": "x"}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(actions_env / "event.json"))
    assert main(["image-tags"]) == 2
    (actions_env / "plan.json").write_text("[]")
    assert main(["image-push", "--plan", str(actions_env / "plan.json")]) == 2
    (actions_env / "plan.json").write_text('{"references": []}')
    assert main(["image-build", "--plan", str(actions_env / "plan.json")]) == 2
    assert main(["sbom", "--image-json", str(actions_env / "missing.json")]) == 2
    (actions_env / "image.json").write_text('{"name": "x", "pushed": false, "tags": []}')
    assert main(["sbom", "--image-json", str(actions_env / "image.json")]) == 2
    err = capsys.readouterr().err
    assert "lacks head.ref" in err
    assert "has no image references" in err
    assert "names no tag" in err


def test_the_report_records_the_attest_jobs_outputs(actions_env, monkeypatch, fake_github, capsys):
    monkeypatch.setenv("ATTESTATION_ID", "123")
    monkeypatch.setenv("ATTESTATION_URL", "https://github.com/octo/app/attestations/123")
    assert main(["ci-report"]) == 0
    data = json.loads((actions_env / "reports" / "attestation.json").read_text())
    assert data == {"id": "123", "url": "https://github.com/octo/app/attestations/123"}
    monkeypatch.setenv("ATTESTATION_ID", "12; x")
    assert main(["ci-report"]) == 2
    monkeypatch.setenv("ATTESTATION_ID", "1")
    monkeypatch.setenv("ATTESTATION_URL", "javascript:alert(1)")
    assert main(["ci-report"]) == 2


def test_ci_report_comments_on_same_repository_prs(actions_env, monkeypatch, fake_github, capsys):
    fake_github.artifacts = [{"id": 5, "name": "reports-3.12"}, {"id": 6, "name": "image"}, {"id": 7, "name": "trivy"}]
    monkeypatch.setenv("PR_NUMBER", "7")
    monkeypatch.setenv("HEAD_REPOSITORY", "octo/app")
    monkeypatch.setenv("HEAD_SHA", SHA)
    monkeypatch.setenv("ATTESTATION_ID", "42")
    monkeypatch.setenv("ATTESTATION_URL", "https://github.com/octo/app/attestations/42")
    assert main(["ci-report"]) == 0
    (comment,) = fake_github.comments[7]
    assert "[trivy](https://github.com/octo/app/actions/runs/77/artifacts/7)" in comment["body"]
    assert "**Attestation**: `42`" in comment["body"]
    assert comment["body"] in (actions_env / "summary").read_text()
    assert main(["ci-report"]) == 0
    assert len(fake_github.comments[7]) == 1


def test_ci_report_on_a_fork_pr_gives_summary_and_notice(actions_env, monkeypatch, fake_github, capsys):
    monkeypatch.setenv("PR_NUMBER", "7")
    monkeypatch.setenv("HEAD_REPOSITORY", "fork/app")
    assert main(["ci-report"]) == 0
    assert "::notice::pull request from a fork" in capsys.readouterr().out
    assert fake_github.comments == {}
    assert "CI failed" in (actions_env / "summary").read_text()
    monkeypatch.setenv("PR_NUMBER", "7x")
    assert main(["ci-report"]) == 2


def test_ci_report_on_a_dependabot_pr_gives_summary_and_notice(actions_env, monkeypatch, fake_github, capsys):
    monkeypatch.setenv("PR_NUMBER", "10")
    monkeypatch.setenv("HEAD_REPOSITORY", "octo/app")
    monkeypatch.setenv("PR_AUTHOR", "dependabot[bot]")
    assert main(["ci-report"]) == 0
    assert "::notice::Dependabot pull request" in capsys.readouterr().out
    assert fake_github.comments == {}
    assert "CI failed" in (actions_env / "summary").read_text()


def test_ci_report_survives_an_artifact_listing_error(actions_env, fake_github, capsys):
    fake_github.faults = [(404, {})]
    assert main(["ci-report"]) == 0
    assert "::warning::artifact links unavailable" in capsys.readouterr().out


def test_cd_deploy_refuses_bad_triggers_and_missing_prs(actions_env, monkeypatch, fake_github, capsys):
    monkeypatch.setenv("HEAD_SHA", SHA)
    monkeypatch.setenv("TRIGGER", "schedule")
    assert main(["cd-deploy"]) == 2
    monkeypatch.setenv("TRIGGER", "pull_request")
    assert main(["cd-deploy"]) == 1
    assert "no open pull request has head" in capsys.readouterr().err
    monkeypatch.setenv("HEAD_SHA", "nope")
    assert main(["cd-deploy"]) == 2


def test_image_tags_for_a_same_repository_pr_push(actions_env, monkeypatch):
    pr_event(actions_env, monkeypatch)
    assert main(["image-tags"]) == 0
    assert "push=true" in (actions_env / "output").read_text()
    assert not (actions_env / "summary").exists()


def test_sbom_of_an_image_that_was_not_pushed(actions_env, monkeypatch, capsys):
    bin_dir = actions_env / "bin"
    bin_dir.mkdir()
    syft = bin_dir / "syft"
    syft.write_text(
        '#!/bin/sh\necho "$3" > "$5.source"\nfor a; do last="$a"; done\n'
        'echo \'{"components": [{}, {}]}\' > "${last#cyclonedx-json=}"\n'
    )
    syft.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    (actions_env / "image.json").write_text(json.dumps({"name": "ghcr.io/o/r", "tags": ["pr-7"], "pushed": False}))
    assert main(["sbom", "--image-json", str(actions_env / "image.json"), "--output", str(actions_env / "s.json")]) == 0
    assert "SBOM of docker:ghcr.io/o/r:pr-7: 2 components" in capsys.readouterr().out


def test_ci_report_never_combines_data_measured_on_other_sources(actions_env, fake_github, capsys):
    # The report job runs the base branch's code; a PR's data names a module the
    # base does not have. Combining there crashed (NoSource); the coverage job does it.
    from coverage import CoverageData  # noqa: PLC0415

    reports = actions_env / "reports"
    reports.mkdir()
    data = CoverageData(basename=str(reports / ".coverage.3.12"))
    data.add_lines({str(actions_env / "src" / "new_module.py"): [1]})
    data.write()
    assert main(["ci-report"]) == 0
    assert "combined" not in capsys.readouterr().out
    assert not (reports / "coverage.xml").exists()


def test_cd_deploy_for_main_reports_an_unreachable_registry(actions_env, monkeypatch, capsys):
    for key, value in {
        "HEAD_SHA": SHA,
        "TRIGGER": "push",
        "REF": "refs/heads/main",
        "IMAGE_REGISTRY": "127.0.0.1:9",
        "RUN_ID": "5",
        "ENVIRONMENT": "production",
        "SIGSTORE_OFFLINE": "1",
    }.items():
        monkeypatch.setenv(key, value)
    assert main(["cd-deploy"]) == 1
    report = json.loads((actions_env / "reports" / "cd-report.json").read_text())
    assert report["environment"] == "production"
    assert report["image"] == f"127.0.0.1:9/octo/app:sha-{SHA}"
    assert "cannot reach the registry" in capsys.readouterr().err


def test_ci_report_tells_how_to_verify_the_pushed_image(actions_env, fake_github):
    reports = actions_env / "reports"
    reports.mkdir()
    digest = "sha256:" + "d" * 64
    (reports / "image.json").write_text(
        json.dumps({"name": "ghcr.io/octo/app", "tags": ["main"], "digest": digest, "pushed": True})
    )
    assert main(["ci-report"]) == 0
    text = (reports / "ci-report.md").read_text()
    assert (
        f"gh attestation verify oci://ghcr.io/octo/app@{digest} --repo octo/app "
        "--signer-workflow octo/app/.github/workflows/ci.yml"
    ) in text


def test_report_outside_a_repository_suggests_the_helper_to_verify(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    (tmp_path / "image.json").write_text(
        json.dumps({"name": "r/o/a", "tags": ["t"], "digest": "sha256:" + "e" * 64, "pushed": True})
    )
    assert main(["report", "--reports", str(tmp_path), "--output", str(tmp_path / "r.md")]) == 0
    assert "hatch run ci verify --digest sha256:" in (tmp_path / "r.md").read_text()


def test_cd_comment_posts_the_report_or_says_there_is_none(actions_env, monkeypatch, fake_github, capsys):
    from pipeline.deploy import CD_MARKER  # noqa: PLC0415

    report = actions_env / "cd-report.md"
    monkeypatch.setenv("PR_NUMBER", "8")
    assert main(["cd-comment", "--report", str(report)]) == 0
    (comment,) = fake_github.comments[8]
    assert "Deployment failed before it could report" in comment["body"]
    assert "[run](https://github.com/octo/app/actions/runs/77)" in comment["body"]
    report.write_text(f"{CD_MARKER}\n## :rocket: Deployment to `preview` succeeded\n")
    assert main(["cd-comment", "--report", str(report)]) == 0
    assert [c["body"] for c in fake_github.comments[8]] == [report.read_text()]
    report.write_text("not ours")
    assert main(["cd-comment", "--report", str(report)]) == 2
    monkeypatch.setenv("PR_NUMBER", "")
    assert main(["cd-comment", "--report", str(report)]) == 2
    assert "not a CD report" in capsys.readouterr().err


def test_a_private_repository_stops_before_the_image_with_one_message(actions_env, monkeypatch, capsys):
    path = actions_env / "event.json"
    path.write_text(json.dumps({"repository": {"full_name": "octo/app", "private": True}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    monkeypatch.setenv("GITHUB_REF", "refs/heads/main")
    monkeypatch.setenv("GITHUB_SHA", SHA)
    assert main(["image-tags"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "private" in err
    assert "ATTEST_IMAGES=false" in err
    monkeypatch.setenv("ATTEST_IMAGES", "false")
    assert main(["image-tags"]) == 0


def test_image_tags_go_to_the_registry_the_environment_names(actions_env, monkeypatch):
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    monkeypatch.setenv("GITHUB_REF", "refs/heads/main")
    monkeypatch.setenv("GITHUB_SHA", SHA)
    monkeypatch.setenv("IMAGE_REGISTRY", "127.0.0.1:5000")
    assert main(["image-tags"]) == 0
    plan = json.loads((actions_env / "reports" / "image-plan.json").read_text())
    assert plan["name"] == "127.0.0.1:5000/octo/app"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("IMAGE_REGISTRY", "ghcr.io/evil path"), ("IMAGE_BUILD_NETWORK", "bridge; rm"), ("ATTEST_IMAGES", "maybe")],
)
def test_bad_settings_are_usage_errors(actions_env, monkeypatch, capsys, variable, value):
    monkeypatch.setenv(variable, value)
    assert main(["image-tags"]) == 2
    assert variable in capsys.readouterr().err


@pytest.mark.parametrize(
    ("needs", "status", "line"),
    [
        ({"lint": {"result": "success"}, "attest": {"result": "skipped"}}, 0, "attest: skipped (ok)"),
        ({"lint": {"result": "success"}, "scan": {"result": "failure"}}, 0, "scan: failure (informational"),
        ({"lint": {"result": "failure"}}, 1, "lint: failure (BLOCKS)"),
        ({"image": {"result": "skipped"}}, 1, "image: skipped (BLOCKS)"),
        ({"report": {"result": "cancelled"}}, 1, "report: cancelled (BLOCKS)"),
        ({"attest": {"result": "failure"}}, 1, "attest: failure (BLOCKS)"),
        ({"lint": "junk"}, 1, "lint: unknown (BLOCKS)"),
    ],
)
def test_all_green_judges_every_job(monkeypatch, capsys, needs, status, line):
    monkeypatch.setenv("NEEDS", json.dumps(needs))
    assert main(["all-green"]) == status
    assert line in capsys.readouterr().out


@pytest.mark.parametrize("value", ["", "[]", "{}", "not json"])
def test_all_green_refuses_a_missing_needs(monkeypatch, capsys, value):
    monkeypatch.setenv("NEEDS", value)
    assert main(["all-green"]) == 2
    assert "NEEDS" in capsys.readouterr().err


def test_combine_coverage(tmp_path, capsys):
    assert main(["combine-coverage", str(tmp_path)]) == 2
    (tmp_path / "app.py").write_text("a = 1\nb = 2\n")
    for python, lines in (("3.10", [1]), ("3.13", [2])):
        data = CoverageData(basename=str(tmp_path / f".coverage.{python}"))
        data.add_lines({str(tmp_path / "app.py"): lines})
        data.write()
    assert main(["combine-coverage", str(tmp_path)]) == 0
    assert "combined 2 data files: total 100.00%" in capsys.readouterr().out
    assert (tmp_path / "coverage.xml").exists()
