"""Mutation testing of the security checks: ``hatch run mutate [module ...]``.

cosmic-ray changes one thing at a time in a module (an operator, a
comparison, a constant, a call) and runs that module's own tests against
each change. A change no test notices "survives": either a test is missing,
or the change cannot alter behaviour (an equivalent mutant, listed in
``scripts/mutate-equivalent.txt`` with the reason). Slow (minutes per module),
so it is not part of CI; the score is printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT = ROOT / "scripts" / "mutate-equivalent.txt"
# module -> the tests that own it: every module that makes a security decision
# (what is verified, deployed, pushed, promoted, released, commented, trusted).
MODULES = {
    "src/pipeline/grammar.py": [
        "tests/pipeline/test_security_grammar.py",
        "tests/pipeline/test_structure.py",
        "tests/pipeline/test_report.py",
    ],
    "src/pipeline/guard.py": ["tests/pipeline/test_guard_matrix.py", "tests/pipeline/test_security_guard.py"],
    "src/pipeline/image.py": [
        "tests/pipeline/test_report.py",
        "tests/pipeline/test_ci_commands.py",
        "tests/pipeline/test_security_image.py",
    ],
    "src/pipeline/build.py": ["tests/pipeline/test_build.py", "tests/pipeline/test_security_build.py"],
    "src/pipeline/registry.py": [
        "tests/pipeline/test_registry.py",
        "tests/pipeline/test_referrers.py",
        "tests/pipeline/test_security_registry.py",
    ],
    "src/pipeline/referrers.py": ["tests/pipeline/test_referrers.py", "tests/pipeline/test_security_registry.py"],
    "src/pipeline/release.py": [
        "tests/pipeline/test_security_release.py",
        "tests/pipeline/test_release.py",
        "tests/pipeline/test_release_grammar.py",
    ],
    "src/pipeline/jobfiles.py": ["tests/pipeline/test_jobfiles.py", "tests/pipeline/test_security_jobfiles.py"],
    "src/pipeline/pulls.py": [
        "tests/pipeline/test_security_pulls.py",
        "tests/pipeline/test_pulls.py",
        "tests/pipeline/test_github_comments.py",
    ],
    "src/pipeline/verdict.py": ["tests/pipeline/test_ci_commands.py", "tests/pipeline/test_security_verdict.py"],
    "src/pipeline/comments.py": ["tests/pipeline/test_security_comments.py", "tests/pipeline/test_github_comments.py"],
    "src/pipeline/github.py": [
        "tests/pipeline/test_security_github.py",
        "tests/pipeline/test_github_client.py",
        "tests/pipeline/test_release_commands.py",
        "tests/pipeline/test_github_comments.py",
    ],
    "src/pipeline/distribution.py": [
        "tests/pipeline/test_security_distribution.py",
        "tests/pipeline/test_verify_release.py",
        "tests/pipeline/test_release_commands.py",
        "tests/pipeline/test_release.py",
    ],
    "src/pipeline/publish.py": ["tests/pipeline/test_publish.py", "tests/pipeline/test_release_commands.py"],
    "src/pipeline/verify.py": [
        "tests/pipeline/test_security_verify.py",
        "tests/pipeline/test_verify.py",
        "tests/pipeline/test_verify_edges.py",
    ],
    "src/pipeline/trust.py": [
        "tests/pipeline/test_trust.py",
        "tests/pipeline/test_authority.py",
        "tests/pipeline/test_verify.py",
    ],
    "src/pipeline/authority/oidc.py": ["tests/pipeline/test_authority.py"],
    "src/pipeline/authority/merkle.py": ["tests/pipeline/test_authority.py"],
    "plugins/quality_gate/threshold.py": ["tests/plugins/test_outputs.py", "tests/plugins/test_quality_gate.py"],
    "src/sample_app/core.py": ["tests/sample_app"],
}
# What the scratch copy of the tree leaves out: history, caches, results.
_NOT_COPIED = shutil.ignore_patterns(
    ".git", "reports", "__pycache__", ".hypothesis", ".pytest_cache", ".ruff_cache", ".mypy_cache", "*.egg-info"
)
CONFIG = """[cosmic-ray]
module-path = "{module}"
timeout = 120.0
excluded-modules = []
test-command = "{python} -m pytest -x -q -n 0 --no-cov --no-gate -p no:cacheprovider {tests}"

[cosmic-ray.distributor]
name = "local"
"""


class BaselineError(Exception):
    """The module's own tests fail unmutated: no score would mean anything."""


def equivalents() -> set[tuple[str, str, int, int]]:
    """(module, operator, occurrence, line) of mutants that cannot change behaviour."""
    known = set()
    if EQUIVALENT.exists():
        for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                module, operator, occurrence, number, *_ = line.split()
                known.add((module, operator, int(occurrence), int(number)))
    return known


def copy_tree(work: Path) -> Path:
    """The tree as it is, copied, for cosmic-ray to rewrite modules in.

    cosmic-ray mutates a module in place: a run stopped halfway, or a test
    another developer runs meanwhile, must never meet a mutant in the working
    tree. The copy's own ``src`` and ``plugins`` come first on ``PYTHONPATH``,
    before the editable install's.
    """
    tree = work / "tree"
    shutil.copytree(ROOT, tree, ignore=_NOT_COPIED)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(tree / "src"), str(tree / "plugins")])
    return tree


