"""Sessions in Redis: one truth shared by every BFF instance.

Keys (prefix `bff:`):
  session:{id_hash}  hash of the Session's fields
  sid:{sid}          the id_hash, so a session can be found by its public handle
  user:{user_id}     set of the user's id_hashes; members whose session expired are pruned

Every multi-key change runs as one Lua script, so no reader sees half a session. The scripts build
keys from the prefix, so the store needs one Redis (or a primary), not Redis Cluster.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any, cast

from bff.redisconn import RedisStore
from bff.sessions.base import Session

PREFIX = "bff:"

log = logging.getLogger("bff.sessions")

_FIELDS = tuple(field.name for field in dataclasses.fields(Session))
_FLOAT_FIELDS = frozenset({"created_at", "last_seen", "idle_expires_at", "absolute_expires_at"})

_LUA_HELPERS = """
local prefix = ARGV[1]

local function extend(key, ttl)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end

local function drop(id_hash)
  local key = prefix .. 'session:' .. id_hash
  local record = redis.call('HGETALL', key)
  if #record == 0 then return false end
  local fields = {}
  for i = 1, #record, 2 do fields[record[i]] = record[i + 1] end
  redis.call('DEL', key)
  local sid_key = prefix .. 'sid:' .. fields['sid']
  if redis.call('GET', sid_key) == id_hash then redis.call('DEL', sid_key) end
  redis.call('SREM', prefix .. 'user:' .. fields['user_id'], id_hash)
  return record
end

-- members of user:{user_id} whose record is gone (expired) or is not that user's are pruned
local function members(user_id)
  local user_key = prefix .. 'user:' .. user_id
  local found = {}
  for _, id_hash in ipairs(redis.call('SMEMBERS', user_key)) do
    local key = prefix .. 'session:' .. id_hash
    if redis.call('HGET', key, 'user_id') == user_id then
      table.insert(found, id_hash)
    else
      redis.call('SREM', user_key, id_hash)
    end
  end
  return found
end
"""

# ARGV: prefix, ttl_ms, id_hash, sid, user_id, field, value, ...
_CREATE = (
    _LUA_HELPERS
    + """
local ttl = tonumber(ARGV[2])
local key = prefix .. 'session:' .. ARGV[3]
drop(ARGV[3])
redis.call('HSET', key, unpack(ARGV, 6))
redis.call('PEXPIRE', key, ttl)
redis.call('SET', prefix .. 'sid:' .. ARGV[4], ARGV[3], 'PX', ttl)
redis.call('SADD', prefix .. 'user:' .. ARGV[5], ARGV[3])
extend(prefix .. 'user:' .. ARGV[5], ttl)
return 1
"""
)

# ARGV: prefix, id_hash, last_seen, idle_expires_at
_TOUCH = (
    _LUA_HELPERS
    + """
local key = prefix .. 'session:' .. ARGV[2]
local sid, user_id, absolute = unpack(
  redis.call('HMGET', key, 'sid', 'user_id', 'absolute_expires_at'))
if not sid then return 0 end
redis.call('HSET', key, 'last_seen', ARGV[3], 'idle_expires_at', ARGV[4])
local expiry = math.min(tonumber(ARGV[4]), tonumber(absolute))
local ttl = math.max(1, math.ceil((expiry - tonumber(ARGV[3])) * 1000))
redis.call('PEXPIRE', key, ttl)
redis.call('PEXPIRE', prefix .. 'sid:' .. sid, ttl)
extend(prefix .. 'user:' .. user_id, ttl)
return 1
"""
)

# ARGV: prefix, id_hash
_DELETE = (
    _LUA_HELPERS
    + """
return drop(ARGV[2])
"""
)

# ARGV: prefix, user_id
_LIST_USER = (
    _LUA_HELPERS
    + """
local records = {}
for _, id_hash in ipairs(members(ARGV[2])) do
  table.insert(records, redis.call('HGETALL', prefix .. 'session:' .. id_hash))
end
return records
"""
)

# ARGV: prefix, user_id[, keep_sid]
_DELETE_USER = (
    _LUA_HELPERS
    + """
local keep = ARGV[3]
local dropped = {}
for _, id_hash in ipairs(members(ARGV[2])) do
  if redis.call('HGET', prefix .. 'session:' .. id_hash, 'sid') ~= keep then
    table.insert(dropped, drop(id_hash))
  end
end
return dropped
"""
)


class RedisSessionStore(RedisStore):
    """The SessionStore protocol on Redis (redis-py asyncio). Any Redis failure raises
    StoreUnavailable; the client reconnects by itself once Redis is back."""

    NAME = "session store"

    def __init__(self, *, url: str, prefix: str = PREFIX) -> None:
        super().__init__(url=url)
        self._prefix = prefix

    async def create(self, session: Session) -> None:
        # Redis's clock is not the app's (frozen in tests): TTLs are relative to the record's own
        # last_seen, and Session.is_live with the caller's clock stays the authority on expiry
        ttl_ms = _ttl_ms(session.expires_at() - session.last_seen)
        await self._run(
            _CREATE, ttl_ms, session.id_hash, session.sid, session.user_id, *_encode(session)
        )

    async def get(self, id_hash: str) -> Session | None:
        client = self._conn.client()
        async with self._conn.guarded():
            record = await client.hgetall(f"{self._prefix}session:{id_hash}")
        return _decode(cast("dict[str, str]", record))  # decode_responses: str, not bytes

    async def touch(self, id_hash: str, *, last_seen: float, idle_expires_at: float) -> None:
        await self._run(_TOUCH, id_hash, repr(float(last_seen)), repr(float(idle_expires_at)))

    async def delete(self, id_hash: str) -> Session | None:
        return _decode_flat(await self._run(_DELETE, id_hash))

    async def list_user(self, user_id: str) -> list[Session]:
        return _sorted(await self._run(_LIST_USER, user_id))

    async def delete_user(self, user_id: str, *, keep_sid: str | None = None) -> list[Session]:
        keep = () if keep_sid is None else (keep_sid,)
        return _sorted(await self._run(_DELETE_USER, user_id, *keep))

    async def purge(self, now: float) -> int:
        return 0  # every key expires with its session

    async def _run(self, source: str, *args: str | int) -> Any:
        script = self._conn.script(source)
        async with self._conn.guarded():
            return await script(keys=[], args=[self._prefix, *args])


def _ttl_ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def _encode(session: Session) -> list[str]:
    flat: list[str] = []
    for name in _FIELDS:
        value = getattr(session, name)
        # repr round-trips a float exactly
        flat += [name, repr(float(value)) if name in _FLOAT_FIELDS else str(value)]
    return flat


def _decode(record: dict[str, str]) -> Session | None:
    if not record:
        return None
    values: dict[str, Any] = {name: record[name] for name in _FIELDS if name in record}
    try:
        for name in _FLOAT_FIELDS & values.keys():
            values[name] = float(values[name])
        return Session(**values)
    except (TypeError, ValueError):
        # unreadable (another writer, an old format): treat as no session, which fails closed
        log.warning("ignoring an unreadable session record")
        return None


def _decode_flat(flat: list[str] | None) -> Session | None:
    if not flat:
        return None
    return _decode(dict(zip(flat[::2], flat[1::2], strict=True)))


def _sorted(records: list[list[str]]) -> list[Session]:
    sessions = [s for s in map(_decode_flat, records) if s is not None]
    return sorted(sessions, key=lambda s: s.created_at)
