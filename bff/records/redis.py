"""Grant records in Redis: each record a hash (`bff:rec:{kind}:{key}` = {v, ver, exp, idx}),
every change one Lua script, so compare-and-set is atomic across every BFF instance. Expiry is
judged by the caller's clock (`exp`); the key's TTL only collects it afterwards. Index sets
(`bff:recidx:{kind}:{index}`) are pruned of members whose record is gone."""

from __future__ import annotations

import json
import math
from typing import Any

from bff.records.base import Put, Record, Value
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


# KEYS: record; ARGV: now, link field, linked record key prefix
_GET_LINKED = """
local rec = redis.call('HMGET', KEYS[1], 'v', 'ver', 'exp')
if not rec[1] or tonumber(rec[3]) <= tonumber(ARGV[1]) then return {} end
local ok, value = pcall(cjson.decode, rec[1])
local link = ok and type(value) == 'table' and value[ARGV[2]]
if type(link) ~= 'string' then return {rec[1], rec[2], rec[3]} end
local linked = redis.call('HMGET', ARGV[3] .. link, 'v', 'ver', 'exp')
if not linked[1] or tonumber(linked[3]) <= tonumber(ARGV[1]) then
  return {rec[1], rec[2], rec[3]}
end
return {rec[1], rec[2], rec[3], linked[1], linked[2], linked[3]}
"""

# KEYS: each put's record key, then each put's index key (or ""); ARGV: now, then per put:
# value, exp, version ("" for a new record), ttl_ms, member, index name, its kind's index prefix.
# Every check first, then every write: all or nothing.
_WRITE = (
    _EXTEND
    + """
local n = #KEYS / 2
local now = tonumber(ARGV[1])
for i = 1, n do
  local base = 1 + (i - 1) * 7
  local version = ARGV[base + 3]
  local cur = redis.call('HMGET', KEYS[i], 'ver', 'exp')
  local live = cur[1] and tonumber(cur[2]) > now
  if version == '' then
    if live then return 0 end
  elseif not live or tonumber(cur[1]) ~= tonumber(version) then
    return 0
  end
end
for i = 1, n do
  local base = 1 + (i - 1) * 7
  local value, exp, version = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  local ttl, member, index = tonumber(ARGV[base + 4]), ARGV[base + 5], ARGV[base + 6]
  if version == '' then
    redis.call('DEL', KEYS[i])
    redis.call('HSET', KEYS[i], 'v', value, 'ver', 1, 'exp', exp, 'idx', index)
    if index ~= '' then
      redis.call('SADD', KEYS[n + i], member)
      extend(KEYS[n + i], ttl)
    end
  else
    redis.call('HSET', KEYS[i], 'v', value, 'ver', tonumber(version) + 1, 'exp', exp)
    local idx = redis.call('HGET', KEYS[i], 'idx')
    if idx and idx ~= '' then extend(ARGV[base + 7] .. idx, ttl) end
  end
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return 1
"""
)


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

    async def get_linked(
        self, kind: str, key: str, *, link: str, link_kind: str, now: float
    ) -> tuple[Record | None, Record | None]:
        flat = await self._script(
            _GET_LINKED, [_key(kind, key)], [repr(float(now)), link, f"{PREFIX}{link_kind}:"]
        )
        record = _record(*flat[:3]) if flat else None
        linked = _record(*flat[3:6]) if len(flat) == 6 else None
        return record, linked

    async def write(self, puts: list[Put], *, now: float) -> bool:
        keys = [_key(put.kind, put.key) for put in puts]
        keys += [_index(put.kind, put.index) if put.index else "" for put in puts]
        args: list[Any] = [repr(float(now))]
        for put in puts:
            version = "" if put.version is None else str(put.version)
            args += [_dump(put.value), repr(float(put.expires_at)), version]
            args += [_ttl(put.expires_at, now), put.key, put.index or ""]
            args.append(f"{INDEX_PREFIX}{put.kind}:")
        return bool(await self._script(_WRITE, keys, args))

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
