"""The JSON management endpoints for the JS app: /bff/user, /bff/token, /bff/logout."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.endpoints.common import (
    optional_text,
    read_params,
    require_csrf_header,
    require_same_origin,
)
from bff.endpoints.login import CLEAR_SITE_DATA
from bff.errors import Throttled, Unauthenticated
from bff.security.csrf import SAFE_METHODS
from bff.security.ratelimit import seconds_until
from bff.security.tokens import narrow_scopes, session_scopes
from bff.services import Services
from bff.sessions.base import Session
from bff.sessions.manager import clear_session_cookie
from bff.tokencache import session_bound_ttl

JS_CLIENT_ID = "bff"
MAX_PARAMS_BYTES = 2048
TOKENS_PER_WINDOW = 300  # 5 a second: far above any page's need, still a bound
TOKEN_WINDOW = 60.0
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class EmailCache:
    """Emails by user id for /bff/user, the hottest route: a user-store read per call would cost
    a fifth of its time. Emails do not change in place here, and a stale one is only shown."""

    def __init__(self, *, services: Services, ttl: float = 60.0, size: int = 10_000) -> None:
        self._s = services
        self._ttl = ttl
        self._size = size
        self._emails: dict[str, tuple[str | None, float]] = {}

    async def email_of(self, user_id: str) -> str | None:
        now = self._s.clock.now()
        cached = self._emails.get(user_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        user = await self._s.users.by_id(user_id)
        if len(self._emails) >= self._size:
            self._emails.clear()
        email = user.email if user else None
        self._emails[user_id] = (email, now + self._ttl)
        return email


class BffEndpoints:
    def __init__(self, services: Services) -> None:
        self.s = services
        self._emails = EmailCache(services=services)

    async def user(self, request: Request) -> Response:
        slide = request.query_params.get("slide", "true").lower() not in ("false", "0", "no")
        session = await self._session(request, slide=slide)
        return JSONResponse(
            {
                "sub": session.user_id,
                "email": await self._emails.email_of(session.user_id),
                "role": session.role,
                "sid": session.sid,
                "session": {
                    "expires_at": int(session.absolute_expires_at),
                    "idle_expires_at": int(session.idle_expires_at),
                },
            },
            headers=NO_STORE,
        )

    async def token(self, request: Request) -> Response:
        session = await self._session(request)
        await self._limit_tokens(session)
        params = await read_params(request, MAX_PARAMS_BYTES)
        scopes = narrow_scopes(optional_text(params, "scope"), session_scopes(session.role))
        minted = self.s.minter.mint(
            sub=session.user_id,
            scopes=scopes,
            client_id=JS_CLIENT_ID,
            ttl=session_bound_ttl(session, self.s.settings.access_token_ttl, self.s.clock.now()),
            sid=session.sid,
            role=session.role,
        )
        self.s.audit.event(
            "token.minted",
            request,
            user_id=session.user_id,
            sid=session.sid,
            jti=minted.jti,
            client_id=JS_CLIENT_ID,
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
        session = await self._session(request, slide=False)
        await self.s.revoker.end_session(session, event="logout", request=request)
        response = JSONResponse({"logged_out": True}, headers=NO_STORE)
        clear_session_cookie(response)
        response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response

    async def _limit_tokens(self, session: Session) -> None:
        # a stolen-cookie script minting in a loop is noisy and bounded
        now = self.s.clock.now()
        key = f"token:{session.sid}"
        if await self.s.sessions.store.hit(key, window=TOKEN_WINDOW, now=now) > TOKENS_PER_WINDOW:
            _, ends = await self.s.sessions.store.counter(key, now=now)
            raise Throttled("too many token requests", retry_after=seconds_until(ends, now))

    async def _session(self, request: Request, *, slide: bool = True) -> Session:
        # anonymous first (401, as the contract says), then the anti-forgery checks (403); the
        # session slides only once the request has passed them
        session = await self.s.sessions.current(request, slide=False)
        if session is None:
            raise Unauthenticated("no valid session")
        require_csrf_header(request)
        if request.method not in SAFE_METHODS:
            require_same_origin(request, self.s.settings.trusted_origins)
        return await self.s.sessions.slide(session) if slide else session


def routes(services: Services) -> list[Route]:
    endpoints = BffEndpoints(services)
    return [
        Route("/bff/user", endpoints.user, methods=["GET"]),
        Route("/bff/token", endpoints.token, methods=["POST"]),
        Route("/bff/logout", endpoints.logout, methods=["POST"]),
    ]
