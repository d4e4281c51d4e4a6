"""The docker CLI, called with fixed argv lists and timeouts."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass

from pipeline.errors import CheckFailed, last_line, one_line

#: How long ``docker version`` may take before the engine counts as absent.
ENGINE_TIMEOUT = 10.0

HARDENING = (
    "--network",
    "none",
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--pids-limit",
    "64",
    "--memory",
    "256m",
)


@dataclass(frozen=True)
class Run:
    """One command and what it did."""

    argv: list[str]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False


def available() -> str:
    """Empty when an engine answers, else what is missing and how to start it."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed (apt-get install docker.io)"
    try:
        result = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=ENGINE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "the Docker engine does not answer (timeout)"
    if result.returncode != 0:
        return "no Docker engine answers"
    return ""


def docker(*args: str, timeout: float = 300, check: bool = True) -> Run:
    """Run ``docker ARGS``; a non-zero exit raises unless ``check`` is False."""
    argv = ["docker", *args]
    started = time.monotonic()
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        return Run(argv, -1, _text(error.stdout), _text(error.stderr), time.monotonic() - started, True)
    run = Run(argv, result.returncode, result.stdout, result.stderr, time.monotonic() - started)
    if check and run.exit_code != 0:
        said = one_line(last_line(run.stderr, "no message"), 300)
        raise CheckFailed(f"docker {args[0]} failed (exit {run.exit_code}): {said}")
    return run


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def run_hardened(image: str, args: list[str], timeout: float) -> Run:
    """Run the container locked down; on timeout it is removed, never left behind.

    The container is created first and then started, so that when the time
    is up it exists and can be removed; killing a ``docker run`` client that
    has not yet created its container would leave one starting behind.
    """
    name = f"deploy-{uuid.uuid4().hex[:12]}"
    created = docker("create", "--rm", "--name", name, *HARDENING, image, *args, timeout=60)
    run = docker("start", "--attach", name, timeout=timeout, check=False)
    if run.timed_out:
        docker("rm", "--force", name, timeout=30, check=False)
    return Run(created.argv, run.exit_code, run.stdout, run.stderr, run.seconds, run.timed_out)
