"""Exact decimal addition of two operands written as text.

Everything here is pure: the CLI turns ``OperandError`` into a usage error.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow, Rounded, Underflow

#: Longest result printed, in digits. Beyond this, plain notation would take
#: unbounded time and memory (``1e999999999 1`` has a billion digits); the
#: figure is Python's own default limit for int/str conversion.
MAX_RESULT_DIGITS = 4300

# ASCII digits only: Decimal would also accept Arabic-Indic or full-width
# digits, and "nan"/"inf", none of which are numbers a user means here.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_SHOWN = 40


class OperandError(ValueError):
    """An operand that is not a finite decimal number of printable size."""


def _shown(text: str) -> str:
    """Quote an operand for an error message: one line, bounded length."""
    if len(text) > _SHOWN:
        text = text[:_SHOWN] + "..."
    return repr(text)


def _strip(value: Decimal) -> Decimal:
    """Drop trailing zeros of the coefficient (and the sign of zero), exactly.

    ``Decimal.normalize`` would do this too, but rounds to the context's
    precision first; this never rounds.
    """
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # noqa: S101 - only finite values get here
    coefficient = "".join(map(str, digits)).rstrip("0")
    if not coefficient:
        return Decimal(0)
    exponent += len(digits) - len(coefficient)
    return Decimal((sign, tuple(map(int, coefficient)), exponent))


def _width(value: Decimal) -> tuple[int, int]:
    """Digits before and after the point of a stripped ``value``."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # noqa: S101 - only finite values get here
    return max(len(digits) + exponent, 1), max(-exponent, 0)


def parse_operand(text: str) -> Decimal:
    """Read one operand; refuse anything that is not a plain finite number.

    The size check happens before any arithmetic, so a hostile exponent costs
    nothing.
    """
    if not _NUMBER.fullmatch(text):
        raise OperandError(f"not a number: {_shown(text)}")
    try:
        value = _strip(Decimal(text))
    except InvalidOperation:  # an exponent beyond what Decimal can hold at all
        value = None
    if value is None or sum(_width(value)) > MAX_RESULT_DIGITS:
        raise OperandError(f"too large to print exactly: {_shown(text)} (more than {MAX_RESULT_DIGITS} digits)")
    return value


def add(left: Decimal, right: Decimal) -> Decimal:
    """Return ``left + right`` exactly: the context is as wide as the result."""
    widths = [_width(_strip(left)), _width(_strip(right))]
    precision = max(w[0] for w in widths) + max(w[1] for w in widths) + 1
    context = Context(
        prec=precision,
        Emax=MAX_RESULT_DIGITS + 1,
        Emin=-MAX_RESULT_DIGITS - 1,
        traps=[Inexact, Rounded, Overflow, Underflow],
    )
    return context.add(left, right)


def render(value: Decimal) -> str:
    """Plain notation, no exponent, no trailing zeros, and never ``-0``."""
    return f"{_strip(value):f}"


def add_text(left: str, right: str) -> str:
    """The whole computation on text: parse both operands, add, render."""
    return render(add(parse_operand(left), parse_operand(right)))
