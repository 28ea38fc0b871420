"""Every revocation goes through here: the store forgets the session or the refresh family at
once (the BFF's very next request, or the client's next refresh, fails), the BFF drops its cached
token, and the feed tells every API, which then refuses every token carrying that handle."""

from __future__ import annotations

from starlette.requests import Request

from bff.audit import Audit
from bff.clock import Clock
from bff.oauth.consents import ConsentStore
from bff.oauth.families import Family, RefreshFamilies
from bff.revocation.events import RevocationFeed
from bff.sessions.base import Session, SessionStore
from bff.tokencache import SessionTokenCache
from contract.revocation import Kind, RevocationEvent


class Revoker:
    def __init__(
        self,
        *,
        store: SessionStore,
        families: RefreshFamilies,
        consents: ConsentStore,
        feed: RevocationFeed,
        token_cache: SessionTokenCache | None,
        clock: Clock,
        audit: Audit,
        token_lifetime: float,
    ) -> None:
        self._store = store
        self._families = families
        self._consents = consents
        self._feed = feed
        self._tokens = token_cache
        self._clock = clock
        self._audit = audit
        self._lifetime = token_lifetime  # how long after minting a token may still be accepted

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
        apps: bool = False,
        event: str,
        request: Request | None = None,
    ) -> list[Session]:
        """End the user's sessions (but `keep_sid`), and with `apps` every app they allowed too:
        its refresh families and the consents that would let it back in without asking."""
        ended = await self._store.delete_user(user_id, keep_sid=keep_sid)
        for session in ended:
            await self._forget(session)
            self._audit.event(event, request, user_id=user_id, sid=session.sid)
        if apps:
            # codes and device approvals not yet redeemed die too: none issued before now counts
            await self._families.close_pending(user_id)
            for family in await self._families.of_user(user_id):
                await self.end_family(family.family_id, event="family.revoked", request=request)
            await self._consents.forget(user_id)
        return ended

    async def end_family(
        self,
        family_id: str,
        *,
        event: str,
        request: Request | None = None,
    ) -> Family | None:
        """Revoke a refresh family: its refresh token stops working at once, and the APIs refuse
        every access token minted from it. The family, if it was live."""
        family = await self._families.revoke(family_id)
        # published even when the family had already ended: a code reused before its family
        # started must still kill whatever the first use minted
        await self._publish("family", family_id)
        if family is not None:
            self._audit.event(
                event,
                request,
                user_id=family.user_id,
                family=family.family_id,
                client_id=family.client_id,
            )
        return family

    async def end_client(self, client_id: str) -> int:
        """Everything a removed client holds: every family granted to it, and every consent."""
        ended = 0
        for family_id in await self._families.of_client(client_id):
            ended += await self.end_family(family_id, event="family.revoked") is not None
        await self._consents.forget_client(client_id)
        return ended

    async def end_token(self, jti: str) -> None:
        """Revoke one access token by its `jti` (remembered as long as any token may live)."""
        await self._publish("jti", jti)

    async def _forget(self, session: Session) -> None:
        if self._tokens is not None:
            self._tokens.forget(session.sid)
        await self._publish("sid", session.sid)

    async def _publish(self, kind: Kind, value: str) -> None:
        now = self._clock.now()
        await self._feed.publish(
            RevocationEvent(kind=kind, value=value, at=now, until=now + self._lifetime)
        )
