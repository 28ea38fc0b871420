"""Scale-out: two BFF instances sharing one real Redis are one truth. A session revoked on one is
dead on the other at its very next request, and login attempts are counted across both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from bff.app import create_app
from bff.clock import FrozenClock
from bff.revocation.redis import RedisRevocationFeed
from bff.sessions.redis import RedisSessionStore
from bff.settings import Settings
from bff.users import SqliteUserStore
from tests.conftest import BFF_URL, JSON, PASSWORD, SharedPasswords, login
from tests.secretwatch import WATCH

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


@pytest.fixture
async def instances(
    bff_settings: Settings,
    redis_url: str,
    passwords,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    clock = FrozenClock()
    apps: list[Starlette] = [
        create_app(
            bff_settings,
            store=RedisSessionStore(url=redis_url),
            feed=RedisRevocationFeed(url=redis_url),
            users=SqliteUserStore(path=tmp_path / "users.sqlite3"),  # one user table for both
            passwords=SharedPasswords(passwords),
            clock=clock,
        )
        for _ in range(2)
    ]
    async with AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
        services = apps[0].state.components
        await services.users.add(
            email="alice@example.com",
            password_hash=await services.passwords.hash(PASSWORD),
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


async def test_a_session_made_on_one_instance_works_on_the_other(instances) -> None:  # type: ignore[no-untyped-def]
    first, second = instances
    assert (await login(first)).status_code == 303
    second.cookies.set("__Host-sid", first.cookies["__Host-sid"], domain="bff.test")
    assert (await second.get("/bff/user", headers=JSON)).status_code == 200


async def test_a_logout_on_one_instance_is_seen_by_the_other_at_once(instances) -> None:  # type: ignore[no-untyped-def]
    first, second = instances
    await login(first)
    cookie = first.cookies["__Host-sid"]
    second.cookies.set("__Host-sid", cookie, domain="bff.test")
    assert (await first.post("/bff/logout", headers=JSON)).status_code == 200
    assert (await second.get("/bff/user", headers=JSON)).status_code == 401


async def test_login_attempts_are_counted_across_instances(instances) -> None:  # type: ignore[no-untyped-def]
    first, second = instances
    for client in (first, second, first, second, first):
        assert (await login(client, password="wrong password here")).status_code == 401
    assert (await login(second, password="wrong password here")).status_code == 401  # opens a block
    assert (await login(first)).status_code == 429  # the block is shared
