"""The service profile: what the pipeline needs to know about the service it ships.

It lives in the service's own ``pyproject.toml``, under ``[tool.service-pipeline]``,
so that the helpers hold no fact of any one service (this repository's
own included): the image, how to build it, how to smoke-test it,
the distribution and where its version lives, and which branch deploys to
which environment. It is read and validated once, field by field, into one
typed value; a field that is missing, malformed or unknown is one line naming
it. The coverage threshold is not here: it stays in ``[tool.coverage.report]``.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pipeline.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the 3.10 cell of the matrix
    import tomli as tomllib

TABLE = "service-pipeline"
WHERE = f"[tool.{TABLE}]"
PULL_REQUESTS = "pull-requests"
DEFAULT_ENVIRONMENTS = {"main": "production", "develop": "staging", PULL_REQUESTS: "preview"}
# PEP 508 names; distribution file names use the normalised form (PEP 427, PEP 625).
_DISTRIBUTION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
# The OCI distribution spec's name grammar: a host, then path components.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(rf"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{{1,5}})?(?:/{_COMPONENT})+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A branch as git allows it, conservatively (no spaces, no "..", no control characters).
_BRANCH = re.compile(r"[A-Za-z0-9._/-]{1,200}")
# GitHub's environment names: up to 255 characters, no control characters.
_ENVIRONMENT = re.compile(r"[^\x00-\x1f\x7f,]{1,255}")


@dataclass(frozen=True)
class Run:
    """One run of the image's entrypoint: its arguments, the output and exit code it must give."""

    args: tuple[str, ...]
    exit_code: int
    output: str | None = None  # None: the output is not compared (a bad-input run)

    @property
    def label(self) -> str:
        """``run 2 3``: how the reports name the step."""
        return " ".join(["run", *self.args])


