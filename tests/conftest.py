"""Shared fixtures: the fake GitHub API (tests/fake_github.py) and a stand-in hatch."""

from __future__ import annotations

import ast
import functools
import os
import sys
from pathlib import Path

import pytest
import yaml

from fake_github import FakeGitHub, serve
from projects import service_project

ROOT = Path(__file__).resolve().parents[1]

# What a runner, the act runner or this repository's workflows set for a job.
# Each test starts without any of it, so the suite passes alike on a laptop,
# on GitHub (a re-run sets GITHUB_RUN_ATTEMPT=2), under act and in .ci/run
# (CI=true): a test that needs one sets it. Cleared by prefix, so a variable
# GitHub adds tomorrow is cleared too, and by name for the rest, where the
# names come from the workflows' env: and the helpers' own reads, so a name a
# workflow or a helper adds tomorrow is cleared too. tests/test_hostile_env.py
# runs a sample of the suite under hostile values of all of them.
RUNNER_PREFIXES = (
    "GITHUB_",  # the runner's facts and the job's files (GITHUB_OUTPUT, _STEP_SUMMARY, _ENV, _PATH)
    "RUNNER_",  # the runner's machine (RUNNER_TEMP, RUNNER_DEBUG, ...)
    "ACTIONS_",  # the runtime's tokens and URLs (ACTIONS_ID_TOKEN_REQUEST_URL, ...)
    "ACT_",  # the act runner and its stand-ins (tests/workflows/run_act.py)
    "INPUT_",  # an action's inputs
    "STATE_",  # an action's saved state
    "PIPELINE_",  # this pipeline's own knobs (PIPELINE_MAX_WAIT, PIPELINE_COMMENT_AUTHOR)
    "QUALITY_GATE_",  # the gate's threshold override (a repository variable in ci.yml)
    "LOCAL_",  # the local platform (LOCAL_SIGSTORE, ...), except what KEPT keeps
)
# Set by every CI system (CI), by act (ACT), and by ci.yml and cd.yml for
# readable logs: output asserted exactly must not depend on colour.
RUNNER_NAMES = frozenset({"CI", "ACT", "FORCE_COLOR", "NO_COLOR", "CLICOLOR_FORCE", "PY_COLORS"})
# The allow-list: names the rules match (a prefix above, a workflow's env:, a
# helper's read) that the suite needs to keep.
KEPT = frozenset(
    {
        # The local platform the Docker tests use (scripts/local-platform.sh);
        # under act, LOCAL_BASE_IMAGE names an absent image so that those
        # tests skip in the test cells, as on GitHub's runners.
        "LOCAL_REGISTRY",
        "LOCAL_BASE_IMAGE",
        "LOCAL_RUNNER_IMAGE",
        # Set by the workflows and hatch.toml for every tool the suite starts:
        # an interpreter is never downloaded, pip never phones home.
        "UV_PYTHON_DOWNLOADS",
        "PIP_DISABLE_PIP_VERSION_CHECK",
        # The helpers read these to find their own tools and caches; the
        # suite's processes need them as they are.
        "PATH",
        "HOME",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
        "HATCH_ENV_ACTIVE",
    }
)


def _env_keys(node: object) -> set[str]:
    """The names under every ``env:`` of a workflow (top level, job, step)."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("env"), dict):
            found |= {str(name) for name in node["env"]}
        for child in node.values():
            found |= _env_keys(child)
    elif isinstance(node, list):
        for child in node:
            found |= _env_keys(child)
    return found


def _read_names(path: Path) -> set[str]:
    """Every ``environ.get("X")``, ``environ["X"]`` and ``getenv("X")`` of a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        key = None
        if isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if (node.func.attr == "get" and owner_name == "environ") or node.func.attr == "getenv":
                key = node.args[0]
        elif isinstance(node, ast.Subscript):
            owner = node.value
            if (owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")) == "environ":
                key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            found.add(key.value)
    return found


@functools.cache
def job_names() -> frozenset[str]:
    """Names a workflow's ``env:`` sets or a helper reads: a job's variables, cleared too."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    names: set[str] = set()
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        names |= _env_keys(yaml.load(path.read_text(encoding="utf-8"), Loader=loader))  # noqa: S506 - a safe loader
    for folder in ("src", "plugins"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            names |= _read_names(path)
    return frozenset(names)


def runner_variable(name: str) -> bool:
    """Whether the isolating fixture clears ``name`` (a runner's, a workflow's or a helper's variable)."""
    if name in KEPT:
        return False
    return name in RUNNER_NAMES or name.startswith(RUNNER_PREFIXES) or name in job_names()


@pytest.fixture(autouse=True)
def _no_job_variables(monkeypatch):
    for name in [name for name in os.environ if runner_variable(name)]:
        monkeypatch.delenv(name)


@pytest.fixture
def fake_github(monkeypatch):
    state = FakeGitHub()
    server, _ = serve(state)
    monkeypatch.setenv("GITHUB_API_URL", state.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/app")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret_token_value")
    monkeypatch.setenv("PIPELINE_MAX_WAIT", "3")
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def local_authority(tmp_path, monkeypatch):
    """The local Sigstore authority, in-process on 127.0.0.1, named by LOCAL_SIGSTORE."""
    from pipeline.authority.server import AuthorityServer  # noqa: PLC0415

    server = AuthorityServer(tmp_path / "authority").start()
    monkeypatch.setenv("LOCAL_SIGSTORE", server.url)
    yield server
    server.shutdown()
    server.server_close()


STAND_IN_HATCH = """#!/bin/sh
echo "$@" >> "$FAKE_LOG"
case "$1 $2" in
  "run lint") exit "${LINT_RC:-0}" ;;
  "env show") printf '{"test.py%s": {"python": "%s"}}' "$FAKE_PYTHON" "$FAKE_PYTHON" ;;
  "run test.py"*)
    /bin/cp "$FAKE_COVERAGE" "${FAKE_REPORTS:-reports}/.coverage.$FAKE_PYTHON"
    echo "==== 1 passed in 0.01s ===="
    echo "Quality gate passed: coverage 100.00% >= 90.00%"
    printf '{"verdict": "passed", "threshold": 90, "precision": 2, "total": 100.0}' \
      > "${FAKE_REPORTS:-reports}/gate-$FAKE_PYTHON.json"
    exit "${TEST_RC:-0}" ;;
esac
exit 0
"""


@pytest.fixture
def stand_in_hatch(tmp_path, monkeypatch):
    """A `hatch` first on PATH that logs its arguments and leaves coverage data.

    The local pipeline calls hatch for lint, the matrix and the wheel; its own
    tests must not run the whole suite again inside the suite.
    """
    from coverage import CoverageData  # noqa: PLC0415

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    hatch = bin_dir / "hatch"
    hatch.write_text(STAND_IN_HATCH)
    hatch.chmod(0o755)
    (tmp_path / "app.py").write_text("x = 1\ny = 2\n")
    data = CoverageData(basename=str(tmp_path / "seed.coverage"))
    data.add_lines({str(tmp_path / "app.py"): [1, 2]})
    data.write()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "hatch.log"))
    monkeypatch.setenv("FAKE_COVERAGE", str(tmp_path / "seed.coverage"))
    # The matrix it reports: this interpreter's version, so pythonX.Y is on PATH.
    monkeypatch.setenv("FAKE_PYTHON", f"{sys.version_info.major}.{sys.version_info.minor}")
    service_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path
