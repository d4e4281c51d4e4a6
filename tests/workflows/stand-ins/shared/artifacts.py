"""The artifact store behind the upload-/download-artifact stand-ins.

The runner copies this file into both stand-ins. One folder per artifact under $ACT_ARTIFACTS, a folder the runner mounts
into every job of one workflow run. Standard library only: it runs on the
runner's system Python (/usr/bin/python3), never on the interpreter a job
put first on PATH, as the real actions run on the runner's Node.
"""

import fnmatch
import glob
import os
import re
import shutil
import sys
from pathlib import Path


def fail(message: str) -> None:
    print(f"::error::{message}")
    sys.exit(1)


def store() -> Path:
    root = os.environ.get("ACT_ARTIFACTS", "")
    if not root or not Path(root).is_dir():
        fail("artifact stand-in: $ACT_ARTIFACTS is not a folder (the runner mounts it)")
    return Path(root)


def matched(patterns: list[str], hidden: bool) -> list[Path]:
    files: dict[Path, None] = {}
    for pattern in patterns:
        for name in glob.glob(os.path.expanduser(pattern), recursive=True, include_hidden=True):
            path = Path(name)
            candidates = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            for file in candidates:
                if not hidden and any(part.startswith(".") for part in file.parts if part not in {".", ".."}):
                    continue
                files[file.resolve()] = None
    return list(files)


def upload() -> None:
    name = os.environ["NAME"]
    if not name or "/" in name or name.startswith("."):
        fail(f"artifact name {name!r} is not valid")
    target = store() / name
    if target.exists():
        if os.environ.get("OVERWRITE", "false") != "true":
            fail(f"an artifact named {name!r} already exists in this run (names are unique, as on GitHub)")
        shutil.rmtree(target)
    patterns = [line.strip() for line in os.environ["PATTERNS"].splitlines() if line.strip()]
    files = matched(patterns, os.environ.get("HIDDEN", "false") == "true")
    if not files:
        policy = os.environ.get("IF_NO_FILES", "warn")
        message = f"no files were found with the provided path: {', '.join(patterns)}. No artifacts will be uploaded."
        if policy == "error":
            fail(message)
        print(f"::warning::{message}" if policy == "warn" else message)
        return
    root = Path(os.path.commonpath([str(f.parent) for f in files]))
    for file in files:
        dest = target / file.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, dest)
    print(f"upload-artifact stand-in: {name}: {len(files)} file(s)")


def braces(pattern: str) -> list[str]:
    """minimatch's brace expansion (``{a,b-*}``), which the real action's patterns have."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [x for part in match.group(1).split(",") for x in braces(head + part + tail)]


def download() -> None:
    name, dest = os.environ["NAME"], Path(os.path.expanduser(os.environ.get("DEST") or "."))
    root = store()
    if name:
        sources = [(root / name, dest)]
        if not sources[0][0].is_dir():
            fail(f"unable to download artifact(s): artifact not found: {name}")
    else:
        merge = os.environ.get("MERGE", "false") == "true"
        patterns = braces(os.environ.get("PATTERN") or "*")
        folders = [
            p
            for p in sorted(root.iterdir())
            if p.is_dir() and any(fnmatch.fnmatchcase(p.name, pattern) for pattern in patterns)
        ]
        sources = [(p, dest if merge else dest / p.name) for p in folders]
    for source, target in sources:
        shutil.copytree(source, target, dirs_exist_ok=True)
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write(f"download-path={dest.resolve()}\n")
    print(f"download-artifact stand-in: {', '.join(s.name for s, _ in sources) or 'no artifacts'} -> {dest}")


if __name__ == "__main__":
    {"upload": upload, "download": download}[sys.argv[1]]()
