"""The BFF's app factory: the Starlette app around the components (bff.wiring), with the
security headers, and every error mapped to HTTP in one place."""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from html import escape
from http import HTTPStatus
from typing import cast

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from bff.clock import Clock
from bff.counters import CounterStore
from bff.errors import HTTPProblem, StoreUnavailable
from bff.records import RecordStore
from bff.revocation import RevocationFeed
from bff.routing import IndexedRouter
from bff.security.headers import SecurityHeadersMiddleware
from bff.security.passwords import Passwords
from bff.security.proxies import parse_networks
from bff.sessions import SessionStore
from bff.settings import Settings
from bff.users import UserStore
from bff.wiring import FRONTEND, Components

JSON_PREFIXES = ("/bff/", "/api/", "/oauth/", "/.well-known/")
PAGES = ("/oauth/authorize",)  # under a JSON prefix, but a browser page

log = logging.getLogger("bff")


def create_app(
    settings: Settings,
    *,
    store: SessionStore | None = None,
    counters: CounterStore | None = None,
    users: UserStore | None = None,
    passwords: Passwords | None = None,
    clock: Clock | None = None,
    feed: RevocationFeed | None = None,
    records: RecordStore | None = None,
    api_transport: httpx.AsyncBaseTransport | None = None,
    proxy_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    components = Components(
        settings,
        clock=clock,
        session_store=store,
        counters=counters,
        users=users,
        passwords=passwords,
        feed=feed,
        records=records,
        api_transport=api_transport,
        proxy_transport=proxy_transport,
    )
    routes = [
        *components.routes(),
        Mount("/static", StaticFiles(directory=FRONTEND / "static"), name="static"),
    ]

    def lifespan(app: Starlette) -> AbstractAsyncContextManager[None]:
        return components.running()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                SecurityHeadersMiddleware,
                # pure-BFF mode: the pages never call the API, so they may not
                connect_origins=(settings.api_origin,) if settings.js_tokens else (),
                trusted_proxies=parse_networks(settings.trusted_proxies),
            )
        ],
        exception_handlers={
            HTTPProblem: _problem,
            StoreUnavailable: _unavailable,
            HTTPException: _http_exception,
        },
        lifespan=lifespan,
    )
    # a slash redirect would be built from the client's Host header
    app.router = IndexedRouter(routes, redirect_slashes=False, lifespan=lifespan)
    app.state.components = components
    return app


def _wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith(JSON_PREFIXES) and path not in PAGES:
        return True
    return "text/html" not in request.headers.get("accept", "")


def _error(
    request: Request, status: int, code: str, description: str, headers: dict[str, str]
) -> Response:
    if _wants_json(request):
        body = {"error": code, "error_description": description}
        if request.url.path.startswith("/oauth/"):
            # RFC 6749 §5.1: every token endpoint answer, errors too, is uncached
            headers = {**headers, "Pragma": "no-cache"}
        return JSONResponse(body, status_code=status, headers=headers)
    return HTMLResponse(_error_page(status, description), status_code=status, headers=headers)


def _error_page(status: int, description: str) -> str:
    """The pages' design without a template (an error may come before the session is read):
    the stylesheet, the landmarks, the status and a way back."""
    try:
        title = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        title = str(status)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title} · Hybrid BFF</title><link rel="stylesheet" href="/static/css/app.css">'
        '</head><body><header class="site-header"><div class="site-header__inner">'
        '<a class="brand" href="/"><span class="brand__mark" aria-hidden="true"></span>'
        'Hybrid BFF</a></div></header><main id="main" class="container">'
        f'<section class="card card--narrow"><h1>{title}</h1>'
        f'<p class="notice notice--error" role="alert">{escape(description)}</p>'
        '<p><a class="btn btn--secondary" href="/">Back to the start</a></p>'
        "</section></main></body></html>"
    )


async def _problem(request: Request, exc: Exception) -> Response:
    problem = cast(HTTPProblem, exc)
    return _error(request, problem.status, problem.code, problem.description, problem.headers)


async def _unavailable(request: Request, exc: Exception) -> Response:
    # fail closed: no page, no token while the store cannot be checked
    log.warning("store unavailable: %s", exc)
    return _error(
        request,
        503,
        "temporarily_unavailable",
        "the service is temporarily unavailable",
        {"Retry-After": "5"},
    )


async def _http_exception(request: Request, exc: Exception) -> Response:
    error = cast(HTTPException, exc)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    return _error(request, error.status_code, code, str(error.detail), dict(error.headers or {}))
