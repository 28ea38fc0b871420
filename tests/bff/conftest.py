"""What the BFF's store suites share: the backends every contract suite runs against."""

from __future__ import annotations

import pytest

BACKENDS = ["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)]
