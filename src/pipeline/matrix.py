"""The test matrix, read from hatch (hatch.toml is its only source)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

from pipeline.errors import CheckFailed, InputError

ENV = "test"
_VERSION = re.compile(r"[0-9]+\.[0-9]+")


def plain_output_env(environ: os._Environ[str] | dict[str, str]) -> dict[str, str]:
    """The environment for a tool whose output is parsed: no colour codes.

    CI sets ``FORCE_COLOR`` for readable logs; hatch (rich) then writes escape
    codes even into ``--json`` output, which is no longer JSON.
    """
    env = {k: v for k, v in environ.items() if k not in {"FORCE_COLOR", "CLICOLOR_FORCE", "PY_COLORS"}}
    env["NO_COLOR"] = "1"
    return env


def read_matrix(show_json: str | None = None) -> list[str]:
    """Python versions of the ``test`` matrix, in hatch's order."""
    if show_json is None:
        try:
            result = subprocess.run(
                ["hatch", "env", "show", "--json", ENV],  # noqa: S607
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
                env=plain_output_env(os.environ),
            )
        except (OSError, subprocess.SubprocessError) as error:
            raise InputError(f"cannot read the matrix from hatch: {error}") from None
        show_json = result.stdout
    try:
        envs = json.loads(show_json)
    except ValueError:
        raise InputError("hatch env show did not print JSON") from None
    versions = [
        str(cfg["python"])
        for name, cfg in envs.items()
        if name.startswith(f"{ENV}.") and isinstance(cfg, dict) and "python" in cfg
    ]
    if not versions:
        raise InputError(f"hatch.toml defines no {ENV} matrix with python versions")
    # They become job names, environment names and file names: only X.Y.
    for version in versions:
        if not _VERSION.fullmatch(version):
            raise InputError(f"hatch.toml: the {ENV} matrix's python {version!r} is not a version like 3.12")
    return versions


def missing_pythons(versions: list[str]) -> list[str]:
    """Versions with no ``pythonX.Y`` on PATH."""
    return [v for v in versions if shutil.which(f"python{v}") is None]


def require_pythons(versions: list[str]) -> None:
    """Fail with what is missing and how to provide it."""
    missing = missing_pythons(versions)
    if missing:
        names = ", ".join(f"python{v}" for v in missing)
        raise CheckFailed(
            f"missing interpreters: {names}. Install them (e.g. `pyenv install {missing[0]}`, "
            "`uv python install`, actions/setup-python) and put pythonX.Y on PATH; "
            "hatch is set never to download one"
        )
