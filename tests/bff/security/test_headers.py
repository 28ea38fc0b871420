from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bff.security.headers import SecurityHeadersMiddleware
from tests.conftest import System

pytestmark = pytest.mark.anyio


async def test_pages_carry_the_security_headers(system: System) -> None:
    response = await system.bff.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'nonce-" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "connect-src 'self' https://api.test" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_each_response_gets_a_fresh_nonce(system: System) -> None:
    first = (await system.bff.get("/login")).headers["content-security-policy"]
    second = (await system.bff.get("/login")).headers["content-security-policy"]
    assert first != second


async def test_unknown_path_is_a_json_404(system: System) -> None:
    response = await system.bff.get("/bff/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_jwks_is_public_and_cacheable(system: System) -> None:
    response = await system.bff.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"


async def test_health_and_readiness(system: System) -> None:
    assert (await system.bff.get("/healthz")).json() == {"status": "ok"}
    assert (await system.bff.get("/readyz")).json() == {"status": "ready"}


async def test_authorization_server_metadata_follows_rfc_8414(system: System) -> None:
    response = await system.bff.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    body = response.json()
    assert body["issuer"] == "https://bff.test"
    assert body["jwks_uri"] == "https://bff.test/.well-known/jwks.json"
    assert body["token_endpoint"] == "https://bff.test/oauth/token"
    assert body["scopes_supported"] == ["notes:read", "notes:write", "admin"]
    assert "password" not in body["grant_types_supported"]
    assert "implicit" not in body["grant_types_supported"]


@pytest.mark.parametrize(
    "grant", ["password", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer"]
)
async def test_token_endpoint_refuses_grants_it_does_not_serve(system: System, grant: str) -> None:
    response = await system.bff.post(
        "/oauth/token",
        data={"grant_type": grant, "username": "alice@example.com", "password": "x"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert response.headers["cache-control"] == "no-store"


async def test_token_endpoint_needs_a_grant_type(system: System) -> None:
    response = await system.bff.post("/oauth/token", data={"scope": "notes:read"})
    assert response.json()["error"] == "invalid_request"


@pytest.mark.bff_settings(trusted_proxies=("127.0.0.0/8",))
async def test_hsts_is_sent_behind_a_trusted_tls_proxy(system: System) -> None:
    plain = system.new_browser(base_url="http://bff.test")
    assert "strict-transport-security" not in (await plain.get("/login")).headers
    behind = await plain.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert behind.headers["strict-transport-security"].startswith("max-age=")


async def test_a_json_answer_allows_no_script_and_needs_no_nonce(system: System) -> None:
    response = await system.bff.get("/healthz")
    csp = response.headers["content-security-policy"]
    assert "script-src 'none'" in csp and "nonce-" not in csp
    assert "frame-ancestors 'none'" in csp and "connect-src 'self' https://api.test" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


async def test_each_response_gets_its_own_request_id(system: System) -> None:
    first = (await system.bff.get("/healthz")).headers["x-request-id"]
    second = (await system.bff.get("/healthz")).headers["x-request-id"]
    assert first != second and re.fullmatch("[0-9a-f]{16}", first)


async def test_a_header_the_app_set_is_replaced_never_sent_twice() -> None:
    async def page(request: Request) -> Response:
        headers = {"X-Frame-Options": "SAMEORIGIN", "Cache-Control": "max-age=60"}
        return HTMLResponse(f"<p>{request.state.csp_nonce}</p>", headers=headers)

    app = Starlette(
        routes=[Route("/", page)],
        middleware=[Middleware(SecurityHeadersMiddleware, connect_origins=(), trusted_proxies=())],
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bff.test"
    ) as client:
        response = await client.get("/")
    assert response.headers.get_list("x-frame-options") == ["DENY"]
    assert response.headers["cache-control"] == "max-age=60"  # the app's own, kept
    nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
    assert nonce and response.text == f"<p>{nonce.group(1)}</p>"
