"""What pypa/gh-action-pypi-publish checks before it uploads, for its stand-in.

The real action runs ``twine check`` over every file of packages-dir; twine
refuses a file that is not a distribution ("Unknown distribution format")
and one whose metadata it cannot read. Standard library only: it runs on the
runner's system Python.
"""

import sys
import tarfile
import zipfile
from pathlib import Path


def problem(path: Path) -> str:
    """Why twine check would refuse this file, or ""."""
    if path.name.endswith(".whl"):
        try:
            with zipfile.ZipFile(path) as wheel:
                names = wheel.namelist()
        except (OSError, zipfile.BadZipFile):
            return "not a readable wheel"
        return "" if any(n.endswith(".dist-info/METADATA") for n in names) else "a wheel without METADATA"
    if path.name.endswith(".tar.gz"):
        try:
            with tarfile.open(path, "r:gz") as sdist:
                names = sdist.getnames()
        except (OSError, tarfile.TarError):
            return "not a readable sdist"
        return "" if any(n.count("/") == 1 and n.endswith("/PKG-INFO") for n in names) else "an sdist without PKG-INFO"
    return f"Unknown distribution format: {path.name!r}"


def main() -> int:
    folder = Path(sys.argv[1])
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    if not files:
        print(f"::error::gh-action-pypi-publish stand-in: no distributions in {folder}")
        return 1
    refused = [f"{p.name}: {problem(p)}" for p in files if problem(p)]
    if refused:
        print("::error::twine check (stand-in) refused: " + "; ".join(refused))
        return 1
    print(f"::warning::gh-action-pypi-publish stand-in: {len(files)} distributions checked, nothing uploaded to PyPI")
    return 0


if __name__ == "__main__":
    sys.exit(main())
