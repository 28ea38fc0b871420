"""Revocation: ending sessions at the BFF at once and telling every API within a second."""

from bff.revocation.events import RevocationEvent, RevocationFeed
from bff.revocation.memory import MemoryRevocationFeed
from bff.revocation.revoker import Revoker

__all__ = ["MemoryRevocationFeed", "RevocationEvent", "RevocationFeed", "Revoker"]
