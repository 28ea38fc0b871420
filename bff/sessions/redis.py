"""Sessions in Redis: one truth shared by every BFF instance.

Keys (prefix `bff:`):
  session:{id_hash}  the Session's other fields as one JSON object of strings under short names
                     (`_NAMES`); floats as their repr, so they round-trip exactly, also through
                     the scripts' cjson
  user:{user_id}     set of the user's id_hashes; members whose session expired are pruned

One compact JSON string, not a hash of fields: a 256-character user agent turns a hash into
Redis's hashtable encoding, about 1200 bytes a session, against about 630 for the string
(tests/bff/sessions/test_redis_memory.py keeps a session under 1 KiB). A record in the hash
format of earlier releases is still read, and its next touch rewrites it, so an upgrade signs
nobody out.

Every multi-key change runs as one Lua script, so no reader sees half a session. The scripts build
keys from the prefix, so the store needs one Redis (or a primary), not Redis Cluster.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any, cast

from redis.exceptions import ResponseError

from bff.redisconn import RedisStore
from bff.sessions.base import Session

PREFIX = "bff:"

log = logging.getLogger("bff.sessions")

# a Session field's name in a record; the scripts use s, u, l, i, a and h (in their replies only:
# the key names the id_hash)
_NAMES = {
    "sid": "s",
    "id_hash": "h",
    "user_id": "u",
    "role": "r",
    "created_at": "c",
    "last_seen": "l",
    "idle_expires_at": "i",
    "absolute_expires_at": "a",
    "user_agent": "ua",
    "ip": "ip",
}
_FLOAT_FIELDS = frozenset({"created_at", "last_seen", "idle_expires_at", "absolute_expires_at"})
_LUA_NAMES = ", ".join(f"{name} = '{short}'" for name, short in _NAMES.items())

_LUA_HELPERS = (
    """
local prefix = ARGV[1]
local legacy_names = {"""
    + _LUA_NAMES
    + """}

local function extend(key, ttl)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end

-- the record at key as a table of strings; nil when missing or unreadable
local function load(key)
  local kind = redis.call('TYPE', key)['ok']
  if kind == 'string' then
    local ok, record = pcall(cjson.decode, redis.call('GET', key))
    if ok and type(record) == 'table' then return record end
    return nil
  end
  if kind ~= 'hash' then return nil end
  -- the format of earlier releases: one hash field per Session field, under its full name
  local flat = redis.call('HGETALL', key)
  local record = {}
  for n = 1, #flat, 2 do
    local name = legacy_names[flat[n]]
    if name then record[name] = flat[n + 1] end
  end
  return record
end

-- the record as the JSON the caller decodes, with its id_hash
local function reply(id_hash, record)
  record['h'] = id_hash
  return cjson.encode(record)
end

local function drop(id_hash)
  local key = prefix .. 'session:' .. id_hash
  local record = load(key)
  redis.call('DEL', key)
  if not record then return false end
  redis.call('SREM', prefix .. 'user:' .. tostring(record['u']), id_hash)
  return reply(id_hash, record)
end

-- the records of user:{user_id}'s members by id_hash; members whose record is gone (expired) or
-- is not that user's are pruned
local function members(user_id)
  local user_key = prefix .. 'user:' .. user_id
  local found = {}
  for _, id_hash in ipairs(redis.call('SMEMBERS', user_key)) do
    local record = load(prefix .. 'session:' .. id_hash)
    if record and record['u'] == user_id then
      found[id_hash] = record
    else
      redis.call('SREM', user_key, id_hash)
    end
  end
  return found
end
"""
)

# ARGV: prefix, ttl_ms, id_hash, user_id, record
_CREATE = (
    _LUA_HELPERS
    + """
local ttl = tonumber(ARGV[2])
drop(ARGV[3])
redis.call('SET', prefix .. 'session:' .. ARGV[3], ARGV[5], 'PX', ttl)
redis.call('SADD', prefix .. 'user:' .. ARGV[4], ARGV[3])
extend(prefix .. 'user:' .. ARGV[4], ttl)
return 1
"""
)

# ARGV: prefix, id_hash, last_seen, idle_expires_at
_TOUCH = (
    _LUA_HELPERS
    + """
local key = prefix .. 'session:' .. ARGV[2]
local record = load(key)
if not record then return 0 end
record['l'] = ARGV[3]
record['i'] = ARGV[4]
record['h'] = nil
local expiry = math.min(tonumber(ARGV[4]), tonumber(record['a']))
local ttl = math.max(1, math.ceil((expiry - tonumber(ARGV[3])) * 1000))
redis.call('SET', key, cjson.encode(record), 'PX', ttl)
extend(prefix .. 'user:' .. record['u'], ttl)
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
for id_hash, record in pairs(members(ARGV[2])) do
  table.insert(records, reply(id_hash, record))
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
for id_hash, record in pairs(members(ARGV[2])) do
  if record['s'] ~= keep then table.insert(dropped, drop(id_hash)) end
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
        await self._run(_CREATE, ttl_ms, session.id_hash, session.user_id, _encode(session))

    async def get(self, id_hash: str) -> Session | None:
        client = self._conn.client()
        key = f"{self._prefix}session:{id_hash}"
        async with self._conn.guarded():
            try:
                raw = await client.get(key)
            except ResponseError as exc:
                if not str(exc).startswith("WRONGTYPE"):
                    raise
                # a record in the hash format of earlier releases, under the full names
                legacy = cast("dict[str, str]", await client.hgetall(key))
                return _session({_NAMES.get(k, k): v for k, v in legacy.items()}, id_hash)
        return _decode(cast("str | None", raw), id_hash)  # decode_responses: str, not bytes

    async def touch(self, id_hash: str, *, last_seen: float, idle_expires_at: float) -> None:
        await self._run(_TOUCH, id_hash, repr(float(last_seen)), repr(float(idle_expires_at)))

    async def delete(self, id_hash: str) -> Session | None:
        return _decode_reply(await self._run(_DELETE, id_hash))

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


def _encode(session: Session) -> str:
    # repr round-trips a float exactly; strings keep cjson (in the scripts) from rounding it
    fields: dict[str, str] = {}
    for name, short in _NAMES.items():
        value = getattr(session, name)
        if name != "id_hash":  # the key names it
            fields[short] = repr(float(value)) if name in _FLOAT_FIELDS else str(value)
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def _decode(raw: str | None, id_hash: str) -> Session | None:
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        record = None
    return _session(record, id_hash)


def _session(record: Any, id_hash: str) -> Session | None:
    if not record:
        return None
    try:
        values: dict[str, Any] = {
            name: record[short] for name, short in _NAMES.items() if short in record
        }
        for name in _FLOAT_FIELDS & values.keys():
            values[name] = float(values[name])
        return Session(**{**values, "id_hash": id_hash})
    except (TypeError, ValueError):
        # unreadable (another writer, a corrupted value): treat as no session, which fails closed
        log.warning("ignoring an unreadable session record")
        return None


def _decode_reply(raw: str | None) -> Session | None:
    """A record as a script returns it: JSON with its id_hash."""
    if not raw:
        return None
    try:
        record = json.loads(raw)
        id_hash = str(record.pop("h"))
    except (ValueError, TypeError, KeyError, AttributeError):
        log.warning("ignoring an unreadable session record")
        return None
    return _session(record, id_hash)


def _sorted(records: list[str]) -> list[Session]:
    sessions = [s for s in map(_decode_reply, records) if s is not None]
    return sorted(sessions, key=lambda s: s.created_at)
