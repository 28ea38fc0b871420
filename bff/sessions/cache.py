"""Hot sessions kept in process, in front of a shared store (Redis), and forgotten through the
revocation feed every BFF instance already publishes into.

The store stays the truth. A cached record is served only while the follower has read the feed
up to a point less than `FRESH_WITHIN` old, so a session ended on any instance (its `sid` event
is published right after the store forgets it) is refused here within that bound, and this
instance's own revocations evict at once. When the follower lags or the feed fails, nothing is
served from memory: every read goes to the store, which fails closed when it is down, and the
memory is dropped, so no record cached before an outage outlives it.

A record read from the store is cached only if no eviction was applied while it was being read:
otherwise a revocation that landed between the read and the insert would be lost.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from bff.clock import Clock
from bff.errors import StoreUnavailable
from bff.revocation.events import RevocationFeed
from bff.sessions.base import Session, SessionStore

# a revocation on another instance is refused here within this many seconds (the bound is
# measured by tests/system/test_scaleout.py); the follower's blocking read wakes well inside it
FRESH_WITHIN = 0.1
WAIT_SECONDS = 0.03  # the longest a follower's blocking read waits for news
RETRY_SECONDS = 0.25  # after a feed failure, before reading again
MAX_ENTRIES = 100_000  # a few hundred bytes each: tens of MiB at most

log = logging.getLogger("bff.sessions")


class CachedSessionStore:
    """The SessionStore protocol over another store, with reads of hot sessions from memory."""

    def __init__(
        self,
        *,
        store: SessionStore,
        feed: RevocationFeed,
        clock: Clock,
        max_entries: int = MAX_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._feed = feed
        self._clock = clock
        self._max = max_entries
        self._monotonic = monotonic
        self._entries: OrderedDict[str, Session] = OrderedDict()  # id_hash → record, LRU order
        self._by_sid: dict[str, str] = {}  # sid → id_hash
        self._confirmed = -math.inf  # when the last read that found the feed drained was sent
        self._evictions = 0  # bumped by every eviction: a read racing one is not cached
        self._position: str | None = None  # the last event applied

    # the follower

    def fresh(self) -> bool:
        """Whether memory may answer: the feed was drained less than FRESH_WITHIN ago."""
        return self._monotonic() - self._confirmed <= FRESH_WITHIN

    async def follow(self) -> None:
        """Apply every `sid` event of the feed, for the life of the app (a task of the lifespan)."""
        while True:
            try:
                await self.catch_up()
                await self._feed.wait(self._position, timeout=WAIT_SECONDS)
            except StoreUnavailable:
                self._lost()
                await asyncio.sleep(RETRY_SECONDS)

    async def catch_up(self) -> None:
        """Read and apply events until a read finds none; that read's send time confirms them.
        The first read starts from the feed's beginning: a position cannot be trusted across a
        restart, and replaying evictions is harmless."""
        while True:
            sent = self._monotonic()
            batch = await self._feed.since(self._position)
            if not batch:
                self._confirmed = sent
                return
            for event in batch:
                self._position = event.id
                if event.kind == "sid":
                    self._evict_sid(event.value)

    def _lost(self) -> None:
        if math.isfinite(self._confirmed):
            log.warning("revocation feed unreadable: sessions are read from the store only")
        self._confirmed = -math.inf
        self._position = None
        self._entries.clear()
        self._by_sid.clear()
        self._evictions += 1

    def _evict_sid(self, sid: str) -> None:
        self._evictions += 1
        id_hash = self._by_sid.pop(sid, None)
        if id_hash is not None:
            self._entries.pop(id_hash, None)

    def _evict(self, id_hash: str) -> None:
        self._evictions += 1
        session = self._entries.pop(id_hash, None)
        if session is not None:
            self._by_sid.pop(session.sid, None)

    def _keep(self, session: Session) -> None:
        self._entries[session.id_hash] = session
        self._entries.move_to_end(session.id_hash)
        self._by_sid[session.sid] = session.id_hash
        while len(self._entries) > self._max:
            _, oldest = self._entries.popitem(last=False)
            self._by_sid.pop(oldest.sid, None)

    # the SessionStore protocol

    async def open(self) -> None:
        await self._store.open()

    async def close(self) -> None:
        self._confirmed = -math.inf
        self._entries.clear()
        self._by_sid.clear()
        await self._store.close()

    async def ping(self) -> None:
        await self._store.ping()

    async def create(self, session: Session) -> None:
        await self._store.create(session)
        if self.fresh():
            self._keep(session)  # a brand-new sid: no event can name it yet

    async def get(self, id_hash: str) -> Session | None:
        fresh = self.fresh()
        if fresh:
            cached = self._entries.get(id_hash)
            # another instance may have slid it since: a copy that looks expired is read again
            if cached is not None and cached.is_live(self._clock.now()):
                self._entries.move_to_end(id_hash)
                return cached
        evictions = self._evictions
        session = await self._store.get(id_hash)
        if session is not None and fresh and evictions == self._evictions:
            self._keep(session)
        return session

    async def touch(self, id_hash: str, *, last_seen: float, idle_expires_at: float) -> None:
        await self._store.touch(id_hash, last_seen=last_seen, idle_expires_at=idle_expires_at)
        cached = self._entries.get(id_hash)
        if cached is not None:
            self._entries[id_hash] = cached.replace(
                last_seen=last_seen, idle_expires_at=idle_expires_at
            )

    async def delete(self, id_hash: str) -> Session | None:
        self._evict(id_hash)
        try:
            return await self._store.delete(id_hash)
        finally:
            self._evict(id_hash)  # a read of this instance that raced the delete is not kept

    async def list_user(self, user_id: str) -> list[Session]:
        return await self._store.list_user(user_id)

    async def delete_user(self, user_id: str, *, keep_sid: str | None = None) -> list[Session]:
        ended = await self._store.delete_user(user_id, keep_sid=keep_sid)
        for session in ended:
            self._evict(session.id_hash)
        return ended

    async def purge(self, now: float) -> int:
        for id_hash in [k for k, s in self._entries.items() if not s.is_live(now)]:
            self._evict(id_hash)
        return await self._store.purge(now)
