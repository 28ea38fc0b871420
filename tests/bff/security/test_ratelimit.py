from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from pathlib import Path

import anyio
import httpx
import pytest
from starlette.applications import Starlette

from bff.app import create_app
from bff.clock import FrozenClock
from bff.counters import CounterStore, MemoryCounterStore, SqliteCounterStore
from bff.errors import Throttled
from bff.security.passwords import Argon2Passwords
from bff.security.ratelimit import (
    ACCOUNT,
    ACCOUNT_FROM_IP,
    CLIENT_IP,
    LoginThrottle,
    RateLimit,
    SubjectKeys,
    client_network,
)
from bff.sessions import MemorySessionStore
from bff.settings import Settings as BffSettings
from tests.conftest import BFF_URL, PASSWORD, SharedPasswords, System, csrf_from, login

pytestmark = pytest.mark.anyio

IP_FREE = CLIENT_IP.free


def _throttle(
    clock: FrozenClock, counters: CounterStore | None = None, *, successes: int = 10
) -> LoginThrottle:
    return LoginThrottle(
        counters=counters or MemoryCounterStore(),
        clock=clock,
        keys=SubjectKeys("test-secret"),
        successes=successes,
    )


async def _attempt(throttle: LoginThrottle, *, email: str = "a@x.test", ip: str = "1.1.1.1") -> int:
    """0 when the attempt may be checked, else the Retry-After it got."""
    try:
        await throttle.admit(email=email, ip=ip)
    except Throttled as exc:
        return exc.retry_after
    return 0


async def test_delay_starts_after_the_free_attempts_and_doubles() -> None:
    clock = FrozenClock()
    throttle = _throttle(clock)
    assert [await _attempt(throttle) for _ in range(5)] == [0] * 5
    delays = []
    for _ in range(4):
        assert await _attempt(throttle) == 0  # the one attempt that opens the block is checked
        delays.append(await _attempt(throttle))  # the next one waits
        clock.advance(delays[-1])
    assert delays == [1, 2, 4, 8]


async def test_attempts_inside_a_block_are_not_counted() -> None:
    clock = FrozenClock()
    throttle = _throttle(clock)
    for _ in range(6):
        await _attempt(throttle)
    assert [await _attempt(throttle) for _ in range(50)] == [1] * 50
    clock.advance(1)
    assert await _attempt(throttle) == 0
    assert await _attempt(throttle) == 2  # the delay grew by one step, not by fifty


async def test_delay_is_capped_so_there_is_never_a_permanent_lockout() -> None:
    clock = FrozenClock()
    throttle = _throttle(clock)
    checked = 0
    for _ in range(200):
        wait = await _attempt(throttle)
        assert wait <= 15 * 60
        checked += wait == 0
        clock.advance(wait)
    assert checked >= 100  # one attempt in two is checked, whatever the count
    assert max(await _attempt(throttle), 0) <= 15 * 60


async def test_attempts_are_forgotten_after_the_window() -> None:
    clock = FrozenClock()
    throttle = _throttle(clock)
    for _ in range(5):
        await _attempt(throttle)
    clock.advance(3600)
    assert [await _attempt(throttle) for _ in range(5)] == [0] * 5


async def test_a_guesser_from_one_address_cannot_lock_the_owner_out() -> None:
    clock = FrozenClock()
    throttle = _throttle(clock)
    refused = 0
    for second in range(3 * 3600):  # the attacker tries every second for three hours
        await _attempt(throttle, email="victim@x.test", ip="203.0.113.7")
        if second % 31 == 0:  # the owner, from home (within the 10 sign-ins per 5 minutes)
            refused += await _attempt(throttle, email="victim@x.test", ip="198.51.100.1") > 0
            await throttle.succeeded(email="victim@x.test", ip="198.51.100.1")
        clock.advance(1)
    assert refused == 0


async def test_guessing_one_account_from_many_addresses_is_capped_too() -> None:
    throttle = _throttle(FrozenClock())
    for n in range(ACCOUNT.free + 1):
        assert await _attempt(throttle, email="a@x.test", ip=f"10.0.{n // 250}.{n % 250}") == 0
    assert await _attempt(throttle, email="a@x.test", ip="10.9.9.9") > 0


async def test_ip_is_throttled_across_accounts() -> None:
    throttle = _throttle(FrozenClock())
    for n in range(IP_FREE + 1):
        assert await _attempt(throttle, email=f"user{n}@x.test", ip="6.6.6.6") == 0
    assert await _attempt(throttle, email="fresh@x.test", ip="6.6.6.6") == 1
    assert await _attempt(throttle, email="fresh@x.test", ip="7.7.7.7") == 0


