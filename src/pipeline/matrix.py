"""The test matrix, read from hatch (hatch.toml is its only source)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

from pipeline.errors import CheckFailed, InputError, last_line, one_line

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
        except subprocess.CalledProcessError as error:
            # hatch says why (a broken hatch.toml, most often) on its last line.
            said = last_line(str(error.stderr), "no message")
            raise InputError(
                f"cannot read the matrix from hatch: `hatch env show` exited {error.returncode}: {one_line(said)}"
            ) from None
        except (OSError, subprocess.SubprocessError) as error:
            raise InputError(f"cannot read the matrix from hatch: {one_line(error)}") from None
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


def _problem(version: str) -> str:
    """Why ``pythonX.Y`` is not usable ("" when it runs and is that version).

    Found on PATH is not enough: a pyenv shim of a version that is not active
    is on PATH and fails when run (hatch then dies with a long traceback).
    """
    exe = shutil.which(f"python{version}")
    if exe is None:
        return "not on PATH"
    try:
        probe = subprocess.run(
            # -I -S: no environment, user site or .pth file takes part, so the
            # probe asks only whether the interpreter itself runs, in ~10 ms.
            [exe, "-I", "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return f"{exe} does not run ({type(error).__name__})"
    if probe.returncode != 0:
        return f"{exe} does not run: {one_line(last_line(probe.stderr, f'exit {probe.returncode}'), 120)}"
    if probe.stdout.strip() != version:
        return f"{exe} is Python {probe.stdout.strip()[:10]}"
    return ""


def missing_pythons(versions: list[str]) -> dict[str, str]:
    """Each version with no usable ``pythonX.Y``, and why."""
    problems = {v: _problem(v) for v in versions}
    return {v: why for v, why in problems.items() if why}


def require_pythons(versions: list[str]) -> None:
    """Fail with what is missing and how to provide it, in one message."""
    missing = missing_pythons(versions)
    if missing:
        names = "; ".join(f"python{v}: {why}" for v, why in missing.items())
        raise CheckFailed(
            f"missing interpreters: {names}. Install them and put pythonX.Y on PATH, e.g. with pyenv "
            f"`pyenv install {' '.join(missing)}` then `pyenv global {' '.join(versions)}`, or "
            "actions/setup-python on GitHub; hatch is set never to download one"
        )
