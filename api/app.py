"""The API's app factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import cast

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import endpoints
from api.authentication import TokenVerifier
from api.clock import Clock, SystemClock
from api.errors import ApiError, InsufficientScope, InvalidToken
from api.jwks import JwksCache
from api.settings import Settings


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    jwks_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    clock = clock or SystemClock()
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
    verifier = TokenVerifier(
        jwks=jwks,
        clock=clock,
        issuer=settings.issuer,
        audience=settings.audience,
        algorithms=settings.algorithms,
        leeway=settings.leeway,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await jwks_client.aclose()

    app = Starlette(
        routes=endpoints.routes(verifier),
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.allowed_origins),
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type"],
                allow_credentials=False,
                max_age=600,
            )
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_exception},
        lifespan=lifespan,
    )
    app.state.jwks = jwks
    app.state.verifier = verifier
    return app


def error_response(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": code, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    error = cast(ApiError, exc)
    response = error_response(error.status, error.code, error.description)
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
