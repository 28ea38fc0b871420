from __future__ import annotations

import re

import pytest

from bff.security.tokens import MintedToken
from bff.tokencache import SessionTokenCache
from tests.conftest import System, login

pytestmark = pytest.mark.anyio


async def test_dashboard_redirects_anonymous_users_to_login(system: System) -> None:
    response = await system.bff.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fdashboard"


async def test_dashboard_shows_the_api_answer_without_exposing_the_token(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    response = await system.bff.get("/dashboard")
    assert response.status_code == 200
    assert f'<dd id="me-sub">{user_id}</dd>' in response.text
    assert '<dd id="me-client">bff</dd>' in response.text
    assert "eyJ" not in response.text  # no JWT in the page
    assert response.headers["cache-control"] == "no-store"


async def test_dashboard_reuses_its_cached_token_until_near_expiry(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    cache = system.bff_app.state.components.token_cache
    await system.bff.get("/dashboard")
    sid = (await system.bff.get("/bff/user", headers={"X-CSRF": "1"})).json()["sid"]
    first = _cached(cache, sid).jti
    await system.bff.get("/dashboard")
    assert _cached(cache, sid).jti == first
    system.clock.advance(250)  # less than 60 s left
    await system.bff.get("/dashboard")
    assert _cached(cache, sid).jti != first


async def test_app_page_loads_scripts_with_the_csp_nonce(system: System, user_id: str) -> None:
    await login(system.bff)
    response = await system.bff.get("/app")
    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
    assert nonce
    scripts = re.findall(r"<script[^>]*>", response.text)
    assert scripts and all(f'nonce="{nonce.group(1)}"' in tag for tag in scripts)
    assert 'data-api="https://api.test"' in response.text


async def test_index_sends_to_login_or_dashboard(system: System, user_id: str) -> None:
    assert (await system.bff.get("/")).headers["location"] == "/login"
    await login(system.bff)
    assert (await system.bff.get("/")).headers["location"] == "/dashboard"


async def test_login_page_escapes_the_next_parameter(system: System) -> None:
    response = await system.bff.get('/login?next=/x"><script>alert(1)</script>')
    assert "<script>alert(1)" not in response.text


def _cached(cache: SessionTokenCache, sid: str) -> MintedToken:
    token = cache.cached(sid)
    assert token is not None, "no token cached for the session"
    return token
