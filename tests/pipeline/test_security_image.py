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


@pytest.mark.parametrize(
    ("registry", "expected"),
    [
        ("ghcr.io", "registry.example:5000/team/app"),  # GHCR is the default: the profile's host stays
        ("localhost:5000", "localhost:5000/team/app"),  # a run's registry (sorts after ghcr.io) replaces it
        ("127.0.0.1:5000", "127.0.0.1:5000/team/app"),  # and one that sorts before it
    ],
)
def test_a_profiles_image_keeps_its_host_unless_the_run_names_a_registry(registry, expected):
    from pipeline.image import ci_image, service_image  # noqa: PLC0415

    run_registry = "".join(registry)  # built at run time, as read from the environment
    assert service_image(run_registry, "octo/app", "registry.example:5000/team/app") == expected
    assert ci_image(run_registry, "octo/app", "registry.example:5000/team/app", "c" * 40).endswith(
        f"{expected.split('/', 1)[1]}:sha-" + "c" * 40
    )
    assert (
        image_ref(run_registry, "octo/app", "c" * 40, "main", None, "registry.example:5000/team/app").name == expected
    )
