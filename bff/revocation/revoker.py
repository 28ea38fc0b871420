"""Every revocation goes through here: the store forgets the session at once (the BFF's very next
request fails), the BFF drops its cached token, and the feed tells every API."""

from __future__ import annotations

from starlette.requests import Request

from bff.audit import Audit
from bff.clock import Clock
from bff.revocation.events import RevocationFeed
from bff.sessions.base import Session, SessionStore
from bff.tokencache import SessionTokenCache
from contract.revocation import Kind, RevocationEvent


class Revoker:
    def __init__(
        self,
        *,
        store: SessionStore,
        feed: RevocationFeed,
        token_cache: SessionTokenCache | None,
        clock: Clock,
        audit: Audit,
        token_lifetime: float,
    ) -> None:
        self._store = store
        self._feed = feed
        self._tokens = token_cache
        self._clock = clock
        self._audit = audit
        self._lifetime = token_lifetime  # longest token lifetime plus skew

    async def end_session(
        self, session: Session, *, event: str, request: Request | None = None
    ) -> None:
        """End one session; `event` names the audit event (logout, session.revoked, …)."""
        await self._store.delete(session.id_hash)
        await self._forget(session)
        self._audit.event(event, request, user_id=session.user_id, sid=session.sid)

    async def end_sid(
        self, sid: str, *, user_id: str, event: str, request: Request | None = None
    ) -> Session | None:
        """End the session with public handle `sid`, only if it belongs to `user_id`."""
        sessions = await self._store.list_user(user_id)
        target = next((s for s in sessions if s.sid == sid), None)
        if target is None:
            return None
        await self.end_session(target, event=event, request=request)
        return target

    async def end_user(
        self,
        user_id: str,
        *,
        keep_sid: str | None = None,
        event: str,
        request: Request | None = None,
    ) -> list[Session]:
        ended = await self._store.delete_user(user_id, keep_sid=keep_sid)
        for session in ended:
            await self._forget(session)
            self._audit.event(event, request, user_id=user_id, sid=session.sid)
        return ended

    async def _forget(self, session: Session) -> None:
        if self._tokens is not None:
            self._tokens.forget(session.sid)
        await self._publish("sid", session.sid)

    async def _publish(self, kind: Kind, value: str) -> None:
        now = self._clock.now()
        await self._feed.publish(
            RevocationEvent(kind=kind, value=value, at=now, until=now + self._lifetime)
        )
