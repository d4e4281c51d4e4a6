"""Where the threshold comes from, and coverage.py's own pass/fail rule."""

from __future__ import annotations

import math
from dataclasses import dataclass

ENV_VAR = "QUALITY_GATE_FAIL_UNDER"
OPTION = "--gate-fail-under"


class ThresholdError(ValueError):
    """A threshold that is not a number from 0 to 100."""


@dataclass(frozen=True)
class Threshold:
    """The number to reach, its display precision, and who chose it."""

    value: float
    precision: int
    source: str


def parse(text: str, origin: str) -> float:
    """Read a percentage; ``origin`` names the setting in the error message."""
    try:
        value = float(text.strip())
    except ValueError:
        raise ThresholdError(f"{origin}: {text!r} is not a number; give a percentage from 0 to 100") from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise ThresholdError(f"{origin}: {text!r} is out of range; give a number from 0 to 100")
    return value


def resolve(
    option: str | None,
    environ: dict[str, str],
    config_value: float,
    precision: int,
    config_file: str | None,
) -> Threshold:
    """Pick the threshold: command line, then environment, then coverage config.

    An empty environment variable counts as unset: on GitHub Actions an
    undefined repository variable expands to "".
    """
    if option is not None:
        return Threshold(parse(option, OPTION), precision, f"command line ({OPTION})")
    from_env = environ.get(ENV_VAR, "")
    if from_env.strip():
        return Threshold(parse(from_env, ENV_VAR), precision, f"environment ({ENV_VAR})")
    where = config_file or "coverage defaults"
    return Threshold(
        parse(str(config_value), "coverage fail_under"),
        precision,
        f"coverage config ({where}: fail_under)",
    )


def passes(total: float, threshold: Threshold) -> bool:
    """Exactly ``coverage report --fail-under``: compare at the display precision."""
    # Imported here, not at the top: loading the plugin must not load coverage.py
    # (about 85 ms) in runs that never get this far.
    from coverage.results import should_fail_under  # noqa: PLC0415

    return not should_fail_under(total, threshold.value, threshold.precision)


def shown(total: float, precision: int) -> str:
    """A percentage as coverage.py prints it (never rounds 99.999 up to 100)."""
    from coverage.results import display_covered  # noqa: PLC0415

    return display_covered(total, precision)