async def test_success_resets_the_account_and_refunds_only_its_own_ip_attempt() -> None:
    throttle = _throttle(FrozenClock())
    for n in range(IP_FREE - 1):
        await _attempt(throttle, email=f"user{n}@x.test", ip="6.6.6.6")
    await _attempt(throttle, email="owner@x.test", ip="6.6.6.6")
    await throttle.succeeded(email="owner@x.test", ip="6.6.6.6")
    # the refund leaves IP_FREE - 1: one free attempt and the one opening a block are checked
    assert await _attempt(throttle, email="other@x.test", ip="6.6.6.6") == 0
    assert await _attempt(throttle, email="other@x.test", ip="6.6.6.6") == 0
    assert await _attempt(throttle, email="other@x.test", ip="6.6.6.6") > 0


async def test_many_people_behind_one_address_can_all_sign_in() -> None:
    throttle = _throttle(FrozenClock())
    for n in range(100):
        assert await _attempt(throttle, email=f"user{n}@x.test", ip="10.0.0.1") == 0
        await throttle.succeeded(email=f"user{n}@x.test", ip="10.0.0.1")


async def test_an_account_past_its_sign_ins_is_refused_before_its_password_is_checked() -> None:
    clock = FrozenClock()
    throttle = _throttle(clock, successes=3)
    for _ in range(3):
        assert await _attempt(throttle, email="a@x.test") == 0
        await throttle.succeeded(email="a@x.test", ip="1.1.1.1")
    assert await _attempt(throttle, email="a@x.test", ip="9.9.9.9") == 5 * 60  # from anywhere
    assert await _attempt(throttle, email="b@x.test") == 0  # another account is not concerned
    clock.advance(5 * 60)
    assert await _attempt(throttle, email="a@x.test") == 0


async def test_a_sign_in_past_the_allowance_is_refused_even_after_its_check() -> None:
    throttle = _throttle(FrozenClock(), successes=1)
    # two concurrent sign-ins both admitted before either succeeded
    assert await _attempt(throttle) == await _attempt(throttle) == 0
    await throttle.succeeded(email="a@x.test", ip="1.1.1.1")
    with pytest.raises(Throttled) as refused:
        await throttle.succeeded(email="a@x.test", ip="1.1.1.1")
    assert refused.value.retry_after == 5 * 60


async def test_only_right_passwords_spend_the_sign_ins() -> None:
    throttle = _throttle(FrozenClock(), successes=2)
    for _ in range(2):
        for _ in range(ACCOUNT_FROM_IP.free - 1):  # wrong passwords: admitted, never succeeded
            assert await _attempt(throttle) == 0
        assert await _attempt(throttle) == 0  # the right one
        await throttle.succeeded(email="a@x.test", ip="1.1.1.1")
    assert await _attempt(throttle) == 5 * 60  # two sign-ins spent; eight wrong ones spent none


async def test_a_refunded_attempt_was_never_counted() -> None:
    throttle = _throttle(FrozenClock())
    for _ in range(3 * ACCOUNT_FROM_IP.free):  # every one shed by the hasher, so unchecked
        assert await _attempt(throttle) == 0
        await throttle.refund(email="a@x.test", ip="1.1.1.1")
    for _ in range(ACCOUNT_FROM_IP.free + 1):  # all five free attempts are still there
        assert await _attempt(throttle) == 0
    assert await _attempt(throttle) > 0


async def test_concurrent_guesses_cannot_outrun_the_throttle(system: System, user_id: str) -> None:
    page = await system.bff.get("/login")
    token = csrf_from(page.text)
    statuses: list[int] = []

    async def guess(n: int) -> None:
        response = await system.bff.post(
            "/login",
            data={"csrf_token": token, "email": "alice@example.com", "password": f"guess {n}"},
        )
        statuses.append(response.status_code)

    async with anyio.create_task_group() as group:
        for n in range(40):
            group.start_soon(guess, n)
    assert statuses.count(401) == 6  # five free attempts and the one that opened the block
    assert statuses.count(429) == 34


async def test_login_is_throttled_with_429_and_retry_after(system: System, user_id: str) -> None:
    for _ in range(6):
        assert (await login(system.bff, password="wrong password here")).status_code == 401
    response = await login(system.bff)  # the right password, inside the block
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert "__Host-sid" not in system.bff.cookies
    system.clock.advance(1)
    assert (await login(system.bff)).status_code == 303


