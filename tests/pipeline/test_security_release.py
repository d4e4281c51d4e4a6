"""The release's own decisions, pinned where mutation testing found them loose.

Releasing needs changes listed under ``[Unreleased]`` itself: the changes of
an older release below it do not count. A tag that is no release tag is
refused in one short line.
"""

from __future__ import annotations

import pytest

from pipeline import release
from pipeline.errors import CheckFailed, InputError

OLDER = "## [0.1.0] - 2026-01-02\n\n- an older change, already released\n"


@pytest.mark.parametrize("between", ["\n", "\n\n", "\n\nNothing yet.\n\n", "\n" + "x" * 60 + "\n\n"])
def test_only_the_unreleased_sections_own_changes_count(between):
    text = f"# Changelog\n\n{release.UNRELEASED}{between}{OLDER}"
    with pytest.raises(CheckFailed, match=r"the \[Unreleased\] section lists no change: nothing to release"):
        release.roll_changelog(text, release.parse_version("0.2.0"), "2026-02-03")


def test_a_change_under_unreleased_releases_and_the_older_section_stays():
    text = f"# Changelog\n\n{release.UNRELEASED}\n\n- a new change\n\n{OLDER}"
    rolled = release.roll_changelog(text, release.parse_version("0.2.0"), "2026-02-03")
    assert rolled == (f"# Changelog\n\n{release.UNRELEASED}\n\n## [0.2.0] - 2026-02-03\n\n- a new change\n\n{OLDER}")


def test_a_tag_that_is_no_release_tag_is_quoted_to_forty_characters():
    name = "x" * 100
    with pytest.raises(InputError) as refused:
        release.parse_tag(f"refs/tags/{name}")
    assert str(refused.value) == f"not a release tag: {'x' * 40!r}; release tags are vX.Y.Z"


def test_a_parsed_release_cannot_be_changed_afterwards():
    import dataclasses  # noqa: PLC0415

    parsed = release.parse_version("1.2.3")
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.prerelease = True  # type: ignore[misc]
    assert parsed.image_tags == ("1.2.3", "1.2", "latest")


def test_set_version_sets_the_first_version_line_only():
    text = '__version__ = "0.1.0"\n# an example in a docstring:\n__version__ = "9.9.9"\n'
    assert release.set_version(text, release.parse_version("0.2.0")) == (
        '__version__ = "0.2.0"\n# an example in a docstring:\n__version__ = "9.9.9"\n'
    )


def test_a_version_that_is_no_release_version_is_quoted_to_forty_characters():
    with pytest.raises(InputError) as refused:
        release.parse_version("9" * 100)
    assert str(refused.value).startswith(f"not a release version: {'9' * 40!r}; use X.Y.Z")


@pytest.mark.parametrize("package", ["0.1.9", "0.2.1", "1.0.0", "0.2.0rc1", "0.10.0"])
def test_the_tag_must_name_exactly_the_package_version(package):
    # Versions sorting before and after the tag's: an order is not an equality.
    changelog = f"# Changelog\n\n{release.UNRELEASED}\n\n## [0.2.0] - 2026-02-03\n\n- a change\n"
    _, problems = release.check("v0.2.0", f'__version__ = "{package}"\n', changelog, on_main=True)
    assert problems == [f"the tag is v0.2.0 but the package version is {package}"]
    _, none = release.check("v0.2.0", '__version__ = "0.2.0"\n', changelog, on_main=True)
    assert none == []


@pytest.mark.parametrize("preamble", ["# Changelog\n\n", "# Changelog!!\n\n", "# Changelog" + "!" * 18 + "\n\n"])
def test_the_unreleased_changes_are_found_wherever_the_heading_starts(preamble):
    # Headings at offsets 13, 15 and 31: the section starts right after the heading, wherever that is.
    text = f"{preamble}{release.UNRELEASED}\n\n- a new change\n\n{OLDER}"
    rolled = release.roll_changelog(text, release.parse_version("0.2.0"), "2026-02-03")
    assert rolled.startswith(f"{preamble}{release.UNRELEASED}\n\n## [0.2.0] - 2026-02-03\n\n- a new change\n")


def test_two_unreleased_sections_are_refused():
    text = f"# Changelog\n\n{release.UNRELEASED}\n\n- one\n\n{release.UNRELEASED}\n\n- two\n"
    with pytest.raises(CheckFailed, match=r"must have exactly one '## \[Unreleased\]' section"):
        release.roll_changelog(text, release.parse_version("0.2.0"), "2026-02-03")
