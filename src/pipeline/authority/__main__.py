"""``python -m pipeline.authority``: serve the local Sigstore authority."""

import sys

from pipeline.authority.server import main

sys.exit(main())
