"""Scratch projects for tests that run the commands outside this checkout."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def service_project(path: Path) -> Path:
    """This repository's service profile (pyproject.toml and its version file) in ``path``.

    The commands read the profile of the checkout they run in; a test that
    runs them in a scratch folder gives that folder this repository's.
    """
    shutil.copy2(ROOT / "pyproject.toml", path / "pyproject.toml")
    version = path / "src" / "sample_app" / "__init__.py"
    if not version.exists():
        version.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "src" / "sample_app" / "__init__.py", version)
    return path
