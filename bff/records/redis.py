"""Grant records in Redis: each record a hash (`bff:rec:{kind}:{key}` = {v, ver, exp, idx}),
every change one Lua script, so compare-and-set is atomic across every BFF instance. Expiry is
judged by the caller's clock (`exp`); the key's TTL only collects it afterwards. Index sets
(`bff:recidx:{kind}:{index}`) are pruned of members whose record is gone."""

from __future__ import annotations

import json
import math
from typing import Any

from bff.records.base import Record, Value
from bff.redisconn import RedisStore

PREFIX = "bff:rec:"
INDEX_PREFIX = "bff:recidx:"

_EXTEND = """
local function extend(key, ttl)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
"""

# KEYS: record, index (or ""); ARGV: value, exp, now, ttl_ms, member, index name
_INSERT = (
    _EXTEND
    + """
local exp = tonumber(redis.call('HGET', KEYS[1], 'exp'))
if exp and exp > tonumber(ARGV[3]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', 1, 'exp', ARGV[2], 'idx', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if ARGV[6] ~= '' then
  redis.call('SADD', KEYS[2], ARGV[5])
  extend(KEYS[2], tonumber(ARGV[4]))
end
return 1
"""
)

# KEYS: record; ARGV: value, version, exp, now, ttl_ms, index prefix
_REPLACE = (
    _EXTEND
    + """
local cur = redis.call('HMGET', KEYS[1], 'ver', 'exp', 'idx')
if not cur[1] or tonumber(cur[2]) <= tonumber(ARGV[4]) then return 0 end
if tonumber(cur[1]) ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', tonumber(ARGV[2]) + 1, 'exp', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if cur[3] and cur[3] ~= '' then extend(ARGV[6] .. cur[3], tonumber(ARGV[5])) end
return 1
"""
)

# KEYS: index; ARGV: record key prefix, now
_INDEXED = """
local found = {}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local rec = redis.call('HMGET', ARGV[1] .. member, 'v', 'ver', 'exp')
  if not rec[1] then
    redis.call('SREM', KEYS[1], member)
  elseif tonumber(rec[3]) > tonumber(ARGV[2]) then
    table.insert(found, member)
    table.insert(found, rec[1])
    table.insert(found, rec[2])
    table.insert(found, rec[3])
  end
end
return found
"""


class RedisRecordStore(RedisStore):
    NAME = "grant store"

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
        keys = [_key(kind, key), _index(kind, index) if index else ""]
        args = [_dump(value), repr(float(expires_at)), repr(float(now)), _ttl(expires_at, now)]
        args += [key, index or ""]
        return bool(await self._script(_INSERT, keys, args))

    async def get(self, kind: str, key: str, *, now: float) -> Record | None:
        client = self._conn.client()
        async with self._conn.guarded():
            value, version, expires = await client.hmget(_key(kind, key), ["v", "ver", "exp"])
        if value is None or version is None or expires is None or float(expires) <= now:
            return None
        return _record(value, version, expires)

    async def replace(
        self, kind: str, key: str, value: Value, *, version: int, expires_at: float, now: float
    ) -> bool:
        args = [_dump(value), version, repr(float(expires_at)), repr(float(now))]
        args += [_ttl(expires_at, now), f"{INDEX_PREFIX}{kind}:"]
        return bool(await self._script(_REPLACE, [_key(kind, key)], args))

    async def indexed(self, kind: str, index: str, *, now: float) -> list[tuple[str, Record]]:
        flat = await self._script(
            _INDEXED, [_index(kind, index)], [f"{PREFIX}{kind}:", repr(float(now))]
        )
        found = [
            (str(flat[n]), _record(flat[n + 1], flat[n + 2], flat[n + 3]))
            for n in range(0, len(flat), 4)
        ]
        return sorted(found, key=lambda item: item[0])

    async def delete(self, kind: str, key: str) -> None:
        client = self._conn.client()
        async with self._conn.guarded():
            await client.delete(_key(kind, key))

    async def purge(self, now: float) -> int:
        return 0  # every record's key expires by itself

    async def _script(self, source: str, keys: list[str], args: list[Any]) -> Any:
        script = self._conn.script(source)
        async with self._conn.guarded():
            return await script(keys=keys, args=args)


def _key(kind: str, key: str) -> str:
    return f"{PREFIX}{kind}:{key}"


def _index(kind: str, index: str) -> str:
    return f"{INDEX_PREFIX}{kind}:{index}"


def _ttl(expires_at: float, now: float) -> int:
    return max(1, math.ceil((expires_at - now) * 1000))


def _dump(value: Value) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _record(value: str | bytes, version: str | bytes, expires: str | bytes) -> Record:
    return Record(value=json.loads(value), version=int(version), expires_at=float(expires))
