from __future__ import annotations

import json
import re

import pytest

from bff.endpoints.rendering import iso_utc, utc
from bff.security.tokens import MintedToken
from bff.tokencache import SessionTokenCache
from tests.conftest import JSON, System, login

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
    tags = re.findall(r"<script[^>]*>", response.text)
    scripts = [tag for tag in tags if 'type="application/json"' not in tag]  # data is not run
    assert len(scripts) == 2  # the session watch and the app, both modules
    assert all(f'nonce="{nonce.group(1)}"' in tag and 'type="module"' in tag for tag in scripts)
    assert 'data-api="https://api.test"' in response.text
    assert 'data-mode="token"' in response.text


async def test_app_renders_the_first_notes_on_the_server_and_hands_them_to_the_script(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    token = (await system.bff.post("/bff/token", headers=JSON)).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    for title in ("first", "<img src=x onerror=alert(1)>"):
        added = await system.api.post("/notes", json={"title": title, "body": "b"}, headers=bearer)
        assert added.status_code == 201

    response = await system.bff.get("/app")

    assert response.status_code == 200
    page = response.text
    items = re.findall(r'<li class="item-list__item note" data-id="([^"]+)">', page)
    assert len(items) == 2  # readable with JavaScript off
    assert '<h3 class="item-list__title note-title">first</h3>' in page
    assert "<img src=x" not in page  # escaped in the markup and in the JSON
    data = re.search(r'<script type="application/json" id="initial-notes">(.*?)</script>', page)
    assert data
    notes = json.loads(data.group(1))
    assert [note["id"] for note in notes] == items
    assert notes[0]["title"] == "<img src=x onerror=alert(1)>"  # newest first
    assert 'data-count="2"' in page
    assert "eyJ" not in page  # the server's token stays on the server


async def test_app_without_notes_shows_its_empty_state(system: System, user_id: str) -> None:
    await login(system.bff)
    page = (await system.bff.get("/app")).text
    assert '<div class="empty-state" id="notes-empty">' in page  # not hidden
    assert '<script type="application/json" id="initial-notes">[]</script>' in page


@pytest.mark.bff_settings(js_tokens=False)
async def test_app_in_pure_bff_mode_tells_its_script_to_use_the_proxy(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    response = await system.bff.get("/app")
    assert 'data-mode="proxy"' in response.text
    assert "Pure-BFF mode" in response.text
    # nothing in the page may reach the API itself, a script injected into it neither
    assert "connect-src 'self';" in response.headers["content-security-policy"]
    assert "api.test" not in response.headers["content-security-policy"]


@pytest.mark.bff_settings(session_idle_seconds=120, session_poll_seconds=3)
async def test_signed_in_pages_carry_the_session_watch_settings(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    for path in ("/dashboard", "/app", "/sessions", "/account"):
        page = (await system.bff.get(path)).text
        # the warning is capped at half the idle timeout, or it would show from the start
        assert re.search(
            r'<body data-sid="[^"]+" data-poll-seconds="3" data-warning-seconds="60">', page
        ), path
        assert 'src="/static/js/session.js"' in page, path
    assert "session.js" not in (await system.bff.get("/login")).text


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


def test_timestamps_read_the_same_on_the_server_as_in_the_script() -> None:
    # app.js writes `toISOString().slice(0, 16)` + " UTC" and `toISOString()`
    assert utc(1_800_000_000) == "2027-01-15 08:00 UTC"
    assert iso_utc(1_800_000_000) == "2027-01-15T08:00:00.000Z"


async def test_a_browser_gets_its_error_as_a_page_in_the_design(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    html = {"Accept": "text/html"}
    # a post without its form token: refused, and shown as a page to a browser
    response = await system.bff.post(
        "/device", headers={**html, "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}
    )
    assert response.status_code == 403
    page = response.text
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in page and 'href="/static/css/app.css"' in page
    assert "<title>403 Forbidden · Hybrid BFF</title>" in page and "<main" in page
    crafted = await system.bff.get("/login?next=/a&next=<script>", headers=html)
    assert crafted.status_code == 400 and "<script>" not in crafted.text
