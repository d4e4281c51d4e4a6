import pytest

from pipeline import release
from pipeline.errors import CheckFailed, InputError

INIT = '"""sample-app."""\n\n__version__ = "0.1.0"\n'
CHANGELOG = """# Changelog

## [Unreleased]

### Added
- a thing

## [0.0.9] - 2026-01-02

### Fixed
- an old thing

[0.0.9]: https://example.invalid/0.0.9
"""


@pytest.mark.parametrize(
    ("tag", "version", "prerelease", "image_tags"),
    [
        ("v0.2.0", "0.2.0", False, ("0.2.0", "0.2", "latest")),
        ("refs/tags/v1.10.3", "1.10.3", False, ("1.10.3", "1.10", "latest")),
        ("v0.2.0rc1", "0.2.0rc1", True, ("0.2.0rc1",)),
        ("v2.0.0a0", "2.0.0a0", True, ("2.0.0a0",)),
        ("v2.0.0b12", "2.0.0b12", True, ("2.0.0b12",)),
    ],
)
def test_tags_that_release(tag, version, prerelease, image_tags):
    parsed = release.parse_tag(tag)
    assert (parsed.version, parsed.prerelease, parsed.image_tags) == (version, prerelease, image_tags)
    assert parsed.tag == f"v{version}"


@pytest.mark.parametrize(
    "tag",
    [
        "0.2.0",
        "v0.2",
        "v0.2.0.1",
        "v01.2.0",
        "v0.2.0-rc1",
        "v0.2.0.rc1",
        "v0.2.0.dev1",
        "v0.2.0.post1",
        "v0.2.0+local",
        "vlatest",
        "v",
        "v0.2.0\n",
        "v0.2.0 ",
        "v\u0660.2.0",
    ],
)
def test_everything_else_is_refused(tag):
    with pytest.raises(InputError, match="not a release"):
        release.parse_tag(tag)


def test_the_version_has_one_source_and_is_set_there():
    assert release.package_version(INIT) == "0.1.0"
    updated = release.set_version(INIT, release.parse_version("0.2.0"))
    assert release.package_version(updated) == "0.2.0"
    assert updated.replace("0.2.0", "0.1.0") == INIT
    with pytest.raises(InputError, match="__version__"):
        release.package_version("VERSION = 1\n")


def test_the_changelog_rolls_unreleased_into_the_version():
    rolled = release.roll_changelog(CHANGELOG, release.parse_version("0.1.0"), "2026-11-30")
    assert "## [Unreleased]\n\n## [0.1.0] - 2026-11-30\n\n### Added\n- a thing" in rolled
    assert release.changelog_section(rolled, "0.1.0") == "### Added\n- a thing"
    assert release.changelog_section(rolled, "0.0.9") == "### Fixed\n- an old thing"
    assert release.changelog_section(rolled, "9.9.9") == ""
    with pytest.raises(CheckFailed, match="already has a section"):
        release.roll_changelog(rolled, release.parse_version("0.1.0"), "2026-11-30")
    with pytest.raises(CheckFailed, match="lists no change"):
        release.roll_changelog(rolled, release.parse_version("0.1.1"), "2026-11-30")
    with pytest.raises(InputError, match="not a date"):
        release.roll_changelog(CHANGELOG, release.parse_version("0.1.0"), "30.11.2026")
    with pytest.raises(CheckFailed, match="exactly one"):
        release.roll_changelog("# Changelog\n", release.parse_version("0.1.0"), "2026-11-30")


def test_a_release_is_checked_before_anything_is_built():
    rolled = release.roll_changelog(CHANGELOG, release.parse_version("0.1.0"), "2026-11-30")
    parsed, problems = release.check("v0.1.0", INIT, rolled, on_main=True)
    assert parsed.version == "0.1.0"
    assert problems == []
    _, problems = release.check("v0.2.0", INIT, CHANGELOG, on_main=False)
    assert problems == [
        "the tag is v0.2.0 but the package version is 0.1.0",
        "v0.2.0 does not point at a commit of main",
        "CHANGELOG.md has no section '## [0.2.0] - YYYY-MM-DD' with notes",
    ]
