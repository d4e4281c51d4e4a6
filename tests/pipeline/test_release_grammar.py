"""Which tags release (release.parse_tag over grammar.VERSION): the edges a loosened rule would let through."""

import pytest

from pipeline import release
from pipeline.errors import InputError


@pytest.mark.parametrize(
    "tag",
    [
        "1.2.3",  # no v
        "refs/tags/1.2.3",
        "vv1.2.3",
        "V1.2.3",
        "refs/heads/v1.2.3",
        "v1.2.3.dev1",
        "v1.2.3dev1",
        "v1.2.3post1",
        "v1.2.3.post1",
        "v1.2.3+local",
        "v1.2.3rc",
        "v1.2.3rc01",
        "v1.2.3c1",
        "v1.2",
        "v1.2.3 ",
    ],
)
def test_only_v_and_a_release_version_release(tag):
    with pytest.raises(InputError, match="not a release"):
        release.parse_tag(tag)


@pytest.mark.parametrize(
    ("tag", "tags", "prerelease"),
    [
        ("refs/tags/v1.2.3", ("1.2.3", "1.2", "latest"), False),
        ("v1.2.3rc1", ("1.2.3rc1",), True),
        ("v0.1.0a0", ("0.1.0a0",), True),
        ("v10.0.0b2", ("10.0.0b2",), True),
    ],
)
def test_a_pre_release_is_promoted_to_its_own_tag_only(tag, tags, prerelease):
    parsed = release.parse_tag(tag)
    assert (parsed.image_tags, parsed.prerelease) == (tags, prerelease)
