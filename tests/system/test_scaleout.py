"""Scale-out: two BFF instances sharing one real Redis are one truth. Each keeps hot sessions in
memory (no Redis read per request), yet a session revoked on one is refused by it at once and by
the other within 100 ms, through the revocation feed; login attempts are counted across both."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import cast

import httpx
import pytest
import redis
from starlette.applications import Starlette

from bff.app import create_app
from bff.clock import FrozenClock
from bff.security.passwords import Argon2Passwords
from bff.settings import Settings
from bff.users import SqliteUserStore
from tests.conftest import BFF_URL, JSON, PASSWORD, Measurements, SharedPasswords, login
from tests.secretwatch import WATCH

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

Instances = tuple[httpx.AsyncClient, httpx.AsyncClient]


@pytest.fixture
async def instances(
    bff_settings: Settings,
    redis_url: str,
    passwords: Argon2Passwords,
    tmp_path: Path,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    clock = FrozenClock()
    # sessions, counters and the revocation feed all from the one Redis URL, as in production
    settings = dataclasses.replace(bff_settings, session_store=redis_url)
    apps: list[Starlette] = [
        create_app(
            settings,
            users=SqliteUserStore(path=tmp_path / "users.sqlite3"),  # one user table for both
            passwords=SharedPasswords(passwords),
            clock=clock,
        )
        for _ in range(2)
    ]
    async with AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
        components = apps[0].state.components
        await components.users.add(
            email="alice@example.com",
            password_hash=await components.passwords.hash(PASSWORD),
            role="user",
            now=clock.now(),
        )
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url=BFF_URL,
                    event_hooks={"response": [WATCH.on_response]},
                )
            )
            for app in apps
        ]
        yield clients[0], clients[1]


async def test_a_session_made_on_one_instance_works_on_the_other(instances: Instances) -> None:
    first, second = instances
    assert (await login(first)).status_code == 303
    second.cookies.set("__Host-sid", first.cookies["__Host-sid"], domain="bff.test")
    assert (await second.get("/bff/user", headers=JSON)).status_code == 200


async def test_a_logout_on_one_instance_is_seen_by_the_other_at_once(instances: Instances) -> None:
    first, second = instances
    await login(first)
    cookie = first.cookies["__Host-sid"]
    second.cookies.set("__Host-sid", cookie, domain="bff.test")
    assert (await first.post("/bff/logout", headers=JSON)).status_code == 200
    assert (await second.get("/bff/user", headers=JSON)).status_code == 401


async def test_a_revocation_reaches_the_other_instances_memory_within_100_ms(
    instances: Instances, redis_url: str, measurements: Measurements
) -> None:
    first, second = instances
    await login(first)
    second.cookies.set("__Host-sid", first.cookies["__Host-sid"], domain="bff.test")
    assert (await second.get("/bff/user", headers=JSON)).status_code == 200  # now in its memory
    reads = _session_reads(redis_url)
    for _ in range(5):
        assert (await second.get("/bff/user", headers=JSON)).status_code == 200
    assert _session_reads(redis_url) == reads  # answered from memory, not from Redis

    assert (await first.post("/bff/logout", headers=JSON)).status_code == 200
    ended = time.monotonic()
    first.cookies.set("__Host-sid", second.cookies["__Host-sid"], domain="bff.test")
    assert (await first.get("/bff/user", headers=JSON)).status_code == 401  # at once
    while (await second.get("/bff/user", headers=JSON)).status_code != 401:
        assert time.monotonic() - ended < 1.0, "the other instance still serves the session"
        # one turn of the event loop between requests, as a real server takes between network
        # reads: in-process, an answer from memory never yields, and would starve the follower
        await asyncio.sleep(0)
    latency = time.monotonic() - ended
    measurements.add(f"session cache: revoked on BFF 1, refused by BFF 2 in {latency * 1e3:.1f} ms")
    assert latency < 0.1


def _session_reads(url: str) -> int:
    """How many reads Redis has served (GET is the session store's; nothing else runs between
    the test's requests but the feed follower's XRANGE and XREAD)."""
    with redis.Redis.from_url(url) as client:
        stats = cast("dict[str, dict[str, int]]", client.info("commandstats"))
    return stats.get("cmdstat_get", {}).get("calls", 0)


async def test_login_attempts_are_counted_across_instances(instances: Instances) -> None:
    first, second = instances
    for client in (first, second, first, second, first):
        assert (await login(client, password="wrong password here")).status_code == 401
    assert (await login(second, password="wrong password here")).status_code == 401  # opens a block
    assert (await login(first)).status_code == 429  # the block is shared