async def test_throttling_does_not_reveal_whether_the_account_exists(
    system: System, user_id: str
) -> None:
    for email in ("alice@example.com", "ghost@example.com"):
        for _ in range(6):
            await login(system.bff, email=email, password="wrong password here")
        assert (await login(system.bff, email=email)).status_code == 429


async def test_x_forwarded_for_is_ignored_unless_from_a_trusted_proxy(
    bff_settings: BffSettings,
    clock: FrozenClock,
    passwords: Argon2Passwords,
) -> None:
    for trusted, expect_blocked in (((), True), (("127.0.0.0/8",), False)):
        settings = dataclasses.replace(bff_settings, trusted_proxies=trusted)
        app = create_app(
            settings,
            store=MemorySessionStore(),
            counters=MemoryCounterStore(),
            clock=clock,
            passwords=SharedPasswords(passwords),
        )
        async with app.router.lifespan_context(app):
            for n in range(IP_FREE + 1):
                await _post_login(app, f"user{n}@x.test", forwarded=f"203.0.113.{n}")
            response = await _post_login(app, "fresh@x.test", forwarded="203.0.113.99")
            # untrusted: every attempt counts against the socket peer, 127.0.0.1
            assert (response.status_code == 429) is expect_blocked


async def _post_login(app: Starlette, email: str, *, forwarded: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
    async with httpx.AsyncClient(transport=transport, base_url=BFF_URL) as client:
        headers = {"X-Forwarded-For": forwarded}
        page = await client.get("/login", headers=headers)
        return await client.post(
            "/login",
            data={"csrf_token": csrf_from(page.text), "email": email, "password": PASSWORD + "x"},
            headers=headers,
        )


async def test_a_rate_limit_refuses_past_its_limit_until_its_window_ends() -> None:
    clock = FrozenClock()
    limit = RateLimit(
        counters=MemoryCounterStore(),
        clock=clock,
        keys=SubjectKeys("test-secret"),
        name="test",
        limit=2,
        window=60,
    )
    await limit.enforce("s", "slow down")
    clock.advance(10)
    await limit.enforce("s", "slow down")
    with pytest.raises(Throttled) as refused:
        await limit.enforce("s", "slow down")
    assert refused.value.retry_after == 50
    await limit.enforce("other", "slow down")  # subjects are counted apart
    clock.advance(50)
    await limit.enforce("s", "slow down")


async def test_the_counter_store_never_holds_what_was_typed_nor_the_address(
    tmp_path: Path,
) -> None:
    counters = SqliteCounterStore(path=tmp_path / "counters.db")
    await counters.open()
    try:
        throttle = _throttle(FrozenClock(), counters)
        typed = "Tr0ub4dor&3-typed-in-the-email-box"
        await throttle.admit(email=typed, ip="203.0.113.7")
    finally:
        await counters.close()
    dump = "\n".join(sqlite3.connect(tmp_path / "counters.db").iterdump())
    assert "counters" in dump
    assert typed not in dump and "203.0.113.7" not in dump
    # nor its unsalted hash: keys are HMACs under the secret key
    assert hashlib.sha256(typed.encode()).hexdigest()[:32] not in dump


def test_subject_keys_depend_on_the_secret() -> None:
    assert SubjectKeys("one")("alice@example.com") != SubjectKeys("two")("alice@example.com")
    assert SubjectKeys("one")("alice@example.com") == SubjectKeys("one")("alice@example.com")


def test_ipv6_clients_are_grouped_by_their_64_and_ipv4_stays_whole() -> None:
    assert client_network("2001:db8:1:2:aaaa::1") == client_network("2001:db8:1:2:ffff::9")
    assert client_network("2001:db8:1:2::1") != client_network("2001:db8:1:3::1")
    assert client_network("::ffff:198.51.100.7") == "198.51.100.7"
    assert client_network("198.51.100.7") != client_network("198.51.100.8")


async def test_rotating_addresses_inside_one_ipv6_64_does_not_buy_more_guesses() -> None:
    throttle = _throttle(FrozenClock())
    for n in range(ACCOUNT_FROM_IP.free):
        assert await _attempt(throttle, email="a@x.test", ip=f"2001:db8:0:1::{n + 1:x}") == 0
    assert await _attempt(throttle, email="a@x.test", ip="2001:db8:0:1::ff") == 0  # opens it
    assert await _attempt(throttle, email="a@x.test", ip="2001:db8:0:1::fe") > 0
    assert await _attempt(throttle, email="a@x.test", ip="2001:db8:0:2::1") == 0  # the owner
