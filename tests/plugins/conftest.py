"""Fixtures for the gate plugin: a tiny project inside pytester's temp dir."""

import json

import pytest

# 4 statements in `half`, 2 in `rest`: tests choose how much is covered.
MODULE = """\
def half(x):
    if x > 0:
        return x / 2
    return 0


def rest(x):
    return x % 2
"""

TESTS = {
    "all": "from mod import half, rest\n"
    "def test_half():\n    assert half(4) == 2\n    assert half(-1) == 0\n"
    "def test_rest():\n    assert rest(3) == 1\n",
    "half": "from mod import half\ndef test_half():\n    assert half(4) == 2\n    assert half(-1) == 0\n",
    "none": "def test_nothing():\n    assert True\n",
}


@pytest.fixture
def project(pytester, monkeypatch):
    """A project with ``mod.py``; ``make(tests, fail_under=, precision=)`` writes the rest."""
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_BASE_REF", "QUALITY_GATE_FAIL_UNDER"):
        monkeypatch.delenv(name, raising=False)
    # The child pytest-cov keeps its data apart from the outer run's data.
    monkeypatch.delenv("COVERAGE_FILE", raising=False)
    monkeypatch.delenv("COVERAGE_PROCESS_CONFIG", raising=False)
    pytester.makepyfile(mod=MODULE)

    def make(tests="all", fail_under=None, precision=2, extra=""):
        report = [f"precision = {precision}"]
        if fail_under is not None:
            report.append(f"fail_under = {fail_under}")
        pytester.makefile(
            ".toml",
            pyproject="[tool.pytest.ini_options]\n"
            # hypothesis' plugin costs 0.6 s per child run and plays no part here.
            "addopts = ['-p', 'quality_gate.plugin', '-p', 'no:cacheprovider', '-p', 'no:hypothesispytest']\n"
            "[tool.coverage.run]\nbranch = false\n"
            "[tool.coverage.report]\n" + "\n".join(report) + "\n" + extra,
        )
        pytester.makepyfile(test_mod=TESTS[tests])

    return make


@pytest.fixture
def gate_json(pytester):
    def read(path="reports/gate.json"):
        return json.loads((pytester.path / path).read_text())

    return read


@pytest.fixture(scope="session", autouse=True)
def _measure_plugin_module_code():
    """Re-run the plugin's module-level code under coverage.

    ``-p quality_gate.plugin`` imports the plugin before pytest-cov starts measuring,
    so its imports and definitions would count as missed. Reloading the pure
    modules executes them again while coverage runs; the registered hooks of
    this session are unaffected.
    """
    import importlib  # noqa: PLC0415

    import quality_gate  # noqa: PLC0415
    from quality_gate import changed, coverage_xml, outputs, plugin, threshold  # noqa: PLC0415

    for module in (threshold, outputs, changed, coverage_xml, plugin, quality_gate):
        importlib.reload(module)
