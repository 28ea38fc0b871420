"""The BFF's app factory."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bff.audit import Audit
from bff.clock import Clock, SystemClock
from bff.endpoints import account, bffapi, login, oauth, pages, proxy, revocations, wellknown
from bff.errors import HTTPProblem, StoreUnavailable
from bff.revocation import RevocationFeed, Revoker, feed_from_url
from bff.secrets import read_or_create_secret
from bff.security.csrf import CsrfTokens
from bff.security.headers import SecurityHeadersMiddleware
from bff.security.keys import KeyRing
from bff.security.passwords import Argon2Passwords, Passwords
from bff.security.proxies import parse_networks
from bff.security.ratelimit import LoginThrottle
from bff.security.tokens import TokenMinter
from bff.services import Services
from bff.sessions import SessionStore, store_from_url
from bff.sessions.manager import SessionManager, SessionPolicy
from bff.settings import Settings
from bff.tokencache import SessionTokenCache
from bff.users import SqliteUserStore, UserStore
from contract.revocation import REVOCATION_SECRET_FILE
from contract.tokens import ACCEPTANCE_BOUND

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"
JSON_PREFIXES = ("/bff/", "/api/", "/oauth/", "/.well-known/")

log = logging.getLogger("bff")


def create_app(
    settings: Settings,
    *,
    store: SessionStore | None = None,
    users: UserStore | None = None,
    passwords: Passwords | None = None,
    clock: Clock | None = None,
    feed: RevocationFeed | None = None,
    api_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    services = build_services(
        settings,
        store=store,
        users=users,
        passwords=passwords,
        clock=clock,
        feed=feed,
        api_transport=api_transport,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.users.open()
        await services.sessions.store.open()
        await services.feed.open()
        services.keys.load_or_create()
        try:
            yield
        finally:
            await services.api.aclose()
            await services.feed.close()
            await services.sessions.store.close()
            await services.users.close()
            services.passwords.close()

    app = Starlette(
        routes=[
            *login.routes(services),
            *pages.routes(services),
            *account.routes(services),
            *bffapi.routes(services),
            *proxy.routes(services),
            *wellknown.routes(services),
            *oauth.routes(services),
            *revocations.routes(services, secret=revocation_secret(settings)),
            Mount("/static", StaticFiles(directory=FRONTEND / "static"), name="static"),
        ],
        middleware=[
            Middleware(
                SecurityHeadersMiddleware,
                connect_origins=(settings.api_origin,),
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
    app.router.redirect_slashes = False
    app.state.services = services
    return app


def revocation_secret(settings: Settings) -> str:
    """The credential APIs present to follow the revocation feed."""
    return settings.revocation_secret or read_or_create_secret(
        settings.var_dir / REVOCATION_SECRET_FILE
    )


def build_services(
    settings: Settings,
    *,
    store: SessionStore | None,
    users: UserStore | None,
    passwords: Passwords | None,
    clock: Clock | None,
    feed: RevocationFeed | None,
    api_transport: httpx.AsyncBaseTransport | None,
) -> Services:
    clock = clock or SystemClock()
    audit = Audit(clock=clock)
    session_store = store or store_from_url(settings.session_store_url)
    feed = feed or feed_from_url(settings.session_store_url)
    secret = settings.secret_key or read_or_create_secret(settings.var_dir / "secret_key")
    keys = KeyRing(
        path=settings.var_dir / "keys.json",
        alg=settings.signing_alg,
        clock=clock,
        publish_lead=settings.jwks_cache_seconds,
        retain_seconds=ACCEPTANCE_BOUND,
    )
    minter = TokenMinter(keys=keys, issuer=settings.issuer, audience=settings.audience, clock=clock)
    token_cache = SessionTokenCache(minter=minter, clock=clock, ttl=settings.access_token_ttl)
    templates = Jinja2Templates(directory=FRONTEND / "templates")
    templates.env.autoescape = True
    return Services(
        settings=settings,
        clock=clock,
        users=users or SqliteUserStore(path=settings.database_path),
        sessions=SessionManager(
            store=session_store,
            clock=clock,
            policy=SessionPolicy(
                idle_seconds=settings.session_idle_seconds,
                absolute_seconds=settings.session_absolute_seconds,
            ),
        ),
        passwords=passwords
        or Argon2Passwords(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            workers=settings.password_workers,
        ),
        throttle=LoginThrottle(store=session_store, clock=clock),
        csrf=CsrfTokens(secret),
        keys=keys,
        minter=minter,
        token_cache=token_cache,
        feed=feed,
        revoker=Revoker(
            store=session_store,
            feed=feed,
            token_cache=token_cache,
            clock=clock,
            audit=audit,
            token_lifetime=ACCEPTANCE_BOUND,
        ),
        audit=audit,
        templates=templates,
        api=httpx.AsyncClient(
            base_url=settings.api_base_url, transport=api_transport, follow_redirects=False
        ),
    )


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PREFIXES) or "text/html" not in request.headers.get(
        "accept", ""
    )


def _error(
    request: Request, status: int, code: str, description: str, headers: dict[str, str]
) -> Response:
    if _wants_json(request):
        body = {"error": code, "error_description": description}
        return JSONResponse(body, status_code=status, headers=headers)
    html = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{_escape(description)}</p>"
    return HTMLResponse(html, status_code=status, headers=headers)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
