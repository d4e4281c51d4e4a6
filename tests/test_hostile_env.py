"""The suite passes under any value of what a runner sets (tests/conftest.py clears it).

A re-run of CI sets ``GITHUB_RUN_ATTEMPT=2``, and four attestation tests
failed on every re-run: the isolating fixture cleared a list of names, not
the runner's variables. Here a sample of the suite runs in a child pytest
under hostile values of every kind of variable a runner, act or this
repository's workflows set, and must pass without writing the job's files or
calling the runner's services.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import yaml

from fake_github import serving

ROOT = Path(__file__).resolve().parents[1]
# One file or test of each kind: attestation (signing, the OIDC token, the run
# attempt), the report (GitHub's API, the step summary), settings, CD's gate,
# the quality gate (its threshold variable, its GitHub Actions output).
SAMPLE = [
    "tests/pipeline/test_attest.py",
    "tests/pipeline/test_report.py",
    "tests/pipeline/test_settings.py",
    "tests/pipeline/test_guard_matrix.py",
    "tests/pipeline/test_github_comments.py",
    "tests/plugins/test_outputs.py",
    "tests/plugins/test_quality_gate.py::test_passes_when_coverage_reaches_the_threshold",
    "tests/plugins/test_quality_gate.py::test_option_beats_environment_beats_config",
    "tests/plugins/test_quality_gate.py::test_silent_outside_github_actions",
]


def _conftest():
    """tests/conftest.py as a module of its own (``conftest`` is ambiguous in this tree)."""
    spec = importlib.util.spec_from_file_location("_suite_conftest", ROOT / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hostile(files: Path, service: str) -> dict[str, str]:
    """What a re-run of a PR's CI on GitHub (or act) could set, every value wrong for a test."""
    job_files = {name: str(files / name.lower()) for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV")}
    job_files |= {name: str(files / name.lower()) for name in ("GITHUB_PATH", "GITHUB_STATE")}
    return {
        **job_files,
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_RUN_ID": "999999",
        "GITHUB_RUN_NUMBER": "7",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": "/nonexistent/event.json",
        "GITHUB_REPOSITORY": "evil/x",
        "GITHUB_REPOSITORY_ID": "666",
        "GITHUB_REPOSITORY_OWNER": "evil",
        "GITHUB_TOKEN": "ghs_hostile_token",
        "GITHUB_API_URL": f"http://{service}",
        "GITHUB_GRAPHQL_URL": f"http://{service}/graphql",
        "GITHUB_SERVER_URL": f"http://{service}",
        "GITHUB_SHA": "1" * 40,
        "GITHUB_REF": "refs/heads/evil",
        "GITHUB_REF_NAME": "evil",
        "GITHUB_BASE_REF": "evil",
        "GITHUB_HEAD_REF": "evil",
        "GITHUB_WORKFLOW_REF": "evil/x/.github/workflows/ci.yml@refs/heads/evil",
        "GITHUB_WORKSPACE": "/nonexistent",
        "GITHUB_ACTOR": "evil",
        "RUNNER_TEMP": "/nonexistent",
        "RUNNER_TOOL_CACHE": "/nonexistent",
        "RUNNER_DEBUG": "1",
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"http://{service}/token?audience=x",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "hostile",
        "ACTIONS_RUNTIME_TOKEN": "hostile",
        "ACTIONS_RESULTS_URL": f"http://{service}/results/",
        "ACTIONS_STEP_DEBUG": "true",
        "CI": "true",
        "ACT": "true",
        "FORCE_COLOR": "1",
        "PY_COLORS": "1",
        "CLICOLOR_FORCE": "1",
        "PIPELINE_MAX_WAIT": "not a number",
        "PIPELINE_COMMENT_AUTHOR": "evil[bot]",
        "QUALITY_GATE_FAIL_UNDER": "100",
        "LOCAL_SIGSTORE": "http://127.0.0.1:9",
        # What the workflows pass a job in env:.
        "RUN_ATTEMPT": "3",
        "RUN_ID": "1",
        "TRIGGER": "push",
        "HEAD_SHA": "2" * 40,
        "PR_NUMBER": "1",
        "ATTEST_IMAGES": "false",
        "IMAGE_REGISTRY": "127.0.0.1:9",
        "SIGSTORE_OFFLINE": "1",
        "NEEDS": "{}",
    }


def test_a_sample_of_the_suite_passes_under_a_hostile_runner_environment(tmp_path):
    calls = []

    class Recorder(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _any(self):
            calls.append(f"{self.command} {self.path}")
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

    for verb in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        setattr(Recorder, f"do_{verb}", Recorder._any)
    files = tmp_path / "job"
    files.mkdir()
    with serving(Recorder) as service:
        # The child is not measured: its lines are the outer run's own tests.
        env = {k: v for k, v in os.environ.items() if not k.startswith("COV_CORE_")}
        env |= hostile(files, service)
        argv = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:randomly", "-p", "no:cacheprovider"]
        child = subprocess.run(
            [*argv, "--no-cov", "--no-gate", *SAMPLE],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    tail = "\n".join(child.stdout.splitlines()[-25:])
    assert child.returncode == 0, tail
    assert " passed" in tail
    assert sorted(p.name for p in files.iterdir()) == [], "a test wrote the job's files"
    assert calls == [], "a test called the runner's services"


def test_the_fixture_clears_by_prefix_and_by_the_names_the_workflows_and_helpers_use():
    conftest = _conftest()
    # This very test ran under it: nothing it clears is left.
    assert [name for name in os.environ if conftest.runner_variable(name)] == []
    # Names GitHub may add tomorrow, by prefix.
    for name in ("GITHUB_RUN_ATTEMPT", "GITHUB_SOMETHING_NEW", "RUNNER_TEMP", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACT_X"):
        assert conftest.runner_variable(name), name
    for name in ("CI", "ACT", "FORCE_COLOR", "QUALITY_GATE_FAIL_UNDER", "PIPELINE_MAX_WAIT", "LOCAL_SIGSTORE"):
        assert conftest.runner_variable(name), name
    # Every name a workflow's env: sets (read from the YAML, as the fixture does not
    # need to be told), and what the helpers read.
    workflows = set()
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for node in _walk(yaml.safe_load(path.read_text(encoding="utf-8"))):
            if isinstance(node, dict) and isinstance(node.get("env"), dict):
                workflows |= set(node["env"])
    assert {"RUN_ATTEMPT", "HEAD_SHA", "TRIGGER", "QUALITY_GATE_FAIL_UNDER"} <= workflows
    assert sorted(n for n in workflows - conftest.KEPT if not conftest.runner_variable(n)) == []
    for name in ("SOURCE_DATE_EPOCH", "SIGSTORE_OFFLINE", "BASE_IMAGE", "IMAGE_BUILD_NETWORK"):
        assert conftest.runner_variable(name), name
    # What the suite keeps: the allow-list, and what no rule names.
    for name in ("PATH", "HOME", "COVERAGE_FILE", "PYTEST_XDIST_WORKER", "TMPDIR", *conftest.KEPT):
        assert not conftest.runner_variable(name), name


def _walk(node):
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from _walk(child)
