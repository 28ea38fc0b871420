"""Idle (sliding) and absolute timeouts, enforced by the server whatever the cookie says."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bff.sessions import hash_session_id
from tests.conftest import JSON, System, login

pytestmark = pytest.mark.anyio


async def _user(system: System, query: str = "") -> int:
    return (await system.bff.get(f"/bff/user{query}", headers=JSON)).status_code


async def test_session_dies_after_thirty_idle_minutes(system: System, user_id: str) -> None:
    await login(system.bff)
    cookie = system.bff.cookies["__Host-sid"]
    system.clock.advance(30 * 60 - 1)
    assert await _user(system, "?slide=false") == 200
    system.clock.advance(1)
    assert await _user(system) == 401
    store = system.bff_app.state.components.session_store
    assert await store.get(hash_session_id(cookie)) is None  # expired records are removed


async def test_activity_slides_the_idle_timeout(system: System, user_id: str) -> None:
    await login(system.bff)
    for _ in range(5):
        system.clock.advance(20 * 60)
        assert await _user(system) == 200
    assert (await system.bff.get("/dashboard")).status_code == 200


async def test_slide_false_reports_without_extending(system: System, user_id: str) -> None:
    await login(system.bff)
    before = (await system.bff.get("/bff/user?slide=false", headers=JSON)).json()["session"]
    system.clock.advance(20 * 60)
    after = (await system.bff.get("/bff/user?slide=false", headers=JSON)).json()["session"]
    assert after["idle_expires_at"] == before["idle_expires_at"]
    system.clock.advance(10 * 60)
    assert await _user(system, "?slide=false") == 401


async def test_user_reports_idle_and_absolute_expiry(system: System, user_id: str) -> None:
    await login(system.bff)
    now = int(system.clock.now())
    session = (await system.bff.get("/bff/user", headers=JSON)).json()["session"]
    assert session == {
        "expires_at": now + 12 * 3600,
        "idle_expires_at": now + 30 * 60,
        "now": now,
    }
    system.clock.advance(600)
    session = (await system.bff.get("/bff/user", headers=JSON)).json()["session"]
    assert session["idle_expires_at"] == now + 600 + 30 * 60
    assert session["now"] == now + 600


async def test_absolute_timeout_ends_even_an_active_session(system: System, user_id: str) -> None:
    await login(system.bff)
    for _ in range(12 * 3 - 1):
        system.clock.advance(20 * 60)
        assert await _user(system) == 200
    system.clock.advance(20 * 60)  # 12 h since login
    assert await _user(system) == 401
    assert (await system.bff.get("/dashboard")).status_code == 303


@pytest.mark.bff_settings(session_idle_seconds=120, session_absolute_seconds=600)
async def test_lifetimes_are_configurable(system: System, user_id: str) -> None:
    await login(system.bff)
    system.clock.advance(100)
    assert await _user(system) == 200
    system.clock.advance(121)
    assert await _user(system) == 401
    await login(system.bff)
    for _ in range(5):
        system.clock.advance(100)
        assert await _user(system) == 200
    system.clock.advance(100)  # 600 s since login
    assert await _user(system) == 401


@pytest.mark.bff_settings(max_sessions_per_user=3)
async def test_past_the_cap_the_oldest_session_ends_and_its_tokens_die(
    system: System, user_id: str
) -> None:
    browsers = [system.new_browser() for _ in range(3)]
    tokens = []
    for browser in browsers:
        assert (await login(browser)).status_code == 303
        system.clock.advance(1)
        minted = await browser.post("/bff/token", headers=JSON)
        tokens.append(minted.json()["access_token"])
    assert [await _status(b) for b in browsers] == [200, 200, 200]
    newest = system.new_browser()
    await login(newest)
    # the oldest ended, at the BFF at once and at the API through the feed
    assert [await _status(b) for b in [*browsers, newest]] == [401, 200, 200, 200]
    store = system.bff_app.state.components.session_store
    assert len(await store.list_user(user_id)) == 3
    assert (await system.me_once_pushed(tokens[0])).status_code == 401
    second = {"Authorization": f"Bearer {tokens[1]}"}
    assert (await system.api.get("/me", headers=second)).status_code == 200


async def _status(browser: httpx.AsyncClient) -> int:
    return (await browser.get("/bff/user", headers=JSON)).status_code


async def test_the_sweep_deletes_expired_sessions_from_the_store(
    system: System, user_id: str
) -> None:
    components = system.bff_app.state.components
    await login(system.bff)
    await login(system.new_browser())
    assert len(await components.session_store.list_user(user_id)) == 2
    system.clock.advance(30 * 60)
    # the two sessions, and the account's 5-minute count of successful sign-ins
    assert await components.sweeper.sweep() == 3
    assert await components.session_store.list_user(user_id) == []


async def test_the_app_sweeps_while_it_is_up(system: System) -> None:
    assert "sweeper" in {task.get_name() for task in asyncio.all_tasks()}
