"""``python -m resolvekit.evals SUITE ...``: the same as ``resolvekit eval SUITE ...``."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
