"""One contract, every grant-record store: memory, SQLite and a real Redis; compare-and-set is the
only way to change a record, and exactly one of many concurrent writers wins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from bff.records import MemoryRecordStore, Put, RecordStore, SqliteRecordStore
from bff.records.redis import RedisRecordStore
from tests.bff.conftest import BACKENDS

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0


@pytest.fixture(params=BACKENDS)
async def record_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[RecordStore]:
    store: RecordStore
    if request.param == "memory":
        store = MemoryRecordStore()
    elif request.param == "sqlite":
        store = SqliteRecordStore(path=tmp_path / "records.db")
    else:
        store = RedisRecordStore(url=request.getfixturevalue("redis_url"))
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def test_insert_then_get_returns_the_value_at_version_one(
    record_store: RecordStore,
) -> None:
    value = {"state": "live", "scopes": ["a", "b"], "n": 1.5, "who": "Gécko « x »"}
    assert await record_store.insert("t", "k", value, expires_at=NOW + 60, now=NOW)
    record = await record_store.get("t", "k", now=NOW)
    assert record is not None
    assert record.value == value and record.version == 1 and record.expires_at == NOW + 60


async def test_a_live_key_cannot_be_inserted_twice_but_an_expired_one_can(
    record_store: RecordStore,
) -> None:
    assert await record_store.insert("t", "k", {"n": 1}, expires_at=NOW + 60, now=NOW)
    assert not await record_store.insert("t", "k", {"n": 2}, expires_at=NOW + 60, now=NOW + 1)
    assert await record_store.insert("t", "k", {"n": 3}, expires_at=NOW + 200, now=NOW + 60)
    record = await record_store.get("t", "k", now=NOW + 61)
    assert record is not None and record.value == {"n": 3} and record.version == 1


async def test_kinds_keep_their_keys_apart(record_store: RecordStore) -> None:
    await record_store.insert("a", "k", {"n": 1}, expires_at=NOW + 60, now=NOW)
    assert await record_store.get("b", "k", now=NOW) is None


async def test_a_record_reads_as_absent_once_expired(record_store: RecordStore) -> None:
    await record_store.insert("t", "k", {"n": 1}, expires_at=NOW + 60, now=NOW)
    assert await record_store.get("t", "k", now=NOW + 59.9) is not None
    assert await record_store.get("t", "k", now=NOW + 60) is None


async def test_replace_needs_the_current_version(record_store: RecordStore) -> None:
    await record_store.insert("t", "k", {"n": 1}, expires_at=NOW + 60, now=NOW)
    assert await record_store.replace("t", "k", {"n": 2}, version=1, expires_at=NOW + 90, now=NOW)
    assert not await record_store.replace(
        "t", "k", {"n": 3}, version=1, expires_at=NOW + 90, now=NOW
    )
    record = await record_store.get("t", "k", now=NOW)
    assert record is not None
    assert record.value == {"n": 2} and record.version == 2 and record.expires_at == NOW + 90


async def test_replace_of_an_expired_or_missing_record_fails(record_store: RecordStore) -> None:
    assert not await record_store.replace("t", "k", {}, version=1, expires_at=NOW + 9, now=NOW)
    await record_store.insert("t", "k", {"n": 1}, expires_at=NOW + 60, now=NOW)
    assert not await record_store.replace(
        "t", "k", {"n": 2}, version=1, expires_at=NOW + 99, now=NOW + 60
    )


async def test_exactly_one_of_fifty_concurrent_writers_wins(record_store: RecordStore) -> None:
    await record_store.insert("t", "k", {"state": "live"}, expires_at=NOW + 60, now=NOW)
    wins: list[int] = []

    async def spend(n: int) -> None:
        record = await record_store.get("t", "k", now=NOW)
        assert record is not None
        if record.value["state"] != "live":
            return
        value = {"state": "spent", "by": n}
        if await record_store.replace(
            "t", "k", value, version=record.version, expires_at=NOW + 60, now=NOW
        ):
            wins.append(n)

    async with anyio.create_task_group() as group:
        for n in range(50):
            group.start_soon(spend, n)
    assert len(wins) == 1
    record = await record_store.get("t", "k", now=NOW)
    assert record is not None and record.value == {"state": "spent", "by": wins[0]}


async def test_indexed_lists_the_live_records_of_an_index(record_store: RecordStore) -> None:
    await record_store.insert("f", "b", {"n": 2}, expires_at=NOW + 60, now=NOW, index="u1")
    await record_store.insert("f", "a", {"n": 1}, expires_at=NOW + 60, now=NOW, index="u1")
    await record_store.insert("f", "c", {"n": 3}, expires_at=NOW + 10, now=NOW, index="u1")
    await record_store.insert("f", "d", {"n": 4}, expires_at=NOW + 60, now=NOW, index="u2")
    await record_store.insert("g", "e", {"n": 5}, expires_at=NOW + 60, now=NOW, index="u1")
    await record_store.delete("f", "b")
    listed = await record_store.indexed("f", "u1", now=NOW + 20)
    assert [(key, record.value) for key, record in listed] == [("a", {"n": 1})]


async def test_delete_and_purge(record_store: RecordStore, request: pytest.FixtureRequest) -> None:
    await record_store.insert("t", "gone", {}, expires_at=NOW + 10, now=NOW)
    await record_store.insert("t", "kept", {}, expires_at=NOW + 100, now=NOW)
    await record_store.delete("t", "kept")
    assert await record_store.get("t", "kept", now=NOW) is None
    await record_store.delete("t", "never")
    swept = await record_store.purge(NOW + 10)
    if request.node.callspec.params["record_store"] == "redis":
        assert swept == 0  # its keys expire by their TTLs instead
    else:
        assert swept == 1
        assert await record_store.get("t", "gone", now=NOW) is None  # deleted, not just expired


async def test_write_is_all_or_nothing(record_store: RecordStore) -> None:
    await record_store.insert("t", "a", {"n": 1}, expires_at=NOW + 60, now=NOW)
    await record_store.insert("t", "held", {"n": 9}, expires_at=NOW + 60, now=NOW)
    refused = [
        Put(kind="t", key="a", value={"n": 2}, expires_at=NOW + 60, version=1),
        Put(kind="t", key="held", value={"n": 0}, expires_at=NOW + 60),  # a live key: refused
    ]
    assert not await record_store.write(refused, now=NOW)
    a = await record_store.get("t", "a", now=NOW)
    assert a is not None and a.value == {"n": 1} and a.version == 1
    accepted = [
        Put(kind="t", key="a", value={"n": 2}, expires_at=NOW + 90, version=1),
        Put(kind="t", key="b", value={"n": 3}, expires_at=NOW + 60, index="u1"),
    ]
    assert await record_store.write(accepted, now=NOW)
    a, b = await record_store.get("t", "a", now=NOW), await record_store.get("t", "b", now=NOW)
    assert a is not None and (a.value, a.version, a.expires_at) == ({"n": 2}, 2, NOW + 90)
    assert b is not None and (b.value, b.version) == ({"n": 3}, 1)
    assert [key for key, _ in await record_store.indexed("t", "u1", now=NOW)] == ["b"]
    assert not await record_store.write(accepted[:1], now=NOW)  # version 1 is gone


async def test_get_linked_reads_a_record_and_the_one_it_names(record_store: RecordStore) -> None:
    await record_store.insert("f", "fam", {"n": 1}, expires_at=NOW + 60, now=NOW)
    await record_store.insert("r", "tok", {"family": "fam"}, expires_at=NOW + 60, now=NOW)
    await record_store.insert("r", "orphan", {"family": "gone"}, expires_at=NOW + 60, now=NOW)
    record, linked = await record_store.get_linked(
        "r", "tok", link="family", link_kind="f", now=NOW
    )
    assert record is not None and linked is not None and linked.value == {"n": 1}
    record, linked = await record_store.get_linked(
        "r", "orphan", link="family", link_kind="f", now=NOW
    )
    assert record is not None and linked is None
    assert await record_store.get_linked("r", "none", link="family", link_kind="f", now=NOW) == (
        None,
        None,
    )


async def test_concurrent_writes_on_one_record_let_exactly_one_win(
    record_store: RecordStore,
) -> None:
    await record_store.insert("t", "k", {"state": "live"}, expires_at=NOW + 60, now=NOW)
    wins: list[int] = []

    async def spend(n: int) -> None:
        held = await record_store.get("t", "k", now=NOW)
        assert held is not None
        puts = [
            Put(
                kind="t",
                key="k",
                value={"state": "spent"},
                expires_at=NOW + 60,
                version=held.version,
            ),
            Put(kind="t", key=f"new-{n}", value={"state": "live"}, expires_at=NOW + 60),
        ]
        if held.value["state"] == "live" and await record_store.write(puts, now=NOW):
            wins.append(n)

    async with anyio.create_task_group() as group:
        for n in range(50):
            group.start_soon(spend, n)
    assert len(wins) == 1
    created = [n for n in range(50) if await record_store.get("t", f"new-{n}", now=NOW)]
    assert created == wins  # the losers wrote nothing at all
