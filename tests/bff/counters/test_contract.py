"""One contract, every counter store: memory, SQLite and a real Redis count the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis

from bff.counters import CounterStore, MemoryCounterStore, SqliteCounterStore
from bff.counters.redis import RedisCounterStore
from tests.bff.conftest import BACKENDS

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0


@pytest.fixture(params=BACKENDS)
async def counter_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[CounterStore]:
    store: CounterStore
    if request.param == "memory":
        store = MemoryCounterStore()
    elif request.param == "sqlite":
        store = SqliteCounterStore(path=tmp_path / "counters.db")
    else:
        store = RedisCounterStore(url=request.getfixturevalue("redis_url"))
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def test_hit_counts_within_a_window_and_restarts_after_it(
    counter_store: CounterStore,
) -> None:
    counts = [await counter_store.hit("k", window=60, now=NOW + t) for t in (0, 30, 59.9)]
    assert counts == [1, 2, 3]
    assert await counter_store.hit("k", window=60, now=NOW + 60) == 1
    assert await counter_store.hit("k", window=60, now=NOW + 61) == 2


async def test_a_refund_lowers_a_live_count_but_never_opens_a_window_or_goes_negative(
    counter_store: CounterStore,
) -> None:
    assert await counter_store.hit("k", window=60, now=NOW, amount=-1) == 0
    assert await counter_store.counter("k", now=NOW) == (0, NOW)
    await counter_store.hit("k", window=60, now=NOW, amount=2)
    assert await counter_store.hit("k", window=60, now=NOW + 1, amount=-1) == 1
    assert await counter_store.hit("k", window=60, now=NOW + 2, amount=-5) == 0
    assert await counter_store.hit("k", window=60, now=NOW + 3) == 1
    assert await counter_store.hit("k", window=60, now=NOW + 61, amount=-1) == 0


async def test_hits_under_different_keys_are_counted_apart(counter_store: CounterStore) -> None:
    await counter_store.hit("a", window=60, now=NOW)
    await counter_store.hit("a", window=60, now=NOW)
    assert await counter_store.hit("b", window=60, now=NOW) == 1


async def test_reset_starts_the_count_again(counter_store: CounterStore) -> None:
    for _ in range(3):
        await counter_store.hit("k", window=60, now=NOW)
    await counter_store.reset("k")
    assert await counter_store.counter("k", now=NOW) == (0, NOW)
    assert await counter_store.hit("k", window=60, now=NOW + 1) == 1
    await counter_store.reset("never-hit")


async def test_counter_reports_the_count_and_the_window_end_until_it_passes(
    counter_store: CounterStore,
) -> None:
    assert await counter_store.counter("k", now=NOW) == (0, NOW)
    await counter_store.hit("k", window=60, now=NOW)
    await counter_store.hit("k", window=60, now=NOW + 10)
    assert await counter_store.counter("k", now=NOW + 10) == (2, NOW + 60)
    assert await counter_store.counter("k", now=NOW + 60) == (0, NOW + 60)


async def test_purge_forgets_ended_windows_only(counter_store: CounterStore) -> None:
    await counter_store.hit("short", window=10, now=NOW)
    await counter_store.hit("long", window=100, now=NOW)
    swept = await counter_store.purge(NOW + 10)
    assert swept in (0, 1)  # 0 where keys expire by themselves (Redis)
    assert await counter_store.counter("short", now=NOW + 10) == (0, NOW + 10)
    assert await counter_store.counter("long", now=NOW + 10) == (1, NOW + 100)
    assert await counter_store.hit("short", window=10, now=NOW + 10) == 1


@pytest.mark.redis
async def test_redis_counters_expire_with_their_window(redis_url: str) -> None:
    counter_store = RedisCounterStore(url=redis_url)
    await counter_store.open()
    await counter_store.hit("k", window=60, now=NOW)
    await counter_store.close()
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        assert 55_000 < client.pttl("bff:hit:k") <= 60_000


async def test_counters_reads_several_windows_at_once(counter_store: CounterStore) -> None:
    await counter_store.hit("a", window=60, now=NOW)
    await counter_store.hit("a", window=60, now=NOW)
    await counter_store.hit("b", window=10, now=NOW)
    held = await counter_store.counters(["a", "never", "b"], now=NOW + 10)
    assert held == [(2, NOW + 60), (0, NOW + 10), (0, NOW + 10)]
