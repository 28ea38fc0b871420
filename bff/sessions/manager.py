"""Sessions as the endpoints see them: a cookie value in, a live Session out; a new session at
every sign-in, never more than the policy's number per user."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from bff.clock import Clock
from bff.revocation.revoker import Revoker
from bff.sessions.base import Session, SessionStore, hash_session_id

COOKIE_NAME = "__Host-sid"
# spelt as the contract writes it (browsers ignore case; exact-string checks do not); Starlette's
# type names only the lower-case spelling, which it passes through unchanged
SAME_SITE: Literal["lax"] = "Lax"  # type: ignore[assignment]
MAX_COOKIE_LENGTH = 128
# write last-seen at most this often: a store write per request would halve throughput
SLIDE_GRANULARITY = 10.0
EVICTED_EVENT = "session.evicted"


@dataclass(frozen=True, kw_only=True)
class SessionPolicy:
    idle_seconds: int
    absolute_seconds: int
    max_per_user: int


class SessionManager:
    def __init__(
        self, *, store: SessionStore, clock: Clock, policy: SessionPolicy, revoker: Revoker
    ) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy
        self._revoker = revoker

    async def start(
        self, *, user_id: str, role: str, user_agent: str, ip: str, request: Request | None = None
    ) -> tuple[str, Session]:
        """A brand-new session; returns the secret cookie value (never stored) and the record.
        Past the per-user cap, the user's oldest sessions end (through the revoker, so their
        tokens die at the APIs too)."""
        now = self._clock.now()
        cookie_value = secrets.token_urlsafe(32)
        session = Session(
            sid=secrets.token_urlsafe(16),
            id_hash=hash_session_id(cookie_value),
            user_id=user_id,
            role=role,
            created_at=now,
            last_seen=now,
            idle_expires_at=now + self._policy.idle_seconds,
            absolute_expires_at=now + self._policy.absolute_seconds,
            user_agent=user_agent[:256],
            ip=ip,
        )
        await self._store.create(session)
        await self._evict_beyond_cap(session, request)
        return cookie_value, session

    async def find(self, cookie_value: str | None, *, slide: bool = True) -> Session | None:
        """The live session named by a cookie value, or None. A value the server did not issue
        matches nothing: there is no adoption of client-chosen ids."""
        if not cookie_value or len(cookie_value) > MAX_COOKIE_LENGTH:
            return None
        id_hash = hash_session_id(cookie_value)
        session = await self._store.get(id_hash)
        if session is None:
            return None
        if not session.is_live(self._clock.now()):
            await self._store.delete(id_hash)
            return None
        return await self.slide(session) if slide else session

    async def slide(self, session: Session) -> Session:
        """Extend the idle timeout of a live session (written at most every few seconds)."""
        now = self._clock.now()
        if now - session.last_seen < SLIDE_GRANULARITY:
            return session
        idle_expires_at = now + self._policy.idle_seconds
        await self._store.touch(session.id_hash, last_seen=now, idle_expires_at=idle_expires_at)
        return session.replace(last_seen=now, idle_expires_at=idle_expires_at)

    async def live(self, user_id: str) -> list[Session]:
        """The user's live sessions, oldest first."""
        now = self._clock.now()
        return [s for s in await self._store.list_user(user_id) if s.is_live(now)]

    async def _evict_beyond_cap(self, fresh: Session, request: Request | None) -> None:
        others = [s for s in await self.live(fresh.user_id) if s.sid != fresh.sid]
        excess = len(others) + 1 - self._policy.max_per_user
        for oldest in sorted(others, key=lambda s: (s.created_at, s.sid))[: max(0, excess)]:
            await self._revoker.end_session(oldest, event=EVICTED_EVENT, request=request)


def set_session_cookie(response: Response, cookie_value: str) -> None:
    # no Max-Age: the server enforces both timeouts; the cookie dies with the browser session
    response.set_cookie(
        COOKIE_NAME, cookie_value, path="/", secure=True, httponly=True, samesite=SAME_SITE
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", secure=True, httponly=True, samesite=SAME_SITE)
