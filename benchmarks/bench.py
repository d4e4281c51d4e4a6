"""Benchmarks behind the README's performance table.

Prints one row per target with the median of several runs. Targets are
checked here, by a person reading the table, never by timing assertions in
tests. Run: ``hatch run bench`` (``--runs N``, ``--only NAME``, ``--with-pipeline``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.settings import LOCAL_BASE_IMAGE

ROOT = Path(__file__).resolve().parents[1]
BASE = os.environ.get("LOCAL_BASE_IMAGE", "") or LOCAL_BASE_IMAGE


def timed(argv: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> float:
    """Seconds one command takes; a failing command aborts the benchmark."""
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(argv)}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return elapsed


def median(fn: Callable[[], float], runs: int) -> float:
    """Median of ``runs`` calls after one warm-up call."""
    fn()
    return statistics.median(fn() for _ in range(runs))


def row(name: str, value: str, target: str, ok: bool | None) -> tuple[str, str, str, str]:
    """A table row; ``ok`` None means "no target, information only"."""
    verdict = "info" if ok is None else ("met" if ok else "MISSED")
    return name, value, target, verdict


def bench_test(runs: int) -> list[tuple[str, str, str, str]]:
    full = median(lambda: timed(["hatch", "run", "test", "-q"]), runs)
    no_e2e = median(lambda: timed(["hatch", "run", "test", "-q", "-m", "not e2e"]), runs)
    unit = median(lambda: timed(["hatch", "run", "test", "-q", "--no-gate", "tests/sample_app"]), runs)
    # What no selection of tests can go below: hatch, pytest, xdist's workers
    # and collection, with coverage measuring.
    floor = median(lambda: timed(["hatch", "run", "test", "-q", "--no-gate", "--collect-only"]), runs)
    # Ratios to the floor travel between machines; seconds do not.
    return [
        row("warm `hatch run test` (whole suite, gate)", f"{full:.2f} s", "-", None),
        row("warm `hatch run test -m 'not e2e'` (no Docker)", f"{no_e2e:.2f} s", "-", None),
        row("warm `hatch run test tests/sample_app`", f"{unit:.2f} s", "-", None),
        row("floor: `hatch run test --collect-only` (no test runs)", f"{floor:.2f} s", "-", None),
        row("whole suite / floor", f"{full / floor:.1f}x", "<= 4x", full / floor <= 4),
        row("suite without Docker / floor", f"{no_e2e / floor:.1f}x", "<= 2.5x", no_e2e / floor <= 2.5),
    ]


def bench_lint(runs: int) -> list[tuple[str, str, str, str]]:
    ruff = median(
        lambda: (
            timed(["hatch", "run", "ruff", "check", "."]) + timed(["hatch", "run", "ruff", "format", "--check", "."])
        ),
        runs,
    )
    full = median(lambda: timed(["hatch", "run", "lint"]), runs)
    return [
        row("warm ruff check + format (via hatch)", f"{ruff:.2f} s", "<= 1 s", ruff <= 1),
        row("warm `hatch run lint` (every linter)", f"{full:.2f} s", "<= 8 s", full <= 8),
    ]


def bench_installers(runs: int) -> list[tuple[str, str, str, str]]:
    """Create the four matrix environments from scratch with uv, then with pip."""
    results = {}
    for installer in ("uv", "pip"):

        def create(installer: str = installer) -> float:
            with tempfile.TemporaryDirectory(prefix=f"bench-{installer}-") as scratch:
                copy = Path(scratch, "project")
                shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", "reports", "dist", "*.pyc"))
                hatch_toml = copy / "hatch.toml"
                hatch_toml.write_text(hatch_toml.read_text().replace('installer = "uv"', f'installer = "{installer}"'))
                env = {**os.environ, "HATCH_DATA_DIR": str(Path(scratch, "data"))}
                return timed(["hatch", "env", "create", "test"], cwd=copy, env=env)

        results[installer] = median(create, max(1, runs - 2))
    ratio = results["pip"] / results["uv"]
    return [
        row("create 4 matrix envs, uv", f"{results['uv']:.1f} s", "-", None),
        row("create 4 matrix envs, pip", f"{results['pip']:.1f} s", "-", None),
        row("pip / uv", f"{ratio:.1f}x", ">= 4x", ratio >= 4),
    ]


def bench_gate(runs: int) -> list[tuple[str, str, str, str]]:
    # One fixed, fast test: the difference is the gate's own work (threshold,
    # decision from the coverage data, gate.json, JUnit), not test noise.
    # pytest-cov writes its XML in both runs, as this repository configures it.
    # A neutral coverage config: this repository's own lists the plugin as a
    # measured package, which would make the plugin's run report 6 more files.
    scratch = Path(tempfile.mkdtemp(prefix="bench-gate-"))
    (scratch / "coveragerc").write_text("[run]\nbranch = True\n")
    base = [
        "hatch",
        "run",
        "pytest",
        "-o",
        "addopts=",
        "-q",
        "-p",
        "no:cacheprovider",
        "--cov=sample_app",
        f"--cov-config={scratch / 'coveragerc'}",
        f"--cov-report=xml:{scratch / 'coverage.xml'}",
    ]
    target = ["tests/sample_app/test_cli.py::test_help_and_version"]
    without = median(lambda: timed([*base, *target]), max(runs, 7))
    gate = ["-p", "quality_gate.plugin", "--gate-fail-under=0"]
    with_gate = median(lambda: timed([*base, *gate, *target]), max(runs, 7))
    overhead = (with_gate - without) * 1000
    # Two medians of whole runs: a difference below zero is noise, not a gain.
    shown = f"{overhead:.0f} ms" if overhead >= 0 else f"~0 ms ({overhead:.0f} ms: noise)"
    return [row("gate plugin overhead (incl. JUnit)", shown, "<= 100 ms", overhead <= 100)]


def _report_inputs(directory: Path, tests: int, files: int) -> None:
    """A large run's report files, the gate's JSON written by the gate's own writer."""
    from quality_gate import outputs  # noqa: PLC0415
    from quality_gate.threshold import Threshold  # noqa: PLC0415

    verdict = outputs.Verdict(Threshold(90.0, 2, "bench"), "passed", "", 95.0, python="3.13")
    (directory / "gate-3.13.json").write_text(json.dumps(outputs.to_json(verdict)), encoding="utf-8")
    cases = "".join(f'<testcase classname="t" name="test_{i}" time="0.01"/>' for i in range(tests))
    junit = f'<?xml version="1.0"?><testsuites><testsuite>{cases}</testsuite></testsuites>'
    (directory / "junit-3.13.xml").write_text(junit, encoding="utf-8")
    lines = "".join(f'<line number="{n}" hits="{n % 2}"/>' for n in range(1, 101))
    classes = "".join(f'<class filename="src/f{i}.py"><lines>{lines}</lines></class>' for i in range(files))
    coverage = (
        '<coverage lines-valid="100" lines-covered="50" branches-valid="0" branches-covered="0">'
        f"<packages><package><classes>{classes}</classes></package></packages></coverage>"
    )
    (directory / "coverage.xml").write_text(coverage, encoding="utf-8")


