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


def test_ci_runs_on_every_branch_the_profile_deploys():
    # A deploy branch CI does not run on would never get an image to deploy.
    sys.path.insert(0, str(ROOT / "src"))
    from pipeline import profile  # noqa: PLC0415

    branches = set(profile.load(ROOT).deploy_branches)
    on = load("ci.yml")["on"]
    assert set(on["push"]["branches"]) == branches
    assert set(on["pull_request"]["branches"]) == branches


def test_every_commit_of_main_gets_its_own_ci_run():
    # GitHub keeps one pending run per concurrency group and cancels the older
    # pending one: with a group per branch, quick pushes to main skip commits,
    # which then have no image and can never be released.
    group = load("ci.yml")["concurrency"]["group"]
    assert "pull_request.number" in group
    # A push's group: its event, ref and commit (never the branch alone).
    assert "format('{0}-{1}-{2}', github.event_name, github.ref, github.sha)" in group


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


def trusted_output(name, job_name, job):
    """Whether others rely on what the job makes: it holds a write token, or it is CD or the release."""
    grants = job.get("permissions", {})
    return name != "ci.yml" or any(level == "write" for level in grants.values())


def test_every_job_whose_output_is_trusted_runs_only_the_locked_helpers():
    # CD's deploy and the release's check and build once ran the default
    # (unlocked) environment: every package there is resolved at run time.
    checked = 0
    for name in WORKFLOWS:
        for job_name, job in load(name)["jobs"].items():
            runs = [s["run"] for s in job.get("steps", []) if "run" in s and s["run"] != INSTALL_HATCH]
            if trusted_output(name, job_name, job):
                checked += 1
                for run in runs:
                    assert run.startswith("hatch run helpers:ci "), f"{name}:{job_name} runs {run!r}"
    assert checked >= 12


# The refs a job may check out when it must not run a pull request's code:
# the base branch's commit for a PR, the commit itself for a push to main.
TRUSTED_REFS = {"${{ github.event.pull_request.base.sha || github.sha }}"}


def pr_code_next_to_a_token(workflow):
    """Each job of a pull_request workflow that holds a write grant or id-token and runs the PR's code.

    A job runs the PR's code when it checks out the PR (a checkout without
    a trusted ``ref``), uses a local action (``uses: ./``), or has a ``run``
    step with no trusted checkout before it.
    """
    problems = []
    on = workflow["on"]
    if "pull_request" not in (on if isinstance(on, (dict, list)) else [on]):
        return problems
    for job_name, job in workflow["jobs"].items():
        grants = job.get("permissions", {})
        if not any(level == "write" for level in grants.values()):
            continue
        trusted_checkout = False
        for step in job.get("steps", []):
            uses = step.get("uses", "")
            if uses.startswith("./"):
                problems.append(f"{job_name}: uses the PR's local action {uses}")
            elif uses.startswith("actions/checkout@"):
                ref = (step.get("with") or {}).get("ref", "")
                if ref in TRUSTED_REFS:
                    trusted_checkout = True
                else:
                    problems.append(f"{job_name}: checks out {ref or 'the PR'} next to {sorted(grants)}")
            elif "run" in step and not trusted_checkout:
                problems.append(f"{job_name}: runs {step['run'][:40]!r} with no trusted checkout before it")
    return problems


@pytest.mark.parametrize("name", WORKFLOWS)
def test_no_job_with_a_write_token_or_an_oidc_token_runs_the_prs_code(name):
    assert pr_code_next_to_a_token(load(name)) == []


@pytest.mark.parametrize(
    ("job", "change", "found"),
    [
        ("image", lambda job: job["steps"][0]["with"].pop("ref"), "image: checks out the PR"),
        ("build", lambda job: job["permissions"].update(packages="write"), "build: checks out the PR"),
        ("attest", lambda job: job["steps"].insert(0, {"run": "hatch run helpers:ci x"}), "attest: runs"),
        ("report", lambda job: job["steps"].insert(0, {"uses": "./.github/actions/x"}), "report: uses the PR's"),
        (
            "scan",
            lambda job: (
                job["permissions"].update({"id-token": "write"})
                or job["steps"].insert(
                    0, {"uses": "actions/checkout@" + "0" * 40, "with": {"persist-credentials": False}}
                )
            ),
            "scan: checks out the PR",
        ),
    ],
)
def test_the_structural_check_finds_pr_code_next_to_a_token(job, change, found):
    ci = load("ci.yml")
    change(ci["jobs"][job])
    problems = pr_code_next_to_a_token(ci)
    assert any(p.startswith(found) for p in problems), problems


