"""Which tags release, what a release must satisfy, and the files a release edits.

Pure functions: the commands and ``release.yml`` call them with what they
read (the tag, the package version, the CHANGELOG, git's answer), so every
decision is tested without a repository, a registry or GitHub.

Tags that release: ``vX.Y.Z`` (a final release: the image is promoted to
``X.Y.Z``, ``X.Y`` and ``latest``) and ``vX.Y.ZaN``/``bN``/``rcN`` (a
pre-release in PEP 440's normal form: promoted to its own tag only, and the
GitHub Release is marked as a pre-release). Nothing else releases: no
``.devN``, no ``.postN``, no local versions, no leading zeros.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.errors import CheckFailed, InputError
from pipeline.grammar import VERSION

_INIT_VERSION = re.compile(r'^__version__ = "([^"\n]*)"$', re.MULTILINE)
UNRELEASED = "## [Unreleased]"


@dataclass(frozen=True)
class Release:
    """A validated release version."""

    version: str
    major: int
    minor: int
    prerelease: bool

    @property
    def tag(self) -> str:
        """The git tag that releases it."""
        return f"v{self.version}"

    @property
    def image_tags(self) -> tuple[str, ...]:
        """The tags the verified image digest is promoted to."""
        if self.prerelease:
            return (self.version,)
        return (self.version, f"{self.major}.{self.minor}", "latest")


def parse_version(text: str) -> Release:
    """A version that may be released, or a usage error saying which ones may."""
    match = VERSION.fullmatch(text)
    if not match:
        raise InputError(
            f"not a release version: {text[:40]!r}; use X.Y.Z, or X.Y.ZaN, X.Y.ZbN, X.Y.ZrcN for a pre-release"
        )
    return Release(text, int(match["major"]), int(match["minor"]), prerelease=match["pre"] is not None)


def parse_tag(tag: str) -> Release:
    """``vX.Y.Z`` (or a pre-release), from a tag name or ``refs/tags/...``."""
    name = tag.removeprefix("refs/tags/")
    if not name.startswith("v"):
        raise InputError(f"not a release tag: {name[:40]!r}; release tags are vX.Y.Z")
    return parse_version(name[1:])


def package_version(init_text: str) -> str:
    """``__version__`` of the profile's version file (the version's one source)."""
    match = _INIT_VERSION.search(init_text)
    if not match:
        raise InputError('the package has no line __version__ = "..."')
    return match.group(1)


def set_version(init_text: str, release: Release) -> str:
    """The package file with its version set."""
    package_version(init_text)
    return _INIT_VERSION.sub(f'__version__ = "{release.version}"', init_text, count=1)


def _heading(version: str) -> re.Pattern[str]:
    return re.compile(rf"^## \[{re.escape(version)}\] - [0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$", re.MULTILINE)


def changelog_section(text: str, version: str) -> str:
    """The body of ``## [X.Y.Z] - YYYY-MM-DD`` (its release notes), or ""."""
    match = _heading(version).search(text)
    if not match:
        return ""
    rest = text[match.end() :]
    following = re.search(r"^## \[", rest, re.MULTILINE)
    body = rest[: following.start()] if following else rest
    body = re.sub(r"^\[[^\]]+\]: \S+$", "", body, flags=re.MULTILINE)  # link definitions
    return body.strip()


def roll_changelog(text: str, release: Release, date: str) -> str:
    """Keep a Changelog: ``[Unreleased]`` becomes ``[X.Y.Z] - date`` under a new, empty one."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", date):
        raise InputError(f"not a date (YYYY-MM-DD): {date!r}")
    if _heading(release.version).search(text):
        raise CheckFailed(f"CHANGELOG.md already has a section for {release.version}")
    if text.count(UNRELEASED) != 1:
        raise CheckFailed(f"CHANGELOG.md must have exactly one {UNRELEASED!r} section")
    start = text.index(UNRELEASED) + len(UNRELEASED)
    following = re.search(r"^## \[", text[start:], re.MULTILINE)
    body = text[start : start + following.start()] if following else text[start:]
    if not re.search(r"^- ", body, re.MULTILINE):
        raise CheckFailed("the [Unreleased] section lists no change: nothing to release")
    return text.replace(UNRELEASED, f"{UNRELEASED}\n\n## [{release.version}] - {date}", 1)


def check(tag: str, init_text: str, changelog: str, *, on_main: bool) -> tuple[Release, list[str]]:
    """Everything a tag must satisfy before anything is built or written.

    Returns the release and the problems (empty when it may go ahead); a tag
    that is no release tag at all is a usage error.
    """
    release = parse_tag(tag)
    problems = []
    version = package_version(init_text)
    if version != release.version:
        problems.append(f"the tag is {release.tag} but the package version is {version}")
    if not on_main:
        problems.append(f"{release.tag} does not point at a commit of main")
    if not changelog_section(changelog, release.version):
        problems.append(f"CHANGELOG.md has no section '## [{release.version}] - YYYY-MM-DD' with notes")
    return release, problems
