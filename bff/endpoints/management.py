"""The management endpoints for the JS app (Duende BFF's name for them): /bff/user, /bff/token
and /bff/logout. Every one goes through the session guard's JSON order (401, X-CSRF, origin)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.audit import Audit
from bff.clock import Clock
from bff.endpoints.bodies import optional_text, read_params
from bff.endpoints.guard import SessionGuard
from bff.endpoints.responses import NO_STORE, FastJSONResponse, sign_out
from bff.errors import Forbidden
from bff.revocation import Revoker
from bff.security.ratelimit import RateLimit
from bff.security.tokens import narrow_scopes, session_scopes
from bff.security.unambiguous import one_param
from bff.tokencache import CLIENT_ID, SessionTokens
from bff.users import UserStore

MAX_PARAMS_BYTES = 2048
NO_SLIDE = ("false", "0", "no")


class EmailCache:
    """Emails by user id for /bff/user, the hottest route: a user-store read per call would cost
    a fifth of its time. Emails do not change in place here, and a stale one is only shown."""

    def __init__(
        self, *, users: UserStore, clock: Clock, ttl: float = 60.0, size: int = 10_000
    ) -> None:
        self._users = users
        self._clock = clock
        self._ttl = ttl
        self._size = size
        self._emails: dict[str, tuple[str | None, float]] = {}

    async def email_of(self, user_id: str) -> str | None:
        now = self._clock.now()
        cached = self._emails.get(user_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        user = await self._users.by_id(user_id)
        if len(self._emails) >= self._size:
            self._emails.clear()
        email = user.email if user else None
        self._emails[user_id] = (email, now + self._ttl)
        return email


@dataclass(frozen=True, kw_only=True)
class ManagementEndpoints:
    guard: SessionGuard
    emails: EmailCache
    tokens: SessionTokens
    # a stolen-cookie script minting in a loop is noisy and bounded
    token_limit: RateLimit
    revoker: Revoker
    audit: Audit
    clock: Clock
    js_tokens: bool = True  # False: pure-BFF mode (BFF_JS_TOKENS=off), /bff/token refuses

    def routes(self) -> list[Route]:
        return [
            Route("/bff/user", self.user, methods=["GET"]),
            Route("/bff/token", self.token, methods=["POST"]),
            Route("/bff/logout", self.logout, methods=["POST"]),
        ]

    async def user(self, request: Request) -> Response:
        slide = (one_param(request, "slide") or "true").lower() not in NO_SLIDE
        session = await self.guard.json(request, slide=slide)
        return FastJSONResponse(
            {
                "sub": session.user_id,
                "email": await self.emails.email_of(session.user_id),
                "role": session.role,
                "sid": session.sid,
                "session": {
                    "expires_at": int(session.absolute_expires_at),
                    "idle_expires_at": int(session.idle_expires_at),
                    # the BFF's clock, so a page counts down on its own clock whatever its skew
                    "now": int(self.clock.now()),
                },
            },
            headers=NO_STORE,
        )

    async def token(self, request: Request) -> Response:
        session = await self.guard.json(request)
        if not self.js_tokens:
            # after the guard: an anonymous caller learns nothing of the configuration
            raise Forbidden("tokens for JavaScript are turned off here (pure-BFF mode): use /api/*")
        await self.token_limit.enforce(session.sid, "too many token requests")
        params = await read_params(request, MAX_PARAMS_BYTES)
        scopes = narrow_scopes(optional_text(params, "scope"), session_scopes(session.role))
        minted = self.tokens.mint(session, scopes=scopes)
        self.audit.event(
            "token.minted",
            request,
            user_id=session.user_id,
            sid=session.sid,
            jti=minted.jti,
            client_id=CLIENT_ID,
            scope=minted.scope,
        )
        return JSONResponse(
            {
                "access_token": minted.token,
                "token_type": "Bearer",
                "expires_in": minted.expires_in,
                "scope": minted.scope,
            },
            headers=NO_STORE,
        )

    async def logout(self, request: Request) -> Response:
        session = await self.guard.json(request, slide=False)
        await self.revoker.end_session(session, event="logout", request=request)
        return sign_out(JSONResponse({"logged_out": True}, headers=NO_STORE))