@dataclass(frozen=True)
class Profile:
    """A service as the pipeline sees it; built only by ``parse``."""

    distribution: str
    version_file: str
    smoke: Run
    bad_input: Run | None = None
    image: str = ""  # "" means ghcr.io/<owner>/<repo> (image.image_name)
    dockerfile: str = "Dockerfile"
    context: str = "."
    environments: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ENVIRONMENTS))

    @property
    def file_prefix(self) -> str:
        """``my_service`` for ``my-service``: how its wheel and sdist file names begin (PEP 427, 625)."""
        return re.sub(r"[-_.]+", "_", self.distribution).lower()

    @property
    def runs(self) -> tuple[Run, ...]:
        """The smoke test, then the bad-input run when there is one."""
        return (self.smoke,) if self.bad_input is None else (self.smoke, self.bad_input)

    def environment_for_branch(self, branch: str) -> str:
        """The environment a push to ``branch`` deploys to, or "" (it does not deploy)."""
        return self.environments.get(branch, "") if branch != PULL_REQUESTS else ""

    @property
    def pull_request_environment(self) -> str:
        """Where a same-repository pull request deploys ("" for none)."""
        return self.environments.get(PULL_REQUESTS, "")

    @property
    def deploy_branches(self) -> tuple[str, ...]:
        """The branches whose pushes get a pushed image and a deployment."""
        return tuple(b for b in self.environments if b != PULL_REQUESTS)

    def version(self, root: Path = Path()) -> str:
        """``__version__`` of the version file (the version's one source)."""
        path = root / self.version_file
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise InputError(f"{WHERE} version-file {self.version_file}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise InputError(f"{WHERE} version-file {self.version_file} is not UTF-8 text") from None
        from pipeline.release import package_version  # noqa: PLC0415

        try:
            return package_version(text)
        except InputError as error:
            raise InputError(f"{self.version_file}: {error}") from None


class _Table:
    """One TOML table being read: every key taken once, every leftover key refused."""

    def __init__(self, data: Any, where: str) -> None:  # noqa: ANN401 - parsed TOML
        if not isinstance(data, dict):
            raise InputError(f"{where} must be a table, not {type(data).__name__}")
        self.data, self.where, self.taken = data, where, set[str]()

    def get(self, key: str) -> Any:  # noqa: ANN401 - parsed TOML
        self.taken.add(key)
        return self.data.get(key)

    def string(self, key: str, default: str | None = None) -> str:
        value = self.get(key)
        if value is None:
            if default is None:
                raise InputError(f"{self.where} {key} is missing")
            return default
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{self.where} {key} must be a non-empty string, not {value!r:.80}")
        return value

    def integer(self, key: str, default: int | None = None) -> int:
        value = self.get(key)
        if value is None and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
            shown = "missing" if value is None else f"{value!r:.40}"
            raise InputError(f"{self.where} {key} must be an exit code from 0 to 255, not {shown}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            shown = "missing" if value is None else f"{value!r:.80}"
            raise InputError(f"{self.where} {key} must be a list of strings (the entrypoint's arguments), not {shown}")
        if any("\x00" in v for v in value):
            raise InputError(f"{self.where} {key} holds a NUL character")
        return tuple(value)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.taken)
        if unknown:
            known = ", ".join(sorted(self.taken))
            raise InputError(f"{self.where} has no field {unknown[0]!r} (known: {known})")


def _relative(table: _Table, key: str, default: str | None) -> str:
    """A path inside the repository, as the workflows and docker take it."""
    value = table.string(key, default)
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or "\\" in value or _CONTROL.search(value):
        raise InputError(f"{table.where} {key} must be a path inside the repository, not {value!r:.80}")
    return value


def _run(data: Any, where: str, *, compare_output: bool) -> Run:  # noqa: ANN401 - parsed TOML
    table = _Table(data, where)
    args = table.strings("args")
    if compare_output:
        output = table.string("output")
        code = table.integer("exit-code", 0)
    else:
        output = None
        code = table.integer("exit-code")
        if code == 0:
            raise InputError(f"{where} exit-code must not be 0: a bad-input run must fail")
    table.done()
    return Run(args, code, output)


def _environments(data: Any) -> dict[str, str]:  # noqa: ANN401 - parsed TOML
    where = f"{WHERE[:-1]}.environments]"
    if data is None:
        return dict(DEFAULT_ENVIRONMENTS)
    if not isinstance(data, dict) or not data:
        raise InputError(f"{where} must be a table of branch = environment (and {PULL_REQUESTS} = environment)")
    found = {}
    for branch, environment in data.items():
        if branch != PULL_REQUESTS and (not _BRANCH.fullmatch(branch) or ".." in branch):
            raise InputError(f"{where} {branch!r:.80} is not a branch name")
        if not isinstance(environment, str) or not _ENVIRONMENT.fullmatch(environment) or not environment.strip():
            raise InputError(f"{where} {branch} must name a GitHub environment, not {environment!r:.80}")
        found[branch] = environment
    shared = [b for b, e in found.items() if b != PULL_REQUESTS and e == found.get(PULL_REQUESTS)]
    if shared:
        # Under workflow_run an environment's branch rules see the default
        # branch, so only this table keeps a PR out of a branch's environment.
        raise InputError(
            f"{where} {PULL_REQUESTS} deploys to {found[PULL_REQUESTS]!r}, which is {shared[0]}'s: "
            "a pull request's image would deploy where that branch's does"
        )
    return found


def _walk(data: Any, *keys: str) -> Any:  # noqa: ANN401 - parsed TOML
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def parse(document: dict[str, Any], origin: str = "pyproject.toml") -> Profile:
    """The profile from a parsed ``pyproject.toml``; every problem is one ``InputError``."""
    tool = document.get("tool")
    data = tool.get(TABLE) if isinstance(tool, dict) else None
    if data is None:
        raise InputError(f"{origin} has no {WHERE} table: the service profile (README: Adopt it)")
    table = _Table(data, WHERE)
    default_name = _walk(document, "project", "name")
    distribution = table.string("distribution", default_name if isinstance(default_name, str) else None)
    if not _DISTRIBUTION.fullmatch(distribution):
        raise InputError(f"{WHERE} distribution must be a distribution name, not {distribution!r:.80}")
    version_default = _walk(tool, "hatch", "version", "path")
    version_file = _relative(table, "version-file", version_default if isinstance(version_default, str) else None)
    image = table.string("image", "")
    if image and not _IMAGE.fullmatch(image):
        raise InputError(f"{WHERE} image must be registry/name in lowercase, without a tag, not {image!r:.80}")
    dockerfile = _relative(table, "dockerfile", "Dockerfile")
    context = _relative(table, "context", ".")
    smoke_data = table.get("smoke")
    if smoke_data is None:
        raise InputError(f"{WHERE} smoke is missing: the run CD makes of the image, and what it must print")
    smoke_table = _Table(smoke_data, f"{WHERE[:-1]}.smoke]")
    bad_data = smoke_table.data.get("bad-input")
    smoke_fields = {k: v for k, v in smoke_table.data.items() if k != "bad-input"}
    smoke = _run(smoke_fields, smoke_table.where, compare_output=True)
    bad_input = None if bad_data is None else _run(bad_data, f"{WHERE[:-1]}.smoke.bad-input]", compare_output=False)
    environments = _environments(table.get("environments"))
    table.done()
    return Profile(
        distribution=distribution,
        version_file=version_file,
        smoke=smoke,
        bad_input=bad_input,
        image=image,
        dockerfile=dockerfile,
        context=context,
        environments=environments,
    )


@functools.cache
def _load(path: Path) -> Profile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"cannot read the service profile in {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text (TOML is)") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path} is not valid TOML: {error}") from None
    return parse(document, str(path))


def load(root: Path = Path()) -> Profile:
    """The profile of the repository at ``root`` (read once per process and path)."""
    return _load((root / "pyproject.toml").resolve())
