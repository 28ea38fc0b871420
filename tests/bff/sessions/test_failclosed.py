"""A BFF on Redis fails closed while Redis is down (503, no page, no token, never 500) and
recovers by itself when it returns."""

from __future__ import annotations

import logging

import httpx
import pytest

from bff.sessions import SessionStore
from bff.sessions.redis import RedisSessionStore
from tests.conftest import JSON, PASSWORD, System, login
from tests.redisserver import RedisServer

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

UNAVAILABLE = "temporarily_unavailable"


@pytest.fixture
def store(outage_redis: RedisServer) -> SessionStore:
    # overrides tests/conftest.py's memory store, so `system` runs the BFF on this Redis
    return RedisSessionStore(url=outage_redis.url)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"] == UNAVAILABLE
    assert response.headers["retry-after"]
    assert "__Host-sid" not in response.headers.get("set-cookie", "")
    assert "access_token" not in response.text


async def test_every_session_route_answers_503_while_redis_is_down(
    system: System, user_id: str, outage_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert (await login(system.bff)).status_code == 303
    cookie_value = system.bff.cookies["__Host-sid"]
    login_page = await system.new_browser().get("/login")  # the form itself needs no store
    outage_redis.stop()

    assert_unavailable(await system.bff.get("/bff/user", headers=JSON))
    assert_unavailable(await system.bff.post("/bff/token", headers=JSON))
    assert_unavailable(await system.bff.get("/dashboard"))
    assert_unavailable(await login(system.bff))  # holds a session cookie
    assert_unavailable(await login(system.new_browser()))  # a fresh browser
    assert (await system.bff.get("/readyz")).status_code == 503
    assert login_page.status_code == 200
    # nothing secret in the logs while failing: no session id, no password
    assert cookie_value not in caplog.text and PASSWORD not in caplog.text


async def test_a_page_request_gets_a_503_page_not_the_dashboard(
    system: System, user_id: str, outage_redis: RedisServer
) -> None:
    await login(system.bff)
    outage_redis.stop()
    response = await system.bff.get("/dashboard", headers={"Accept": "text/html"})
    assert response.status_code == 503
    assert "alice@example.com" not in response.text


async def test_the_same_bff_recovers_by_itself_when_redis_returns(
    system: System, user_id: str, outage_redis: RedisServer
) -> None:
    await login(system.bff)
    outage_redis.stop()
    assert (await system.bff.get("/readyz")).status_code == 503
    outage_redis.start()  # same port, empty: persistence is off, every session is gone

    assert (await system.bff.get("/readyz")).json() == {"status": "ready"}
    assert (await system.bff.get("/bff/user", headers=JSON)).status_code == 401
    assert (await login(system.bff)).status_code == 303
    minted = await system.bff.post("/bff/token", headers=JSON)
    assert minted.status_code == 200 and minted.json()["access_token"]
