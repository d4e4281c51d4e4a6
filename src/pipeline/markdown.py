"""Markdown that untrusted text (test names, messages, branches) cannot break."""

from __future__ import annotations

import re

_INLINE = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "|": "&#124;",
    "`": "&#96;",
    "@": "&#64;",  # no @mentions from test names
    "*": "&#42;",
    "_": "&#95;",
    "[": "&#91;",
    "]": "&#93;",
    "\\": "&#92;",
    "#": "&#35;",
}
_BACKTICKS = re.compile(r"`+")


def inline(text: str, limit: int = 300) -> str:
    """Escape for a table cell or a line: one line, no markup, bounded."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "".join(_INLINE.get(c, c) for c in text)


def code(text: str, limit: int = 200) -> str:
    """An inline code span: nothing inside is markup, only '|' and '`' need care."""
    text = " ".join(text.split()).replace("`", "'").replace("|", "\\|")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"`{text}`" if text else "``"


def code_block(text: str, limit: int = 2000) -> str:
    """A fenced block longer than any backtick run inside: nothing escapes it."""
    if len(text) > limit:
        text = text[:limit] + f"\n… ({len(text) - limit} more characters cut)"
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def table(header: list[str], rows: list[list[str]], align: str = "") -> str:
    """A Markdown table; cells must already be escaped."""
    spec = align or "-" * len(header)
    sep = ["---:" if a == "r" else "---" for a in spec]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def fit(sections: list[tuple[str, str, int]], limit: int, note: str) -> str:
    """Join sections in order; drop the least important until under ``limit``.

    ``sections`` are ``(name, markdown, priority)``, 0 the most important. The
    most important one is never dropped, only cut if it alone is too long.
    """
    kept = list(sections)
    cut: list[str] = []
    while len(kept) > 1 and len(_join(kept, cut, note)) > limit:
        victim = max(kept, key=lambda s: s[2])
        kept.remove(victim)
        cut.append(victim[0])
    body = _join(kept, cut, note)
    if len(body) > limit:
        body = body[: limit - 80] + "\n\n… (cut to GitHub's comment size limit)\n"
    return body


def _join(kept: list[tuple[str, str, int]], cut: list[str], note: str) -> str:
    parts = [text for _, text, _ in kept]
    if cut:
        parts.append(note.format(", ".join(cut)))
    return "\n\n".join(parts) + "\n"
