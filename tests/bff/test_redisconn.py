"""The boundary every Redis store crosses: pooled sockets a Redis restart left dead are replaced
without failing a call, and a Redis that stops answering costs a call about a second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from bff.errors import StoreUnavailable
from bff.redisconn import TIMEOUT, RedisConnection
from tests.redisserver import RedisServer, running_redis_server

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

CONCURRENT = 8  # calls at once: as many pooled connections


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, free to be restarted or paused."""
    yield from running_redis_server()


@pytest.fixture
async def connection(own_redis: RedisServer) -> AsyncIterator[RedisConnection]:
    conn = RedisConnection(url=own_redis.url, name="test store")
    await conn.open()
    try:
        yield conn
    finally:
        await conn.close()


async def test_no_call_fails_on_a_socket_a_redis_restart_left_dead(
    connection: RedisConnection, own_redis: RedisServer
) -> None:
    await asyncio.gather(*(connection.ping() for _ in range(CONCURRENT)))  # fill the pool
    own_redis.stop()
    own_redis.start()
    # each pooled socket is dead: every call retries once on a fresh one instead of failing
    results = await asyncio.gather(
        *(connection.ping() for _ in range(CONCURRENT)), return_exceptions=True
    )
    assert [r for r in results if isinstance(r, BaseException)] == []


async def test_a_redis_that_stops_answering_costs_a_call_about_a_second(
    connection: RedisConnection, own_redis: RedisServer
) -> None:
    await connection.ping()
    own_redis.pause()  # the socket stays open, nothing answers: a partition
    try:
        start = time.monotonic()
        with pytest.raises(StoreUnavailable, match="test store timed out"):
            await connection.ping()
        assert time.monotonic() - start < TIMEOUT + 0.5
    finally:
        own_redis.resume()
    await connection.ping()  # and it is served again once Redis answers