def narrow(session: Path, only: set[str]) -> int:
    """Keep only the mutants inside the named definitions (``--only``); return how many were dropped.

    cosmic-ray records the innermost ``def``/``class`` of each mutant;
    ``<module>`` names the module level (constants, patterns). A big module's
    decision functions can so be run alone when the whole would take too long.
    """
    db = sqlite3.connect(session)
    with db:
        rows = db.execute("SELECT job_id, definition_name FROM mutation_specs").fetchall()
        dropped = [(job,) for job, name in rows if (name or "<module>") not in only]
        db.executemany("DELETE FROM mutation_specs WHERE job_id = ?", dropped)
        db.executemany("DELETE FROM work_items WHERE job_id = ?", dropped)
    db.close()
    return len(dropped)


def run(module: str, tests: list[str], work: Path, tree: Path, only: set[str] | None = None) -> dict[str, object]:
    """Init and execute one module's session in ``tree``; return its figures and survivors."""
    config = work / f"{Path(module).stem}.toml"
    session = work / f"{Path(module).stem}.sqlite"
    config.write_text(CONFIG.format(module=module, python=sys.executable, tests=" ".join(tests)), encoding="utf-8")
    cosmic = [str(Path(sys.executable).parent / "cosmic-ray")]
    subprocess.run([*cosmic, "init", str(config), str(session)], cwd=tree, check=True)
    baseline = subprocess.run([*cosmic, "baseline", str(config)], cwd=tree, capture_output=True, text=True, check=False)
    if baseline.returncode != 0:
        tail = (baseline.stdout + baseline.stderr).strip().splitlines()[-3:]
        raise BaselineError(f"{module}: its tests fail before any mutation ({' / '.join(tail)[:300]})")
    dropped = narrow(session, only) if only else 0
    subprocess.run([*cosmic, "exec", str(config), str(session)], cwd=tree, check=True)
    db = sqlite3.connect(session)
    rows = db.execute(
        "SELECT m.operator_name, m.occurrence, m.start_pos_row, r.test_outcome, r.diff "
        "FROM mutation_specs m JOIN work_results r ON r.job_id = m.job_id"
    ).fetchall()
    known = equivalents()
    survivors, equivalent = [], 0
    rows = [(op, occ, line, str(outcome).lower(), diff) for op, occ, line, outcome, diff in rows]
    for operator, occurrence, line, outcome, diff in rows:
        if outcome != "survived":
            continue
        if (module, operator, occurrence, line) in known:
            equivalent += 1
        else:
            survivors.append({"operator": operator, "occurrence": occurrence, "line": line, "diff": diff})
    killed = sum(1 for r in rows if r[3] == "killed")
    judged = len(rows) - equivalent
    return {
        "module": module,
        "scope": ", ".join(sorted(only)) if only else "all",
        "not_run": dropped,
        "mutants": len(rows),
        "killed": killed,
        "equivalent": equivalent,
        "survived": len(survivors),
        "score": 100.0 * killed / judged if judged else 100.0,
        "survivors": survivors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(MODULES)}")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated definitions (function or class names, <module> for the module level) to mutate; "
        "the rest of the module is not run (its count is reported)",
    )
    args = parser.parse_args()
    chosen = args.modules or list(MODULES)
    unknown = [m for m in chosen if m not in MODULES]
    if unknown:
        print(f"error: no tests are mapped for {', '.join(unknown)}", file=sys.stderr)
        return 2
    if not (Path(sys.executable).parent / "cosmic-ray").exists():
        print("error: cosmic-ray is not installed (hatch run mutate installs it)", file=sys.stderr)
        return 2
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    results = []
    missing = [t for m in chosen for t in MODULES[m] if not (ROOT / t).exists()]
    if missing:
        print(f"error: mapped tests do not exist: {', '.join(missing)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="mutate-") as scratch:
        tree = copy_tree(Path(scratch))
        for module in chosen:
            print(f">>> {module}", flush=True)
            try:
                only = {name.strip() for name in args.only.split(",") if name.strip()} or None
                results.append(run(module, MODULES[module], Path(scratch), tree, only))
            except BaselineError as error:
                print(f"error: {error}", file=sys.stderr)
                return 1
    print("\n| module | scope | mutants | not run | killed | equivalent | survived | score |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['module']} | {r['scope']} | {r['mutants']} | {r['not_run']} | {r['killed']} "
            f"| {r['equivalent']} | {r['survived']} "
            f"| {r['score']:.1f} % |"
        )
    for r in results:
        for s in r["survivors"]:  # type: ignore[attr-defined]
            print(f"\nsurvived: {r['module']} {s['operator']} {s['occurrence']} {s['line']}\n{s['diff']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0 if all(r["score"] >= 95 for r in results) else 1  # type: ignore[operator]


if __name__ == "__main__":
    raise SystemExit(main())
