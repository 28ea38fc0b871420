"""One contract for every revocation feed: ordered, shared between instances, replayable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from bff.clock import FrozenClock
from bff.revocation import MemoryRevocationFeed, RevocationFeed, SqliteRevocationFeed, follow
from bff.revocation.redis import RedisRevocationFeed
from contract.revocation import RevocationEvent

pytestmark = pytest.mark.anyio

Feeds = tuple[RevocationFeed, RevocationFeed]


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
    for handle in pair:
        await handle.open()
    yield pair
    for handle in pair:
        await handle.close()


def _event(value: str, *, at: float = 1000.0, until: float = 2000.0) -> RevocationEvent:
    return RevocationEvent(kind="sid", value=value, at=at, until=until)


async def test_events_come_back_in_order_with_increasing_ids(feeds: Feeds) -> None:
    writer, reader = feeds
    for value in ("a", "b", "c"):
        await writer.publish(_event(value))
    events = await reader.since(None)
    assert [e.value for e in events] == ["a", "b", "c"]
    assert len({e.id for e in events}) == 3
    assert [e.value for e in await reader.since(events[0].id)] == ["b", "c"]
    assert await reader.since(events[-1].id) == []


async def test_follow_replays_live_events_then_waits_for_new_ones(feeds: Feeds) -> None:
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


@pytest.mark.parametrize(
    "after", ["999999999999999999999999999999", "\u00b2", "x" * 500, "1-0", "..", "-1", "", None]
)
async def test_a_bad_last_event_id_replays_everything_instead_of_failing(
    feeds: Feeds, after: str | None
) -> None:
    writer, reader = feeds
    await writer.publish(_event("a"))
    assert [e.value for e in await reader.since(after)] == ["a"]


async def test_a_restarted_feed_replays_to_a_follower_that_resumes_with_an_old_id(
    tmp_path: Path,
) -> None:
    old = MemoryRevocationFeed()
    for value in ("a", "b", "c"):
        await old.publish(_event(value))
    last_seen = (await old.since(None))[-1].id
    restarted = MemoryRevocationFeed()  # a new process: the count starts again
    await restarted.publish(_event("after-restart"))
    assert [e.value for e in await restarted.since(last_seen)] == ["after-restart"]

    path = tmp_path / "bff.sqlite3"
    first = SqliteRevocationFeed(path=path)
    await first.open()
    for value in ("a", "b", "c"):
        await first.publish(_event(value))
    old_id = (await first.since(None))[-1].id
    await first.close()
    path.unlink()  # the file is recreated
    second = SqliteRevocationFeed(path=path)
    await second.open()
    await second.publish(_event("after-recreate"))
    assert [e.value for e in await second.since(old_id)] == ["after-recreate"]
    await second.close()
