"""One verdict over CI's jobs: the single check branch protection requires.

GitHub can require named checks only; a matrix and skipped jobs make that
list fragile. The ``all-green`` job reads ``toJSON(needs)`` and decides here.
"""

from __future__ import annotations

from typing import Any

from pipeline.errors import InputError

# Informational: its failure is shown, never blocking (Trivy's database and
# findings change without any change to the code).
INFORMATIONAL = frozenset({"scan"})
# Skipped by design when the run does not push an image (forks, Dependabot,
# ATTEST_IMAGES=false): a skip is fine, a failure is not.
MAY_SKIP = frozenset({"attest", "scan"})


def judge_needs(needs: Any) -> tuple[bool, list[str]]:  # noqa: ANN401 - JSON from the workflow
    """``(ok, one line per job)``: ok when every required job succeeded."""
    if not isinstance(needs, dict) or not needs:
        raise InputError("NEEDS names no jobs")
    ok, lines = True, []
    for job, data in sorted(needs.items()):
        result = str(data.get("result", "")) if isinstance(data, dict) else ""
        if result == "success" or (result == "skipped" and job in MAY_SKIP):
            verdict = "ok"
        elif job in INFORMATIONAL:
            verdict = "informational, not blocking"
        else:
            verdict, ok = "BLOCKS", False
        lines.append(f"{job}: {result or 'unknown'} ({verdict})")
    return ok, lines
