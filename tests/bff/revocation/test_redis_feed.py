"""The Redis feed through an outage: every follower is served again after a Redis restart (no
call fails on a socket the restart left dead), and a Redis that stops answering ends a follow
within about a second, so the SSE stream ends and its API fails closed instead of trusting
heartbeats from a BFF that has lost its feed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from bff.clock import FrozenClock
from bff.errors import StoreUnavailable
from bff.redisconn import TIMEOUT
from bff.revocation import follow
from bff.revocation.events import POLL_SECONDS
from bff.revocation.redis import RedisRevocationFeed
from contract.revocation import RevocationEvent
from tests.redisserver import RedisServer, running_redis_server

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

FOLLOWERS = 4  # SSE streams of one BFF process, each polling the feed


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    yield from running_redis_server()


@pytest.fixture
async def feed(own_redis: RedisServer) -> AsyncIterator[RedisRevocationFeed]:
    opened = RedisRevocationFeed(url=own_redis.url)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


async def test_every_follower_is_served_again_after_a_redis_restart(
    feed: RedisRevocationFeed, own_redis: RedisServer
) -> None:
    await feed.publish(RevocationEvent(kind="sid", value="s1", at=1.0, until=2.0))
    await asyncio.gather(*(feed.wait(None, timeout=0.05) for _ in range(FOLLOWERS)))
    own_redis.stop()
    own_redis.start()  # no persistence here: the stream is empty, the sockets are dead
    replays = await asyncio.gather(
        *(feed.since(None) for _ in range(FOLLOWERS)), return_exceptions=True
    )
    assert replays == [[]] * FOLLOWERS


async def test_a_redis_that_stops_answering_ends_a_follow_within_about_a_second(
    feed: RedisRevocationFeed, own_redis: RedisServer
) -> None:
    following = follow(feed, after=None, clock=FrozenClock())
    own_redis.pause()  # sockets open, nothing answers: a partition, or a hung server
    try:
        start = time.monotonic()
        with pytest.raises(StoreUnavailable, match="revocation feed"):
            await anext(following)
        assert time.monotonic() - start < TIMEOUT + POLL_SECONDS + 0.5
    finally:
        own_redis.resume()
