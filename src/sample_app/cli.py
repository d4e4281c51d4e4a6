"""Command line: ``sample-app A B`` prints ``A + B``.

Arguments are parsed by hand because the grammar is tiny and argparse reads
``-1e3`` as an unknown option.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from sample_app import __version__
from sample_app.core import OperandError, add_text

if TYPE_CHECKING:
    from collections.abc import Sequence

PROG = "sample-app"
USAGE = f"usage: {PROG} [-h] [--version] A B"
HELP = f"""{USAGE}

Add two decimal numbers exactly and print the sum in plain notation.

positional arguments:
  A, B        integers or decimals, with an optional sign and exponent
              (-2, 0.1, 1e3); use -- before operands that start with '-'
              if you prefer to be explicit

options:
  -h, --help  show this help message and exit
  --version   show the version and exit

exit status: 0 success, 2 usage error
"""

EXIT_OK = 0
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad arguments; the message is one line."""


def _operands(argv: Sequence[str]) -> tuple[str, str] | str:
    """Split argv into two operands, or return the name of an info flag."""
    operands: list[str] = []
    options_done = False
    for arg in argv:
        if not options_done and arg == "--":
            options_done = True
        elif not options_done and arg in {"-h", "--help"}:
            return "help"
        elif not options_done and arg == "--version":
            return "version"
        elif not options_done and arg.startswith("-") and not _looks_numeric(arg):
            raise UsageError(f"unrecognised option: {arg[:40]!r}")
        else:
            operands.append(arg)
    if len(operands) != 2:
        raise UsageError(f"expected 2 operands, got {len(operands)}")
    return operands[0], operands[1]


def _looks_numeric(arg: str) -> bool:
    """A leading '-' followed by a digit or '.' is a negative operand."""
    return len(arg) > 1 and (arg[1].isdigit() or arg[1] == ".")


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the CLI and return its exit status; never raises on bad input."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = sys.argv[1:] if argv is None else argv
    try:
        parsed = _operands(args)
        if parsed == "help":
            out.write(HELP)
            return EXIT_OK
        if isinstance(parsed, str):  # "version", the only other info flag
            out.write(f"{PROG} {__version__}\n")
            return EXIT_OK
        left, right = parsed
        result = add_text(left, right)
    except (UsageError, OperandError) as error:
        err.write(f"{USAGE}\n{PROG}: error: {error}\n")
        return EXIT_USAGE
    out.write(f"{result}\n")
    return EXIT_OK
