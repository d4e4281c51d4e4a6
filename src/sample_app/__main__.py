"""Entry point for ``python -m sample_app``."""

from sample_app.cli import main

raise SystemExit(main())
