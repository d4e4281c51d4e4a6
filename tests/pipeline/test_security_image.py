"""A branch's tag never overwrites a tag the pipeline writes itself (image.sanitize_branch)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import release
from pipeline.grammar import VERSION
from pipeline.image import image_ref, sanitize_branch

HEX = "ab" * 32


@given(st.from_regex(VERSION, fullmatch=True))
def test_no_branch_takes_a_release_versions_tags(version):
    # Every tag a release promotes to (X.Y.Z, X.Y, latest, a pre-release's own).
    for tag in release.parse_version(version).image_tags:
        assert sanitize_branch(tag) == f"branch-{tag}"


@pytest.mark.parametrize(
    "branch",
    [f"sha256-{HEX}", f"sha256-{HEX}.sig", f"sha256-{HEX}.att", "1.2.3rc1", "1.2.3a0", "0.1.0b2", "2.0", "LATEST"],
)
def test_a_branch_never_takes_a_referrers_or_pre_release_tag(branch):
    assert sanitize_branch(branch) == f"branch-{branch}"
    assert image_ref("ghcr.io", "octo/app", "c" * 40, branch).tags[0] == f"branch-{branch}"
