"""Figures from the Cobertura XML that pytest-cov already wrote.

Reading it is what keeps the gate cheap: coverage.py has analysed every file
once to write the report; analysing them again for a JSON report would cost
as much again (about 100 ms for this repository).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from xml.etree import ElementTree as ET

from quality_gate.outputs import FileCoverage

_CONDITIONS = re.compile(r"\((\d+)/(\d+)\)")


class UnreadableReportError(ValueError):
    """The XML is missing, truncated or not coverage.py's."""


def _percent(covered: int, total: int) -> float:
    return 100.0 * covered / total if total else 100.0


def read(path: Path, root: Path) -> tuple[float, list[FileCoverage]]:
    """Total (coverage.py's formula: lines and branches) and per-file figures."""
    try:
        tree = ET.parse(path).getroot()  # noqa: S314 - our own run's report
        lines_valid = int(tree.attrib["lines-valid"])
        lines_covered = int(tree.attrib["lines-covered"])
        branches_valid = int(tree.attrib.get("branches-valid", "0"))
        branches_covered = int(tree.attrib.get("branches-covered", "0"))
    except (OSError, ET.ParseError, KeyError, ValueError) as error:
        raise UnreadableReportError(f"{path}: {type(error).__name__}") from None
    sources = [s.text or "" for s in tree.iter("source")]
    base = Path(sources[0]) if len(sources) == 1 else Path()
    files = []
    for cls in tree.iter("class"):
        name = base / cls.get("filename", "?")
        shown = os.path.relpath(name, root) if name.is_absolute() else name.as_posix()
        statements = missing = b_total = b_covered = 0
        missing_lines = []
        for line in cls.iter("line"):
            statements += 1
            if line.get("hits", "0") == "0":
                missing += 1
                missing_lines.append(int(line.get("number", "0")))
            match = _CONDITIONS.search(line.get("condition-coverage", ""))
            if match:
                b_covered += int(match.group(1))
                b_total += int(match.group(2))
        percent = _percent(statements - missing + b_covered, statements + b_total)
        files.append(FileCoverage(Path(shown).as_posix(), statements, missing, percent, tuple(missing_lines)))
    total = _percent(lines_covered + branches_covered, lines_valid + branches_valid)
    return total, sorted(files, key=lambda f: f.path)
