"""Access tokens for a session: minted within the session's life, and cached on the server for
the BFF's own calls (dashboard, proxy) until near their expiry."""

from __future__ import annotations

import math
from collections import OrderedDict

from bff.clock import Clock
from bff.errors import SessionEnding
from bff.security.tokens import MintedToken, TokenMinter, session_scopes
from bff.sessions.base import Session
from contract.tokens import CLOCK_SKEW

CLIENT_ID = "bff"
REFRESH_MARGIN = 60.0  # mint a new token when less than this is left
MAX_ENTRIES = 10_000


class SessionTokens:
    """Tokens for a session's user. A token ends CLOCK_SKEW before its session would: the API
    forgives that much on `exp`, so the token still dies with the session, leeway included. In a
    session's last CLOCK_SKEW seconds no token can be minted (SessionEnding, a 401)."""

    def __init__(self, *, minter: TokenMinter, clock: Clock, ttl: int) -> None:
        self._minter = minter
        self._clock = clock
        self._ttl = ttl

    def mint(self, session: Session, *, scopes: tuple[str, ...] | None = None) -> MintedToken:
        now = self._clock.now()
        ttl = min(self._ttl, math.floor(session.expires_at() - CLOCK_SKEW - now))
        if ttl < 1:
            raise SessionEnding("the session is about to end: sign in again")
        return self._minter.mint(
            sub=session.user_id,
            scopes=session_scopes(session.role) if scopes is None else scopes,
            client_id=CLIENT_ID,
            ttl=ttl,
            sid=session.sid,
            role=session.role,
        )


class SessionTokenCache:
    def __init__(self, *, tokens: SessionTokens, clock: Clock) -> None:
        self._tokens = tokens
        self._clock = clock
        self._cached: OrderedDict[str, MintedToken] = OrderedDict()

    def token_for(self, session: Session) -> MintedToken:
        cached = self._cached.get(session.sid)
        if cached is not None and cached.expires_at - self._clock.now() > REFRESH_MARGIN:
            self._cached.move_to_end(session.sid)
            return cached
        minted = self._tokens.mint(session)
        self._cached[session.sid] = minted
        if len(self._cached) > MAX_ENTRIES:
            self._cached.popitem(last=False)
        return minted

    def cached(self, sid: str) -> MintedToken | None:
        """The token held for a session, if any (what the dashboard and the proxy would send)."""
        return self._cached.get(sid)

    def forget(self, sid: str) -> MintedToken | None:
        return self._cached.pop(sid, None)