def bench_render(runs: int) -> list[tuple[str, str, str, str]]:
    from pipeline import inputs, report  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        _report_inputs(directory, tests=3000, files=400)

        def once() -> float:
            started = time.perf_counter()
            report.render(inputs.load(directory))
            return time.perf_counter() - started

        seconds = median(once, max(runs, 5))
    return [row("load + render 3,000 tests, 400 files", f"{seconds * 1000:.0f} ms", "<= 500 ms", seconds <= 0.5)]


def bench_verify(runs: int) -> list[tuple[str, str, str, str]]:
    from pipeline import verify  # noqa: PLC0415
    from pipeline.trust import Trust  # noqa: PLC0415

    vectors = ROOT / "tests" / "pipeline" / "data" / "sigstore"
    bundle_path = vectors / "attestation-direct-workflow.sigstore.json"
    if not bundle_path.exists():
        return [row("one verification after import", "skipped: no vectors", "<= 50 ms", None)]
    trust = Trust(offline=True).verifier()
    expected = verify.Expectations(
        repository="sigstore-conformance/extremely-dangerous-public-oidc-beacon",
        ref="refs/heads/main",
        signer_workflow=".github/workflows/extremely-dangerous-oidc-beacon.yml",
        repository_id="632596897",
        run_id="12359147651",
    )
    data = bundle_path.read_bytes()
    digest = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"

    def once() -> float:
        started = time.perf_counter()
        verify.verify_attestation(verify.parse_bundle(data, "bench"), expected, digest, trust)
        return time.perf_counter() - started

    seconds = median(once, max(runs, 10))
    return [row("one verification after import", f"{seconds * 1000:.1f} ms", "<= 50 ms", seconds <= 0.05)]


