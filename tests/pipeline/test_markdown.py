"""Markdown escaping and limits."""

from pipeline import markdown


def test_markdown_limits():
    assert markdown.inline("x" * 10, limit=5) == "xxxx…"
    assert markdown.code("a`b|c\nd", limit=200) == "`a'b\\|c d`"
    assert markdown.code("x" * 10, limit=5) == "`xxxx…`"
    assert markdown.code("") == "``"
    body = markdown.fit([("only", "y" * 500, 0)], 200, "cut {}")
    assert len(body) <= 200
    assert body.endswith("(cut to GitHub's comment size limit)\n")
