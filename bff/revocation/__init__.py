"""Revocation: ending sessions at the BFF at once and telling every API within a second."""

from __future__ import annotations

from bff.revocation.events import RevocationFeed, follow
from bff.revocation.memory import MemoryRevocationFeed
from bff.revocation.revoker import Revoker
from bff.revocation.sqlite import SqliteRevocationFeed

__all__ = [
    "MemoryRevocationFeed",
    "RevocationFeed",
    "Revoker",
    "SqliteRevocationFeed",
    "follow",
]
