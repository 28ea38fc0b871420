"""The API's app factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import cast

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import endpoints, schemas
from api.authentication import TokenVerifier
from api.clock import Clock, SystemClock
from api.errors import HTTPProblem, InsufficientScope, InvalidFields, InvalidToken
from api.headers import ApiHeadersMiddleware
from api.jwks import JwksCache
from api.notes import NoteStore, SqliteNoteStore
from api.revocation import (
    RevocationList,
    RevocationListener,
    RevocationSource,
    SseRevocationSource,
)
from api.settings import Settings

STARTUP_FEED_WAIT = 2.0  # seconds the start waits for the revocation replay (then 503s until it)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    jwks_transport: httpx.AsyncBaseTransport | None = None,
    notes: NoteStore | None = None,
    revocation_source: RevocationSource | None = None,
) -> Starlette:
    clock = clock or SystemClock()
    if notes is None:
        notes = SqliteNoteStore(path=settings.database_path, clock=clock)
    # no redirects, ever: a JWKS redirect is how key-injection attacks start
    jwks_client = httpx.AsyncClient(transport=jwks_transport, follow_redirects=False)
    jwks = JwksCache(
        url=settings.jwks_endpoint,
        client=jwks_client,
        clock=clock,
        algorithms=settings.algorithms,
        ttl=settings.jwks_ttl,
        min_refresh=settings.jwks_min_refresh,
        max_stale=settings.jwks_max_stale,
    )
    # the feed stream is long-lived: its own client, so a JWKS timeout policy never applies to it
    feed_client = httpx.AsyncClient(transport=jwks_transport, follow_redirects=False)
    listener = RevocationListener(
        source=revocation_source
        or SseRevocationSource(
            url=settings.revocation_endpoint,
            secret=settings.read_revocation_secret,
            client=feed_client,
        ),
        revocations=RevocationList(clock=clock),
        clock=clock,
        max_lag=settings.revocation_max_lag,
    )
    verifier = TokenVerifier(
        jwks=jwks,
        revocations=listener,
        clock=clock,
        issuer=settings.issuer,
        audience=settings.audience,
        algorithms=settings.algorithms,
        leeway=settings.leeway,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        following = asyncio.create_task(listener.run(), name="revocation-listener")
        try:
            notes.open()
            await listener.wait_ready(timeout=STARTUP_FEED_WAIT)
            yield
        finally:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
            notes.close()
            await feed_client.aclose()
            await jwks_client.aclose()

    app = Starlette(
        routes=endpoints.routes(verifier, notes, public_url=settings.public_url),
        middleware=[
            Middleware(
                ApiHeadersMiddleware,
                allow_origins=list(settings.allowed_origins),
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type"],
                max_age=600,
            ),
        ],
        exception_handlers={HTTPProblem: _problem, HTTPException: _http_exception},
        lifespan=lifespan,
    )
    # a slash redirect would be built from the client's Host header: an open redirect
    app.router.redirect_slashes = False
    app.state.jwks = jwks
    app.state.verifier = verifier
    app.state.revocations = listener
    app.state.notes = notes
    return app


def error_response(
    status: int, code: str, description: str, *, fields: dict[str, str] | None = None
) -> JSONResponse:
    body: schemas.Error = {"error": code, "error_description": description}
    if fields:
        body["fields"] = fields
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


async def _problem(request: Request, exc: Exception) -> Response:
    error = cast(HTTPProblem, exc)
    fields = error.fields if isinstance(error, InvalidFields) else None
    response = error_response(error.status, error.code, error.description, fields=fields)
    if isinstance(error, InvalidToken):
        response.headers["WWW-Authenticate"] = (
            f'Bearer error="invalid_token", error_description="{_quote(error.description)}"'
        )
    elif isinstance(error, InsufficientScope):
        response.headers["WWW-Authenticate"] = (
            f'Bearer error="insufficient_scope", scope="{error.scope}"'
        )
    return response


async def _http_exception(request: Request, exc: Exception) -> Response:
    error = cast(HTTPException, exc)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    response = error_response(error.status_code, code, str(error.detail))
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


def _quote(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")
