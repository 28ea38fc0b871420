"""CSRF defences: HMAC tokens bound to the session (or, before login, to a pre-session cookie),
and the Origin / Sec-Fetch-Site check on unsafe methods."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from itsdangerous import (
    BadSignature,
    SignatureExpired,
    TimestampSigner,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)
from starlette.requests import Request

from bff.clock import Clock
from bff.security.unambiguous import one_header

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_TOKEN_MAX_AGE = 60 * 60


class _ClockedSigner(TimestampSigner):
    """itsdangerous's timed signer, reading the injected clock (tests freeze it)."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock.now())


class CsrfTokens:
    """Form tokens. Each purpose has its own salt, so a login token is never a session token."""

    def __init__(self, secret: str, *, clock: Clock) -> None:
        digest = {"digest_method": hashlib.sha256}
        self._session = URLSafeSerializer(secret, salt="bff.csrf.session", signer_kwargs=digest)
        self._login = URLSafeTimedSerializer(
            secret,
            salt="bff.csrf.login",
            signer=_ClockedSigner,
            signer_kwargs={**digest, "clock": clock},
        )

    def for_session(self, sid: str) -> str:
        return str(self._session.dumps(sid))

    def check_session(self, token: str, sid: str) -> bool:
        try:
            bound = self._session.loads(token)
        except BadSignature:
            return False
        return isinstance(bound, str) and hmac.compare_digest(bound, sid)

    def for_login(self, nonce: str) -> str:
        return str(self._login.dumps(_digest(nonce)))

    def check_login(self, token: str, nonce: str) -> bool:
        try:
            bound = self._login.loads(token, max_age=LOGIN_TOKEN_MAX_AGE)
        except (BadSignature, SignatureExpired):
            return False
        return isinstance(bound, str) and hmac.compare_digest(bound, _digest(nonce))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def is_same_origin(request: Request, trusted: frozenset[str]) -> bool:
    """Refuse an unsafe request that a browser says came from elsewhere. Requests without either
    header (curl, server-side clients) pass: they carry no ambient browser credentials to abuse
    beyond what the token or X-CSRF checks already demand. Either header sent twice is refused
    (400) before it is read."""
    site = one_header(request, "sec-fetch-site")
    origin = one_header(request, "origin")
    if site is not None and site not in ("same-origin", "none"):
        return False
    if origin is None or (origin == "null" and site == "same-origin"):
        # the browser itself vouches for same-origin (Sec-Fetch-Site cannot be set by a page)
        return True
    # configured origins only: the Host header is the client's to choose
    return origin in trusted
