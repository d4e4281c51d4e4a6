"""What a commit SHA, a digest, a tag and a release version look like: each edge of each rule.

Every check that accepts one of them imports its pattern from pipeline.grammar,
so a loosened pattern here is loosened everywhere: each test names a value
that must be refused and the one beside it that must pass.
"""

import pytest

from pipeline import grammar
from pipeline.errors import InputError

SHA = "0123456789abcdef0123456789abcdef01234567"
HEX = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    "text",
    [SHA[:7], SHA[:39], SHA + "8", SHA.upper(), SHA[:-1] + "G", SHA + "\n", " " + SHA, SHA + " x", ""],
)
def test_a_commit_is_exactly_forty_lowercase_hex_digits(text):
    assert not grammar.SHA.fullmatch(text)
    with pytest.raises(InputError, match="not a full commit SHA"):
        grammar.require_sha(text)


def test_a_full_commit_passes_and_names_its_tag():
    assert grammar.require_sha(SHA) == SHA
    assert grammar.commit_tag(SHA) == f"sha-{SHA}"
    with pytest.raises(InputError):
        grammar.commit_tag(SHA[:12])


@pytest.mark.parametrize(
    "text",
    [
        f"sha256:{HEX[:-1]}",
        f"sha256:{HEX}0",
        f"sha256:{HEX.upper()}",
        f"sha256:{HEX[:32]}",
        f"sha512:{HEX}",
        f"SHA256:{HEX}",
        f"sha256:{HEX}\n",
        HEX,
    ],
)
def test_a_pinned_digest_is_sha256_and_sixty_four_lowercase_hex_digits(text):
    assert not grammar.DIGEST.fullmatch(text)


def test_a_pinned_digest_passes():
    assert grammar.DIGEST.fullmatch(f"sha256:{HEX}")


@pytest.mark.parametrize(
    "text", [HEX[:-1], HEX + "0", HEX.upper(), f"sha512:{HEX}", f"md5:{HEX}", f"{HEX}x", f"sha256:{HEX}:", ""]
)
def test_a_given_digest_is_refused_unless_exactly_sha256(text):
    with pytest.raises(InputError, match="not a sha256 digest"):
        grammar.require_digest(text)


def test_a_given_digest_may_omit_its_algorithm_and_surrounding_space():
    assert grammar.require_digest(HEX) == HEX
    assert grammar.require_digest(f" sha256:{HEX}\n") == HEX


@pytest.mark.parametrize("text", ["", ".x", "-x", "a" * 129, "a:b", "a/b", "a@b", "a b", "a\n", "é"])
def test_a_tag_is_dockers_grammar(text):
    assert not grammar.TAG.fullmatch(text)


@pytest.mark.parametrize("text", ["a", "_x", "1.2.3", "A-b_c.d", "a" * 128])
def test_a_tag_that_docker_accepts_passes(text):
    assert grammar.TAG.fullmatch(text)
    assert grammar.MAX_TAG == 128


@pytest.mark.parametrize(
    "text",
    [
        "1.2",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "1.2.3.4",
        "1.2.3rc",
        "1.2.3rc01",
        "1.2.3.dev1",
        "1.2.3post1",
        "1.2.3c1",
        "1.2.3-rc1",
        "v1.2.3",
        "1.2.3 ",
        "1.2.3+local",
    ],
)
def test_a_release_version_is_x_y_z_or_a_normal_pre_release(text):
    assert not grammar.VERSION.fullmatch(text)


@pytest.mark.parametrize("text", ["0.0.0", "1.2.3", "10.20.30", "1.2.3a0", "1.2.3b1", "1.2.3rc10"])
def test_a_release_version_passes(text):
    assert grammar.VERSION.fullmatch(text)


def test_a_refusal_quotes_the_bad_value_to_a_fixed_bound():
    """One short line: the first 50 characters of a bad SHA, 80 of a bad digest, never the rest."""
    long = "z" * 200
    with pytest.raises(InputError) as sha:
        grammar.require_sha(long)
    assert str(sha.value) == f"not a full commit SHA: {'z' * 50!r}"
    with pytest.raises(InputError) as digest:
        grammar.require_digest(long)
    assert str(digest.value) == f"not a sha256 digest: {'z' * 80!r}"
