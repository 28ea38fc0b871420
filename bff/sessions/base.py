"""The session record and the protocol every session store implements."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, kw_only=True)
class Session:
    """A server-side session. `sid` is the public handle (safe in tokens and pages); the secret
    cookie value is never stored, only its SHA-256 (`id_hash`)."""

    sid: str
    id_hash: str
    user_id: str
    role: str
    created_at: float
    last_seen: float
    idle_expires_at: float
    absolute_expires_at: float
    user_agent: str = ""
    ip: str = ""

    def is_live(self, now: float) -> bool:
        return now < self.idle_expires_at and now < self.absolute_expires_at

    def expires_at(self) -> float:
        return min(self.idle_expires_at, self.absolute_expires_at)

    def replace(self, **changes: Any) -> Session:
        return dataclasses.replace(self, **changes)


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore(Protocol):
    """Where sessions live, and nothing else (rate-limit counters have their own store). Every
    method raises StoreUnavailable when the backend cannot be reached, so callers fail closed.
    Expired records may be returned by `get`; the caller checks `is_live` with its clock."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    async def create(self, session: Session) -> None: ...

    async def get(self, id_hash: str) -> Session | None: ...

    async def touch(self, id_hash: str, *, last_seen: float, idle_expires_at: float) -> None: ...

    async def delete(self, id_hash: str) -> Session | None: ...

    async def list_user(self, user_id: str) -> list[Session]: ...

    async def delete_user(self, user_id: str, *, keep_sid: str | None = None) -> list[Session]: ...

    async def purge(self, now: float) -> int:
        """Delete every session that has expired by `now`; how many were deleted (a store whose
        keys expire by themselves answers 0)."""
        ...
