"""Grant records in a dict: tests and single-process development."""

from __future__ import annotations

import copy

from bff.records.base import Put, Record, Value
from bff.stores import MemoryStore


class MemoryRecordStore(MemoryStore):
    def __init__(self) -> None:
        self._records: dict[tuple[str, str], tuple[Record, str | None]] = {}

    async def insert(
        self,
        kind: str,
        key: str,
        value: Value,
        *,
        expires_at: float,
        now: float,
        index: str | None = None,
    ) -> bool:
        if await self.get(kind, key, now=now) is not None:
            return False
        record = Record(value=copy.deepcopy(value), version=1, expires_at=expires_at)
        self._records[(kind, key)] = (record, index)
        return True

    async def get(self, kind: str, key: str, *, now: float) -> Record | None:
        held = self._records.get((kind, key))
        if held is None or held[0].expires_at <= now:
            return None
        record = held[0]
        return Record(
            value=copy.deepcopy(record.value), version=record.version, expires_at=record.expires_at
        )

    async def replace(
        self, kind: str, key: str, value: Value, *, version: int, expires_at: float, now: float
    ) -> bool:
        held = self._records.get((kind, key))
        if held is None or held[0].expires_at <= now or held[0].version != version:
            return False
        record = Record(value=copy.deepcopy(value), version=version + 1, expires_at=expires_at)
        self._records[(kind, key)] = (record, held[1])
        return True

    async def get_linked(
        self, kind: str, key: str, *, link: str, link_kind: str, now: float
    ) -> tuple[Record | None, Record | None]:
        record = await self.get(kind, key, now=now)
        if record is None or not isinstance(record.value.get(link), str):
            return record, None
        return record, await self.get(link_kind, record.value[link], now=now)

    async def write(self, puts: list[Put], *, now: float) -> bool:
        for put in puts:  # no await until every check has passed: atomic in this process
            held = self._records.get((put.kind, put.key))
            live = held is not None and held[0].expires_at > now
            if (put.version is None and live) or (
                put.version is not None
                and (not live or held is None or held[0].version != put.version)
            ):
                return False
        for put in puts:
            held = self._records.get((put.kind, put.key))
            version = 1 if put.version is None else put.version + 1
            index = put.index if put.version is None else (held[1] if held else None)
            record = Record(
                value=copy.deepcopy(put.value), version=version, expires_at=put.expires_at
            )
            self._records[(put.kind, put.key)] = (record, index)
        return True

    async def indexed(self, kind: str, index: str, *, now: float) -> list[tuple[str, Record]]:
        found = [
            (key, record)
            for (k, key), (record, idx) in self._records.items()
            if k == kind and idx == index and record.expires_at > now
        ]
        return sorted(found, key=lambda item: item[0])

    async def delete(self, kind: str, key: str) -> None:
        self._records.pop((kind, key), None)

    async def purge(self, now: float) -> int:
        ended = [k for k, (record, _) in self._records.items() if record.expires_at <= now]
        for k in ended:
            del self._records[k]
        return len(ended)
