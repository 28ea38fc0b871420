"""Sessions in a dict: for tests and single-process development."""

from __future__ import annotations

from bff.sessions.base import Session


class MemorySessionStore:
    def __init__(self) -> None:
        self._by_hash: dict[str, Session] = {}
        self._counters: dict[str, tuple[float, float, int]] = {}

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None

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

    async def delete_sid(self, sid: str) -> Session | None:
        for session in list(self._by_hash.values()):
            if session.sid == sid:
                return self._by_hash.pop(session.id_hash, None)
        return None

    async def list_user(self, user_id: str) -> list[Session]:
        sessions = [s for s in self._by_hash.values() if s.user_id == user_id]
        return sorted(sessions, key=lambda s: s.created_at)

    async def delete_user(self, user_id: str, *, keep_sid: str | None = None) -> list[Session]:
        doomed = [s for s in await self.list_user(user_id) if s.sid != keep_sid]
        for session in doomed:
            self._by_hash.pop(session.id_hash, None)
        return doomed

    async def hit(self, key: str, *, window: float, now: float, amount: int = 1) -> int:
        count, ends = await self.counter(key, now=now)
        if key not in self._counters or now >= ends:
            if amount <= 0:
                return 0
            count, ends = 0, now + window
        count = max(0, count + amount)
        self._counters[key] = (now, ends, count)
        return count

    async def counter(self, key: str, *, now: float) -> tuple[int, float]:
        _, ends, count = self._counters.get(key, (now, now, 0))
        return (count, ends) if now < ends else (0, now)

    async def reset(self, key: str) -> None:
        self._counters.pop(key, None)
