"""Sessions in a dict: for tests and single-process development."""

from __future__ import annotations

from bff.sessions.base import Session
from bff.stores import MemoryStore


class MemorySessionStore(MemoryStore):
    def __init__(self) -> None:
        self._by_hash: dict[str, Session] = {}

    async def create(self, session: Session) -> None:
        self._by_hash[session.id_hash] = session

    async def get(self, id_hash: str) -> Session | None:
        return self._by_hash.get(id_hash)

    async def touch(self, id_hash: str, *, last_seen: float, idle_expires_at: float) -> None:
        session = self._by_hash.get(id_hash)
        if session is not None:
            self._by_hash[id_hash] = session.replace(
                last_seen=last_seen, idle_expires_at=idle_expires_at
            )

    async def delete(self, id_hash: str) -> Session | None:
        return self._by_hash.pop(id_hash, None)

    async def list_user(self, user_id: str) -> list[Session]:
        sessions = [s for s in self._by_hash.values() if s.user_id == user_id]
        return sorted(sessions, key=lambda s: s.created_at)

    async def delete_user(self, user_id: str, *, keep_sid: str | None = None) -> list[Session]:
        doomed = [s for s in await self.list_user(user_id) if s.sid != keep_sid]
        for session in doomed:
            self._by_hash.pop(session.id_hash, None)
        return doomed

    async def purge(self, now: float) -> int:
        ended = [s.id_hash for s in self._by_hash.values() if not s.is_live(now)]
        for id_hash in ended:
            del self._by_hash[id_hash]
        return len(ended)
