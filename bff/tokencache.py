"""Tokens the BFF itself uses for a session (dashboard, proxy), cached until near expiry."""

from __future__ import annotations

from collections import OrderedDict

from bff.clock import Clock
from bff.security.tokens import MintedToken, TokenMinter, session_scopes
from bff.sessions.base import Session

CLIENT_ID = "bff"
REFRESH_MARGIN = 60.0  # mint a new token when less than this is left
MAX_ENTRIES = 10_000


def session_bound_ttl(session: Session, ttl: int, now: float) -> int:
    """A token never outlives the session it was minted for."""
    return max(1, min(ttl, int(session.expires_at() - now)))


class SessionTokenCache:
    def __init__(self, *, minter: TokenMinter, clock: Clock, ttl: int) -> None:
        self._minter = minter
        self._clock = clock
        self._ttl = ttl
        self._tokens: OrderedDict[str, MintedToken] = OrderedDict()

    def token_for(self, session: Session) -> MintedToken:
        cached = self._tokens.get(session.sid)
        if cached is not None and cached.expires_at - self._clock.now() > REFRESH_MARGIN:
            self._tokens.move_to_end(session.sid)
            return cached
        minted = self._minter.mint(
            sub=session.user_id,
            scopes=session_scopes(session.role),
            client_id=CLIENT_ID,
            ttl=session_bound_ttl(session, self._ttl, self._clock.now()),
            sid=session.sid,
            role=session.role,
        )
        self._tokens[session.sid] = minted
        if len(self._tokens) > MAX_ENTRIES:
            self._tokens.popitem(last=False)
        return minted

    def forget(self, sid: str) -> MintedToken | None:
        return self._tokens.pop(sid, None)
