"""quality_gate: a pytest plugin that turns coverage into a verdict.

It measures nothing: pytest-cov measures, pytest writes JUnit. The plugin
decides (coverage.py's own comparison at the configured precision), then
reports the verdict everywhere a reviewer looks: the terminal, ``gate.json``,
and on GitHub Actions annotations and the job summary.

Load it with ``-p quality_gate.plugin`` and the ``plugins/`` folder on
``sys.path``. The package itself imports nothing, so the pipeline helpers
can reuse ``quality_gate.outputs`` (GitHub's escaping) without pytest.
"""
