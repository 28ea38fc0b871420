"""The protocol of the grant records store: small JSON records with a version, changed only by
compare-and-set, so every state machine built on it (refresh-token rotation, one-time codes, device
approvals) is atomic across workers and instances, whatever the backend.

A record lives under (kind, key) until `expires_at`, after which it reads as absent and may be
swept. A record may name an index (a user id): `indexed` lists the live records of a kind under
it (what "My devices" shows). Every method raises StoreUnavailable when the backend cannot be
reached, so callers fail closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

Value = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Record:
    value: Value
    version: int
    expires_at: float


@dataclass(frozen=True, kw_only=True)
class Put:
    """One write of an all-or-nothing `write`: a new record (`version` None: no live record may
    hold the key) or a compare-and-set of the record at `version`."""

    kind: str
    key: str
    value: Value
    expires_at: float
    version: int | None = None
    index: str | None = None  # for a new record


class RecordStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    async def insert(
        self,
        kind: str,
        key: str,
        value: Value,
        *,
        expires_at: float,
        now: float,
        index: str | None = None,
    ) -> bool:
        """Create the record at version 1; False when a live one already holds the key."""
        ...

    async def get(self, kind: str, key: str, *, now: float) -> Record | None: ...

    async def replace(
        self, kind: str, key: str, value: Value, *, version: int, expires_at: float, now: float
    ) -> bool:
        """Write `value` as version + 1 only if the live record is still at `version`; False when
        it changed, expired or is gone (the caller lost a race and reads again)."""
        ...

    async def get_linked(
        self, kind: str, key: str, *, link: str, link_kind: str, now: float
    ) -> tuple[Record | None, Record | None]:
        """A record and the one its `link` field names (of `link_kind`), in one round trip."""
        ...

    async def write(self, puts: list[Put], *, now: float) -> bool:
        """Every put, or none: False (nothing written) when any insert finds a live record or
        any compare-and-set finds another version."""
        ...

    async def indexed(self, kind: str, index: str, *, now: float) -> list[tuple[str, Record]]:
        """The live records of `kind` filed under `index`, oldest key first."""
        ...

    async def delete(self, kind: str, key: str) -> None: ...

    async def purge(self, now: float) -> int:
        """Forget every record expired by `now`; how many (0 where keys expire by themselves)."""
        ...
