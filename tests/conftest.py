"""Shared fixtures: the fake GitHub API (tests/fake_github.py) and a stand-in hatch."""

from __future__ import annotations

import os
import sys

import pytest

from fake_github import FakeGitHub, serve

# What a workflow job (or the act runner) may set for the helpers: each test
# starts without them, so the suite behaves alike locally, on GitHub and under
# act. A test that needs one sets it.
JOB_VARIABLES = (
    "IMAGE_REGISTRY",
    "BASE_IMAGE",
    "IMAGE_BUILD_NETWORK",
    "ATTEST_IMAGES",
    "PIPELINE_COMMENT_AUTHOR",
    "HEAD_SHA",
    "HEAD_REF",
    "HEAD_REPOSITORY",
    "TRIGGER",
    "PR_NUMBER",
    "PR_AUTHOR",
    "RUN_ID",
    "RUN_ATTEMPT",
    "FORK_HEAD",
    "EVENT_PULL_REQUESTS",
    "ENVIRONMENT",
    "REPOSITORY_ID",
    "REGISTRY_TOKEN",
    "ATTESTATION_ID",
    "ATTESTATION_URL",
    "NEEDS",
    "SIGSTORE_OFFLINE",
    "LOCAL_SIGSTORE",
    "SOURCE_DATE_EPOCH",
    "GITHUB_REPOSITORY_ID",
    # The job's own files: a test must never write the real job's outputs.
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_ENV",
    "GITHUB_PATH",
    "GITHUB_EVENT_PATH",
)


@pytest.fixture(autouse=True)
def _no_job_variables(monkeypatch):
    for name in JOB_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_github(monkeypatch):
    state = FakeGitHub()
    server, _ = serve(state)
    monkeypatch.setenv("GITHUB_API_URL", state.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/app")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret_token_value")
    monkeypatch.setenv("PIPELINE_MAX_WAIT", "3")
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_EVENT_PATH", "GITHUB_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
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
    monkeypatch.chdir(tmp_path)
    return tmp_path