def bench_sigstore(runs: int) -> list[tuple[str, str, str, str]]:
    """The local Sigstore authority: start-up (a process, as the platform starts it), sign, verify."""
    from pipeline import signing, verify  # noqa: PLC0415
    from pipeline.authority.server import AuthorityServer  # noqa: PLC0415
    from pipeline.trust import Trust  # noqa: PLC0415

    def start(state: Path) -> float:
        url_file = state / "url"
        url_file.unlink(missing_ok=True)
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline.authority", "--state", str(state), "--url-file", str(url_file)],
            stdout=subprocess.DEVNULL,
        )
        try:
            while not (url_file.exists() and url_file.read_text(encoding="utf-8")):
                time.sleep(0.005)
            return time.perf_counter() - started
        finally:
            process.terminate()
            process.wait()

    with tempfile.TemporaryDirectory(prefix="bench-authority-") as scratch:
        cold = median(lambda: start(Path(tempfile.mkdtemp(dir=scratch))), runs)
        warm_state = Path(scratch, "warm")
        warm_state.mkdir()
        start(warm_state)  # keys made once
        warm = median(lambda: start(warm_state), runs)
        server = AuthorityServer(Path(scratch, "in-process")).start()
        try:
            trust = Trust(local_url=server.url)
            run = signing.Workflow(repository="octo/app", ref="refs/heads/main", sha="a" * 40, run_id="7")
            digest = "d" * 64
            bundles: list[bytes] = []

            def sign() -> float:
                started = time.perf_counter()
                bundles.append(signing.sign(signing.provenance([("img", digest)], run), trust, run))
                return time.perf_counter() - started

            signed = median(sign, max(runs, 5))
            verifier = trust.verifier()
            expected = verify.Expectations(
                repository="octo/app", ref="refs/heads/main", run_id="7", issuer=trust.issuer
            )

            def check() -> float:
                started = time.perf_counter()
                verify.verify_attestation(verify.parse_bundle(bundles[-1], "bench"), expected, digest, verifier)
                return time.perf_counter() - started

            checked = median(check, max(runs, 10))
        finally:
            server.shutdown()
            server.server_close()
    return [
        row("local Sigstore authority start-up, new keys", f"{cold * 1000:.0f} ms", "<= 1500 ms", cold <= 1.5),
        row("local Sigstore authority start-up, kept keys", f"{warm * 1000:.0f} ms", "<= 1000 ms", warm <= 1.0),
        row("sign provenance (token, certificate, log entry)", f"{signed * 1000:.0f} ms", "<= 250 ms", signed <= 0.25),
        row("verify a local bundle", f"{checked * 1000:.1f} ms", "<= 50 ms", checked <= 0.05),
    ]


def _size(image: str) -> int:
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", image], capture_output=True, text=True, check=True
    ).stdout
    return int(out.strip())


