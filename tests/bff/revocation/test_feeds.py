"""One contract for every revocation feed: ordered, shared between instances, replayable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from bff.clock import FrozenClock
from bff.revocation import (
    MemoryRevocationFeed,
    RevocationEvent,
    RevocationFeed,
    SqliteRevocationFeed,
    follow,
)
from bff.revocation.redis import RedisRevocationFeed

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def feeds(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[RevocationFeed, RevocationFeed]]:
    """Two handles on one feed, as two BFF processes would have."""
    if request.param == "memory":
        feed = MemoryRevocationFeed()
        pair: tuple[RevocationFeed, RevocationFeed] = (feed, feed)
    elif request.param == "sqlite":
        path = tmp_path / "bff.sqlite3"
        pair = (SqliteRevocationFeed(path=path), SqliteRevocationFeed(path=path))
    else:
        url = request.getfixturevalue("redis_url")
        pair = (RedisRevocationFeed(url=url), RedisRevocationFeed(url=url))
    for feed in pair:
        await feed.open()
    yield pair
    for feed in pair:
        await feed.close()


def _event(value: str, *, at: float = 1000.0, until: float = 2000.0) -> RevocationEvent:
    return RevocationEvent(kind="sid", value=value, at=at, until=until)


async def test_events_come_back_in_order_with_increasing_ids(feeds) -> None:  # type: ignore[no-untyped-def]
    writer, reader = feeds
    for value in ("a", "b", "c"):
        await writer.publish(_event(value))
    events = await reader.since(None)
    assert [e.value for e in events] == ["a", "b", "c"]
    assert len({e.id for e in events}) == 3
    assert [e.value for e in await reader.since(events[0].id)] == ["b", "c"]
    assert await reader.since(events[-1].id) == []


async def test_follow_replays_live_events_then_waits_for_new_ones(feeds) -> None:  # type: ignore[no-untyped-def]
    writer, reader = feeds
    clock = FrozenClock(1500.0)
    await writer.publish(_event("expired", until=1400.0))
    await writer.publish(_event("live"))
    seen: list[str] = []

    async def consume() -> None:
        async for event in follow(reader, after=None, clock=clock):
            seen.append(event.value)
            if len(seen) == 2:
                return

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(consume)
            await anyio.sleep(0)
            await writer.publish(_event("new"))
    assert seen == ["live", "new"]  # the expired one is not replayed


async def test_event_serialises_to_the_wire_format() -> None:
    event = RevocationEvent(kind="jti", value="abc", at=1.5, until=2.5, id="7")
    assert event.to_json() == '{"kind":"jti","value":"abc","at":1.5,"until":2.5}'
