"""The one error of the bench: what it could not measure."""

from __future__ import annotations


class HarnessError(Exception):
    """The benchmark could not be measured (not: a target was missed)."""
