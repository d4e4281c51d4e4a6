"""The workflow checklist items that can be checked by reading the YAML."""

import copy
import functools
import re
import sys
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the 3.10 cell of the matrix
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = {name: ROOT / ".github" / "workflows" / name for name in ("ci.yml", "cd.yml", "release.yml")}
PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# The one step that is not `hatch run`: installing hatch itself, hash-pinned.
# --break-system-packages: the runner's own python3 is marked externally managed.
INSTALL_HATCH = (
    "python3 -m pip install --user --break-system-packages --require-hashes -r .github/hatch-requirements.txt"
)


@functools.cache
def _parse(name):
    # PyYAML reads the key `on` as True; map it back.
    data = yaml.load(WORKFLOWS[name].read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    data["on"] = data.pop(True, data.get("on"))
    return data


def load(name):
    """A fresh copy each time: tests may not see each other's changes."""
    return copy.deepcopy(_parse(name))


def text(name):
    return WORKFLOWS[name].read_text()


def steps(name):
    for job_id, job in load(name)["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


@pytest.mark.parametrize("name", WORKFLOWS)
def test_top_level_permissions_are_empty(name):
    assert load(name)["permissions"] == {}


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_grant_beyond_contents_read_has_a_reason(name):
    lines = text(name).splitlines()
    for job_id, job in load(name)["jobs"].items():
        for scope, level in job.get("permissions", {}).items():
            if (scope, level) == ("contents", "read"):
                continue
            line = next(line for line in lines if re.match(rf"\s+{scope}: {level}\b", line))
            assert "#" in line, f"{name}:{job_id} grants {scope}: {level} without a reason"


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_job_is_named_timed_and_on_a_pinned_runner(name):
    for job_id, job in load(name)["jobs"].items():
        assert job.get("name"), job_id
        assert isinstance(job.get("timeout-minutes"), int), job_id
        assert job["runs-on"] == "ubuntu-24.04", job_id


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_action_is_pinned_to_a_commit_with_a_version_comment(name):
    for line in text(name).splitlines():
        if "uses:" in line:
            ref = line.split("uses:", 1)[1].split("#")[0].strip()
            assert PIN.match(ref), line
            assert re.search(r"# v\d+\.\d+\.\d+$", line), line


@pytest.mark.parametrize("name", WORKFLOWS)
def test_no_expression_inside_run_and_every_run_is_hatch(name):
    for job_id, step in steps(name):
        run = step.get("run")
        if run is None:
            continue
        assert "${{" not in run, f"{name}:{job_id}: expression inside run"
        assert run.startswith(("hatch run ", INSTALL_HATCH)), run


@pytest.mark.parametrize("name", WORKFLOWS)
def test_hatch_is_installed_by_the_runners_python_before_any_setup_python(name):
    # After setup-python, `python3` is the cell's interpreter: hatch would be
    # downloaded and installed again into each cell (10-40 s a cell under act).
    for job_id, job in load(name)["jobs"].items():
        names = [s.get("run", s.get("uses", "")) for s in job.get("steps", [])]
        setups = [i for i, n in enumerate(names) if n.startswith("actions/setup-python@")]
        if setups and INSTALL_HATCH in names:
            assert names.index(INSTALL_HATCH) < setups[0], f"{name}:{job_id}"


@pytest.mark.parametrize("name", WORKFLOWS)
def test_checkouts_never_persist_credentials(name):
    for _, step in steps(name):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("name", ["ci.yml", "cd.yml"])
def test_concurrency_cancels_superseded_prs_only(name):
    concurrency = load(name)["concurrency"]
    assert concurrency["group"]
    assert "pull_request" in concurrency["cancel-in-progress"]


def test_a_release_is_never_cancelled_half_way():
    concurrency = load("release.yml")["concurrency"]
    assert concurrency == {"group": "release-${{ github.ref }}", "cancel-in-progress": False}


def test_release_runs_only_for_version_tags_and_checks_before_any_write():
    release = load("release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    jobs = release["jobs"]
    writers = {"attest", "promote", "publish", "pypi"}
    for name in writers:
        needs = jobs[name]["needs"]
        needs = [needs] if isinstance(needs, str) else needs
        assert "check" in needs or any("check" in (jobs[n].get("needs") or []) for n in needs), name
    assert jobs["check"]["permissions"] == {"contents": "read", "packages": "read", "attestations": "read"}
    assert all(s.get("uses", "").split("@")[0] != "actions/checkout" for s in jobs["attest"]["steps"])
    assert set(jobs["attest"]["permissions"]) == {"id-token", "attestations"}
    assert jobs["pypi"]["environment"] == "pypi"
    assert "vars.PUBLISH_TO_PYPI == 'true'" in jobs["pypi"]["if"]
    assert jobs["publish"]["permissions"] == {"contents": "write"}


def test_no_pull_request_target_and_workflow_run_only_in_cd():
    assert "pull_request_target" not in text("ci.yml") + text("cd.yml")
    assert set(load("ci.yml")["on"]) == {"push", "pull_request", "workflow_dispatch"}
    assert set(load("cd.yml")["on"]) == {"workflow_run"}
    assert text("cd.yml").count("zizmor: ignore") == 1
    assert "zizmor: ignore" not in text("ci.yml")


def test_test_matrix_comes_from_the_plan_job():
    ci = load("ci.yml")
    assert ci["jobs"]["test"]["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert ci["jobs"]["test"]["strategy"]["fail-fast"] is False
    assert not re.search(r"3\.1[0-3]", text("ci.yml")), "a Python version is written in the workflow"


def test_attest_job_checks_out_nothing_and_holds_the_signing_grants():
    ci = load("ci.yml")
    for job_id, job in ci["jobs"].items():
        grants = job.get("permissions", {})
        if job_id == "attest":
            assert grants["id-token"] == "write"
            assert grants["attestations"] == "write"
            assert not any(s.get("uses", "").startswith("actions/checkout@") for s in job["steps"])
            assert not any("run" in s for s in job["steps"])
        else:
            assert "id-token" not in grants
            assert "attestations" not in grants or grants["attestations"] == "read"


def test_publishing_jobs_use_no_cache():
    ci = load("ci.yml")
    for job_id in ("image", "attest"):
        for step in ci["jobs"][job_id]["steps"]:
            assert not step.get("uses", "").startswith("actions/cache@")


def test_coverage_upload_includes_hidden_files():
    ci = load("ci.yml")
    for _, step in steps("ci.yml"):
        if step.get("uses", "").startswith("actions/upload-artifact@"):
            # Only the informational scan may have nothing to keep.
            informational = step["with"]["name"] == "trivy"
            assert step["with"]["if-no-files-found"] == ("warn" if informational else "error")
            assert step["with"]["retention-days"]
            if ".coverage" in step["with"]["path"]:
                assert step["with"]["include-hidden-files"] is True
    assert ci["jobs"]["test"]["steps"][-1]["with"]["name"] == "reports-${{ matrix.python }}"


def test_cd_guard_conditions():
    guard = load("cd.yml")["jobs"]["guard"]["if"]
    for needle in (
        "conclusion == 'success'",
        "event == 'pull_request'",
        "event == 'push'",
        "head_repository.full_name == github.repository",
        "startsWith(github.event.workflow_run.path, '.github/workflows/ci.yml')",
    ):
        assert needle in guard


def test_cd_never_checks_out_or_downloads_from_the_triggering_run():
    """CD runs its helpers from the default branch's commit (github.sha of a workflow_run), never the PR's."""
    for _, step in steps("cd.yml"):
        uses = step.get("uses", "")
        if uses.startswith("actions/checkout@"):
            # No `repository:` (a fork), no other ref, no extra inputs.
            assert step["with"] == {"persist-credentials": False, "ref": "${{ github.sha }}"}
        if uses.startswith("actions/download-artifact@"):
            # Only this workflow's own artifact, as data, outside the workspace.
            assert "run-id" not in step["with"]
            assert "github-token" not in step["with"]
            assert step["with"]["path"].startswith("${{ runner.temp }}")
    assert "head_sha" not in text("cd.yml")  # the SHA reaches steps only through the guard's validation
    assert "GITHUB_ENV" not in text("cd.yml")
    assert "GITHUB_PATH" not in text("cd.yml")


def test_the_job_that_runs_the_image_holds_no_write_token():
    jobs = load("cd.yml")["jobs"]
    assert all(level != "write" for level in jobs["deploy"]["permissions"].values())
    assert jobs["comment"]["permissions"]["pull-requests"] == "write"
    assert not any("docker" in step.get("uses", "") for step in jobs["comment"]["steps"])


def test_job_level_env_uses_only_contexts_available_there():
    for name in WORKFLOWS:
        for job_id, job in load(name)["jobs"].items():
            for value in job.get("env", {}).values():
                assert "runner." not in str(value), f"{name}:{job_id}: runner context in job env"


def test_cd_deploys_to_an_environment():
    assert load("cd.yml")["jobs"]["deploy"]["environment"] == "${{ needs.guard.outputs.environment }}"


def test_every_hatch_script_named_in_the_workflows_exists():
    hatch = tomllib.loads((ROOT / "hatch.toml").read_text())
    scripts = set(hatch["envs"]["default"]["scripts"])
    test_scripts = set(hatch["envs"]["test"]["scripts"])
    from pipeline.cli import build_parser  # noqa: PLC0415

    commands = set(build_parser()._subparsers._group_actions[0].choices)
    for name in WORKFLOWS:
        for _, step in steps(name):
            run = step.get("run", "")
            if not run.startswith("hatch run "):
                continue
            words = run.split()
            target = words[3] if words[2].startswith('"+py=') else words[2]
            env, _, script = target.rpartition(":")
            if env == "test":
                assert script in test_scripts, run
                continue
            assert script in scripts, run
            if script == "ci":
                assert words[3] in commands, run


def test_dependabot_covers_actions_pip_and_docker_with_cooldown():
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    ecosystems = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(ecosystems) == {"github-actions", "pip", "docker"}
    for update in ecosystems.values():
        assert update["cooldown"]["default-days"] >= 7
        assert update["groups"]


def test_dockerfile_base_is_pinned_by_digest():
    first = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("ARG BASE_IMAGE="))
    assert re.fullmatch(r"ARG BASE_IMAGE=python:3\.12-slim@sha256:[0-9a-f]{64}", first)


def test_no_job_or_step_runs_for_cancelled_runs():
    # always() also runs for a cancelled, superseded run; !cancelled() does not.
    for name in WORKFLOWS:
        assert "always()" not in text(name), name


def test_the_scan_is_informational_at_every_step():
    scan = load("ci.yml")["jobs"]["scan"]
    for step in scan["steps"]:
        uses = step.get("uses", "")
        if uses.startswith(("aquasecurity/", "github/codeql-action/")):
            assert step.get("continue-on-error") is True, step["name"]


def test_coverage_is_combined_on_the_measured_code_not_in_the_write_token_job():
    ci = load("ci.yml")
    coverage = ci["jobs"]["coverage"]
    assert coverage["permissions"] == {"contents": "read"}
    checkout = coverage["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert "ref" not in checkout["with"], "the coverage job must check out the code that was measured"
    assert any(s.get("run") == "hatch run cov-combine reports" for s in coverage["steps"])
    assert "coverage" in ci["jobs"]["report"]["needs"]
    assert "combine" not in text("ci.yml").split("  report:")[1].split("  all-green:")[0]


def test_jobs_with_a_write_token_run_only_the_locked_helpers():
    for name in WORKFLOWS:
        for job_name, job in load(name)["jobs"].items():
            grants = job.get("permissions", {})
            writes = [scope for scope, level in grants.items() if level == "write" and scope != "id-token"]
            runs = [s["run"] for s in job.get("steps", []) if "run" in s and s["run"] != INSTALL_HATCH]
            if writes:
                for run in runs:
                    assert run.startswith("hatch run helpers:ci "), f"{name}:{job_name} runs {run!r}"


def test_the_helpers_environment_is_locked_with_hashes():
    hatch = tomllib.loads((ROOT / "hatch.toml").read_text())["envs"]["helpers"]
    assert hatch["template"] == "helpers"
    assert hatch["skip-install"] is True
    assert hatch["dependencies"] == []
    assert "--require-hashes --no-deps -r .github/helpers-requirements.txt" in hatch["scripts"]["locked"]
    assert hatch["scripts"]["ci"][0] == "locked"


@pytest.mark.parametrize(
    ("group", "lock"),
    [("helpers", ".github/helpers-requirements.txt"), ("workflows", "tests/workflows/act-requirements.txt")],
)
def test_locked_tools_pin_and_hash_what_their_group_names(group, lock):
    lock = (ROOT / lock).read_text()
    pins = re.findall(r"^([a-z0-9-]+)==\S+ \\$", lock, re.MULTILINE)
    assert pins
    for block in lock.split("==")[1:]:
        assert "--hash=sha256:" in block
    group = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"][group]
    for requirement in group:
        name, version = requirement.split("==")
        assert f"{name}=={version} " in lock, f"{requirement} is not what the lock pins"


def test_all_green_needs_every_other_ci_job():
    ci = load("ci.yml")
    gate = ci["jobs"]["all-green"]
    assert set(gate["needs"]) == set(ci["jobs"]) - {"all-green"}
    assert gate["if"] == "${{ !cancelled() }}"
    assert gate["env"]["NEEDS"] == "${{ toJSON(needs) }}"


def test_attestations_use_the_maintained_action():
    used = [step.get("uses", "") for _, step in steps("ci.yml")]
    assert not [u for u in used if u.startswith(("actions/attest-sbom@", "actions/attest-build-provenance@"))]
    assert sum(u.startswith("actions/attest@") for u in used) == 2


def test_cd_passes_the_attestation_switch_to_the_deployment():
    deploy = load("cd.yml")["jobs"]["deploy"]
    assert deploy["env"]["ATTEST_IMAGES"] == "${{ vars.ATTEST_IMAGES }}"


def test_the_dockerfile_frontend_is_not_a_floating_tag():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.lower().startswith("# syntax="):
            assert "@sha256:" in line, line
