"""Idle (sliding) and absolute timeouts, enforced by the server whatever the cookie says."""

from __future__ import annotations

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
    store = system.bff_app.state.services.sessions.store
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
    assert session == {"expires_at": now + 12 * 3600, "idle_expires_at": now + 30 * 60}
    system.clock.advance(600)
    session = (await system.bff.get("/bff/user", headers=JSON)).json()["session"]
    assert session["idle_expires_at"] == now + 600 + 30 * 60


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
