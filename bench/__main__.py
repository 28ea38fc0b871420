"""`python -m bench`: the load benchmark, written to bench/REPORT.md."""

from __future__ import annotations

import os
import sys

from bench.runner import main

sys.exit(main(os.environ))
