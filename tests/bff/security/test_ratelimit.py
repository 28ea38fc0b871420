from __future__ import annotations

import dataclasses

import httpx
import pytest

from bff.app import create_app
from bff.clock import FrozenClock
from bff.errors import Throttled
from bff.security.ratelimit import LoginThrottle
from bff.sessions import MemorySessionStore
from tests.conftest import BFF_URL, PASSWORD, SharedPasswords, System, csrf_from, login

pytestmark = pytest.mark.anyio


async def _fail(throttle: LoginThrottle, times: int, *, email: str = "a@x.test", ip: str = "1.1.1.1") -> None:
    for _ in range(times):
        await throttle.failed(email=email, ip=ip)


async def _wait(throttle: LoginThrottle, *, email: str = "a@x.test", ip: str = "1.1.1.1") -> int:
    try:
        await throttle.check(email=email, ip=ip)
    except Throttled as exc:
        return exc.retry_after
    return 0


async def test_delay_starts_after_the_free_attempts_and_doubles() -> None:
    clock = FrozenClock()
    throttle = LoginThrottle(store=MemorySessionStore(), clock=clock)
    await _fail(throttle, 5)
    assert await _wait(throttle) == 0
    delays = []
    for _ in range(4):
        await _fail(throttle, 1)
        delays.append(await _wait(throttle))
        clock.advance(delays[-1])
        assert await _wait(throttle) == 0
    assert delays == [1, 2, 4, 8]


async def test_delay_is_capped_so_there_is_never_a_permanent_lockout() -> None:
    clock = FrozenClock()
    throttle = LoginThrottle(store=MemorySessionStore(), clock=clock)
    for _ in range(40):
        await _fail(throttle, 1)
        wait = await _wait(throttle)
        assert wait <= 15 * 60
        clock.advance(wait)
    assert await _wait(throttle) == 0


async def test_failures_are_forgotten_after_the_window() -> None:
    clock = FrozenClock()
    throttle = LoginThrottle(store=MemorySessionStore(), clock=clock)
    await _fail(throttle, 5)
    clock.advance(3600)
    await _fail(throttle, 1)
    assert await _wait(throttle) == 0


async def test_ip_is_throttled_across_accounts() -> None:
    throttle = LoginThrottle(store=MemorySessionStore(), clock=FrozenClock())
    for n in range(21):
        await throttle.failed(email=f"user{n}@x.test", ip="6.6.6.6")
    assert await _wait(throttle, email="fresh@x.test", ip="6.6.6.6") == 1
    assert await _wait(throttle, email="fresh@x.test", ip="7.7.7.7") == 0


async def test_success_resets_the_account_but_not_the_ip() -> None:
    throttle = LoginThrottle(store=MemorySessionStore(), clock=FrozenClock())
    for n in range(21):
        await throttle.failed(email=f"user{n}@x.test", ip="6.6.6.6")
    await throttle.succeeded(email="user0@x.test")
    assert await _wait(throttle, email="other@x.test", ip="6.6.6.6") > 0


async def test_login_is_throttled_with_429_and_retry_after(system: System, user_id: str) -> None:
    for _ in range(6):
        assert (await login(system.bff, password="wrong password here")).status_code == 401
    response = await login(system.bff)  # the right password, inside the block
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert "__Host-sid" not in system.bff.cookies
    system.clock.advance(1)
    assert (await login(system.bff)).status_code == 303


async def test_throttling_does_not_reveal_whether_the_account_exists(system: System, user_id: str) -> None:
    for email in ("alice@example.com", "ghost@example.com"):
        for _ in range(6):
            await login(system.bff, email=email, password="wrong password here")
        assert (await login(system.bff, email=email)).status_code == 429


async def test_x_forwarded_for_is_ignored_unless_from_a_trusted_proxy(
    bff_settings, clock: FrozenClock, passwords  # type: ignore[no-untyped-def]
) -> None:
    for trusted, expect_blocked in (((), True), (("127.0.0.0/8",), False)):
        settings = dataclasses.replace(bff_settings, trusted_proxies=trusted)
        app = create_app(
            settings, store=MemorySessionStore(), clock=clock, passwords=SharedPasswords(passwords)
        )
        async with app.router.lifespan_context(app):
            for n in range(21):
                await _post_login(app, f"user{n}@x.test", forwarded=f"203.0.113.{n}")
            response = await _post_login(app, "fresh@x.test", forwarded="203.0.113.99")
            # untrusted: every attempt counts against the socket peer, 127.0.0.1
            assert (response.status_code == 429) is expect_blocked


async def _post_login(app, email: str, *, forwarded: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
    async with httpx.AsyncClient(transport=transport, base_url=BFF_URL) as client:
        headers = {"X-Forwarded-For": forwarded}
        page = await client.get("/login", headers=headers)
        return await client.post(
            "/login",
            data={"csrf_token": csrf_from(page.text), "email": email, "password": PASSWORD + "x"},
            headers=headers,
        )
