"""quality_gate: a pytest plugin that turns coverage into a verdict.

It measures nothing: pytest-cov measures, pytest writes JUnit. The plugin
decides (coverage.py's own comparison at the configured precision), then
reports the verdict everywhere a reviewer looks: the terminal, ``gate.json``,
and on GitHub Actions annotations and the job summary.

Load it with ``-p quality_gate`` and the ``plugins/`` folder on ``sys.path``.
"""

from quality_gate.plugin import (
    pytest_addoption,
    pytest_configure,
    pytest_load_initial_conftests,
)

__all__ = ["pytest_addoption", "pytest_configure", "pytest_load_initial_conftests"]