def bench_image(runs: int) -> list[tuple[str, str, str, str]]:
    if subprocess.run(["docker", "version"], capture_output=True, check=False).returncode != 0:
        return [row("image rows", "skipped: no Docker engine", "-", None)]
    tag = "bench/sample-app:latest"
    build = ["docker", "build", "-q", "--network", "host", "--build-arg", f"BASE_IMAGE={BASE}", "-t", tag]
    with tempfile.TemporaryDirectory(prefix="bench-image-") as scratch:
        copy = Path(scratch, "ctx")
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", "reports", "dist", "*.pyc"))
        timed([*build, str(copy)])
        marker = copy / "src" / "sample_app" / "__init__.py"
        original = marker.read_text()
        counter = iter(range(1000))

        def rebuild() -> float:
            marker.write_text(original + f"# bench {next(counter)}\n")
            return timed([*build, str(copy)])

        rebuild_s = median(rebuild, runs)
        # The same commit built twice: the created label is the commit's time, so
        # the second build reuses every layer and the image (and digest) is the same.
        marker.write_text(original)
        epoch = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
        from pipeline import build as image_build  # noqa: PLC0415

        created = ["--build-arg", f"CREATED={image_build.commit_time('HEAD')}"]
        ids = []
        for _ in range(2):
            timed([*build, *created, str(copy)], env=epoch)
            ids.append(
                subprocess.run(
                    ["docker", "image", "inspect", "--format", "{{.Id}}", tag],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.strip()
            )
    same = ids[0] == ids[1]
    added = (_size(tag) - _size(BASE)) / 1e6
    from pipeline.docker import HARDENING  # noqa: PLC0415 - the flags CD runs with

    hardened = ["docker", "run", "--rm", *HARDENING]
    app = median(lambda: timed([*hardened, tag, "2", "3"]), runs)
    bare = median(lambda: timed([*hardened, BASE, "python3", "-c", "pass"]), runs)
    return [
        row("image size added to the base", f"{added:.3f} MB", "<= 1 MB", added <= 1),
        row("rebuild after a src/ change (warm)", f"{rebuild_s:.2f} s", "<= 3 s", rebuild_s <= 3),
        row("same commit built twice: same image", "same" if same else "different", "same", same),
        row(
            "docker run 2 3 / base python -c pass",
            f"{app:.2f} s / {bare:.2f} s = {app / bare:.2f}x",
            "<= 1.3x",
            app / bare <= 1.3,
        ),
    ]


def bench_release(runs: int) -> list[tuple[str, str, str, str]]:
    """The release dry run (needs this commit's local image: `hatch run pipeline` first)."""
    import uuid  # noqa: PLC0415

    def once() -> float:
        version = f"8.{uuid.uuid4().int % 1000}.{uuid.uuid4().int % 1000}"
        with tempfile.TemporaryDirectory(prefix="bench-release-") as reports:
            argv = ["hatch", "run", "release", version, "--dry-run", "--reports", reports]
            started = time.perf_counter()
            result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(result.stdout[-600:])
        identical.append("byte-identical" in result.stdout)
        return elapsed

    identical: list[bool] = []
    try:
        seconds = median(once, runs)
    except RuntimeError as error:
        return [row("release dry run", f"failed: {str(error).splitlines()[-1][:80]}", "-", None)]
    same = all(identical)
    return [
        row("`hatch run release --dry-run` (2 builds, SBOM, promotion)", f"{seconds:.1f} s", "-", None),
        row("two builds of one commit byte-identical", "yes" if same else "NO", "yes", same),
    ]


def bench_pipeline(runs: int) -> list[tuple[str, str, str, str]]:
    seconds = median(lambda: timed(["hatch", "run", "pipeline"]), max(1, runs - 2))
    return [row("local pipeline, warm", f"{seconds:.0f} s", "<= 60 s", seconds <= 60)]


ROWS = {
    "test": bench_test,
    "lint": bench_lint,
    "installers": bench_installers,
    "gate": bench_gate,
    "render": bench_render,
    "verify": bench_verify,
    "sigstore": bench_sigstore,
    "image": bench_image,
    "release": bench_release,
    "pipeline": bench_pipeline,
}


def main() -> int:
    """Run the chosen rows and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (median), default 3")
    parser.add_argument("--only", action="append", choices=sorted(ROWS), help="run only these rows")
    parser.add_argument("--with-pipeline", action="store_true", help="also time the whole local pipeline")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    names = args.only or [n for n in ROWS if n != "pipeline" or args.with_pipeline]
    table = []
    for name in names:
        print(f"... {name}", file=sys.stderr, flush=True)
        table += ROWS[name](max(args.runs, 1))
    print(f"| measurement (median of {args.runs}) | value | target | verdict |\n| --- | ---: | --- | --- |")
    for r in table:
        print(f"| {' | '.join(r)} |")
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