def test_the_prs_image_is_built_read_only_and_pushed_by_trusted_code_from_its_archive():
    jobs = load("ci.yml")["jobs"]
    build, image = jobs["build"], jobs["image"]
    assert build["permissions"] == {"contents": "read"}
    assert not [s for s in build["steps"] if s.get("uses", "").startswith("docker/login-action@")]
    runs = [s.get("run", "") for s in build["steps"]]
    assert "hatch run helpers:ci image-build" in runs
    assert any(r.startswith("hatch run helpers:ci image-save ") for r in runs)
    assert set(build["outputs"]) == {"archive-sha256", "image-id"}
    assert "build" in image["needs"]
    assert image["permissions"]["packages"] == "write"
    assert image["steps"][0]["with"]["ref"] in TRUSTED_REFS
    runs = [s.get("run", "") for s in image["steps"]]
    loading = next(s for s in image["steps"] if s.get("run", "").startswith("hatch run helpers:ci image-load "))
    assert "--archive-sha256" in loading["run"]
    assert loading["env"]["ARCHIVE_SHA256"] == "${{ needs.build.outputs.archive-sha256 }}"
    # The archive is loaded and described before the registry login: no write token sits
    # on the machine while docker and syft parse the PR-built image.
    login = next(i for i, s in enumerate(image["steps"]) if s.get("uses", "").startswith("docker/login-action@"))
    assert runs.index(loading["run"]) < login
    assert runs.index("hatch run helpers:ci sbom --plan reports/image-plan.json") < login
    assert runs.index("hatch run helpers:ci image-push") > login
    assert not [s for s in image["steps"] if s.get("run") == "hatch run helpers:ci image-build"]
    # The report does not download the archive: it is the push job's input, not data for the report.
    report_download = next(s for s in jobs["report"]["steps"] if s.get("uses", "").startswith("actions/download-"))
    assert "image-archive" not in report_download["with"].get("pattern", "*")
    assert report_download["with"].get("pattern")


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_upload_survives_a_re_run_of_its_job(name):
    # upload-artifact refuses a second artifact of the same name by default,
    # and a re-run of a failed job (a matrix cell) uploads again.
    uploads = [(j, s) for j, s in steps(name) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads
    for job_name, step in uploads:
        assert step["with"].get("overwrite") is True, f"{name}:{job_name} uploads {step['with']['name']}"


def test_pypi_gets_the_distributions_only():
    release = load("release.yml")["jobs"]
    build = next(s for s in release["build"]["steps"] if "release-build" in s.get("run", ""))
    assert "--output dist " in build["run"]
    assert "--sums checksums/SHA256SUMS" in build["run"]
    publish = next(s for s in release["pypi"]["steps"] if s.get("uses", "").startswith("pypa/"))
    assert publish["with"]["packages-dir"].endswith("/release/dist")


def test_the_release_verifies_the_image_for_the_tags_commit():
    step = next(s for s in load("release.yml")["jobs"]["check"]["steps"] if " verify " in s.get("run", ""))
    assert '--commit "${GITHUB_SHA}"' in step["run"]


def test_the_dockerfile_installs_only_hashed_or_local_packages():
    installs = [
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if re.search(r"pip\b.*\binstall\b", line)
    ]
    assert installs
    for line in installs:
        assert "--require-hashes" in line or "--no-index" in line, line
    assert "!.github/build-requirements.txt" in (ROOT / ".dockerignore").read_text()


def test_dependabot_covers_every_lock_file():
    import subprocess  # noqa: PLC0415

    listed = subprocess.run(
        ["git", "ls-files", "*requirements*.txt"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert listed
    dependabot = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    pip = next(u for u in dependabot["updates"] if u["package-ecosystem"] == "pip")
    folders = set(pip["directories"])
    for lock in listed:
        assert "/" + str(Path(lock).parent).replace(".", "").strip("/") in folders | {"/"} or (
            f"/{Path(lock).parent}" in folders
        ), f"{lock} is not covered by Dependabot"


def test_the_helpers_environment_is_locked_with_hashes():
    hatch = tomllib.loads((ROOT / "hatch.toml").read_text())["envs"]["helpers"]
    assert hatch["template"] == "helpers"
    assert hatch["skip-install"] is True
    assert hatch["dependencies"] == []
    assert "--require-hashes --no-deps -r .github/helpers-requirements.txt" in hatch["scripts"]["locked"]
    assert hatch["scripts"]["ci"][0] == "locked"


def group_requirements(groups, name):
    """The group's requirements, with its included groups'."""
    found = []
    for item in groups[name]:
        found += group_requirements(groups, item["include-group"]) if isinstance(item, dict) else [item]
    return found


@pytest.mark.parametrize(
    ("group", "lock"),
    [
        ("helpers", ".github/helpers-requirements.txt"),
        ("build", ".github/build-requirements.txt"),
        ("workflows", "tests/workflows/act-requirements.txt"),
    ],
)
def test_locked_tools_pin_and_hash_what_their_group_names(group, lock):
    lock = (ROOT / lock).read_text()
    pins = re.findall(r"^([a-z0-9-]+)==\S+ \\$", lock, re.MULTILINE)
    assert pins
    for block in lock.split("==")[1:]:
        assert "--hash=sha256:" in block
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    for requirement in group_requirements(groups, group):
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
