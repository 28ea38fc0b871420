"""Sessions and rate-limit counters in Redis: one truth shared by every BFF instance.

Keys (prefix `bff:`):
  session:{id_hash}  hash of the Session's fields
  sid:{sid}          the id_hash, so a session can be found by its public handle
  user:{user_id}     set of the user's id_hashes; members whose session expired are pruned
  hit:{key}          hash {ends_at, count}: a fixed-window counter

Every multi-key change runs as one Lua script, so no reader sees half a session. The scripts build
keys from the prefix, so the store needs one Redis (or a primary), not Redis Cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
from collections.abc import AsyncIterator
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from bff.errors import ConfigError, StoreUnavailable
from bff.sessions.base import Session

# a dead Redis must cost a request about a second, not a hung worker
TIMEOUT = 1.0
MAX_CONNECTIONS = 64
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

# ARGV: prefix, sid
_DELETE_SID = (
    _LUA_HELPERS
    + """
local id_hash = redis.call('GET', prefix .. 'sid:' .. ARGV[2])
if not id_hash then return false end
if redis.call('HGET', prefix .. 'session:' .. id_hash, 'sid') ~= ARGV[2] then return false end
return drop(id_hash)
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

# KEYS: counter; ARGV: now, ends_at, ttl_ms. The window starts at the first hit and ends by the
# caller's clock (like the other stores); the key's TTL only collects it afterwards.
_HIT = """
local amount = tonumber(ARGV[4])
local ends = tonumber(redis.call('HGET', KEYS[1], 'ends_at'))
if ends == nil or tonumber(ARGV[1]) >= ends then
  if amount <= 0 then return 0 end
  redis.call('HSET', KEYS[1], 'ends_at', ARGV[2], 'count', amount)
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return amount
end
local count = redis.call('HINCRBY', KEYS[1], 'count', amount)
if count < 0 then
  redis.call('HSET', KEYS[1], 'count', 0)
  return 0
end
return count
"""


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Scripts:
    create: AsyncScript
    touch: AsyncScript
    delete: AsyncScript
    delete_sid: AsyncScript
    list_user: AsyncScript
    delete_user: AsyncScript
    hit: AsyncScript

    @classmethod
    def register(cls, client: Redis) -> _Scripts:
        return cls(
            create=client.register_script(_CREATE),
            touch=client.register_script(_TOUCH),
            delete=client.register_script(_DELETE),
            delete_sid=client.register_script(_DELETE_SID),
            list_user=client.register_script(_LIST_USER),
            delete_user=client.register_script(_DELETE_USER),
            hit=client.register_script(_HIT),
        )


class RedisSessionStore:
    """The SessionStore protocol on Redis (redis-py asyncio). Any Redis failure raises
    StoreUnavailable; the client reconnects by itself once Redis is back."""

    def __init__(self, *, url: str, prefix: str = PREFIX) -> None:
        self._url = url
        self._prefix = prefix
        self._client: Redis | None = None
        self._scripts: _Scripts | None = None

    async def open(self) -> None:
        if self._client is not None:
            return
        try:
            # a burst waits for a pooled connection (within the call's timeout) instead of
            # failing at once when the pool is cold or full
            pool = BlockingConnectionPool.from_url(
                self._url,
                max_connections=MAX_CONNECTIONS,
                timeout=TIMEOUT,
                decode_responses=True,
                # no socket_timeout: redis-py would wrap every send in asyncio.wait_for (a task
                # per command); each call is bounded by _guarded()'s asyncio.timeout instead
                socket_connect_timeout=TIMEOUT,
            )
            client = Redis(
                connection_pool=pool,
                # one immediate retry on a fresh connection: pooled sockets die when Redis restarts
                retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            )
        except ValueError:
            # the URL may hold a password: name the variable, not the value
            raise ConfigError("BFF_SESSION_STORE: invalid redis URL") from None
        self._client, self._scripts = client, _Scripts.register(client)

    async def close(self) -> None:
        if self._client is not None:
            client, self._client, self._scripts = self._client, None, None
            with contextlib.suppress(RedisError, OSError):
                await client.aclose(close_connection_pool=True)

    async def ping(self) -> None:
        async with _guarded():
            await self._redis().ping()

    async def create(self, session: Session) -> None:
        # Redis's clock is not the app's (frozen in tests): TTLs are relative to the record's own
        # last_seen, and Session.is_live with the caller's clock stays the authority on expiry
        ttl_ms = _ttl_ms(session.expires_at() - session.last_seen)
        await self._run(
            "create", ttl_ms, session.id_hash, session.sid, session.user_id, *_encode(session)
        )

    async def get(self, id_hash: str) -> Session | None:
        async with _guarded():
            record = await self._redis().hgetall(self._key("session", id_hash))
        return _decode(cast("dict[str, str]", record))  # decode_responses: str, not bytes

    async def touch(self, id_hash: str, *, last_seen: float, idle_expires_at: float) -> None:
        await self._run("touch", id_hash, repr(float(last_seen)), repr(float(idle_expires_at)))

    async def delete(self, id_hash: str) -> Session | None:
        return _decode_flat(await self._run("delete", id_hash))

    async def delete_sid(self, sid: str) -> Session | None:
        return _decode_flat(await self._run("delete_sid", sid))

    async def list_user(self, user_id: str) -> list[Session]:
        return _sorted(await self._run("list_user", user_id))

    async def delete_user(self, user_id: str, *, keep_sid: str | None = None) -> list[Session]:
        keep = () if keep_sid is None else (keep_sid,)
        return _sorted(await self._run("delete_user", user_id, *keep))

    async def hit(self, key: str, *, window: float, now: float, amount: int = 1) -> int:
        script = self._loaded().hit
        async with _guarded():
            count = await script(
                keys=[self._key("hit", key)],
                args=[repr(float(now)), repr(float(now + window)), _ttl_ms(window), amount],
            )
        return int(count)

    async def counter(self, key: str, *, now: float) -> tuple[int, float]:
        async with _guarded():
            count, ends_at = await self._redis().hmget(self._key("hit", key), ["count", "ends_at"])
        if count is None or ends_at is None or now >= float(ends_at):
            return 0, now
        return int(count), float(ends_at)

    async def reset(self, key: str) -> None:
        async with _guarded():
            await self._redis().delete(self._key("hit", key))

    async def _run(self, name: str, *args: str | int) -> Any:
        script: AsyncScript = getattr(self._loaded(), name)
        async with _guarded():
            return await script(keys=[], args=[self._prefix, *args])

    def _key(self, kind: str, name: str) -> str:
        return f"{self._prefix}{kind}:{name}"

    def _redis(self) -> Redis:
        if self._client is None:
            raise StoreUnavailable("session store is not open")
        return self._client

    def _loaded(self) -> _Scripts:
        if self._scripts is None:
            raise StoreUnavailable("session store is not open")
        return self._scripts


@contextlib.asynccontextmanager
async def _guarded() -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(TIMEOUT):
            yield
    except TimeoutError:
        # a cancelled read makes redis-py drop that connection: no reply is ever misread
        raise StoreUnavailable("session store timed out") from None
    except (RedisError, OSError) as exc:
        # the type only: a redis error message can echo the URL, and with it a password
        raise StoreUnavailable(f"session store failed: {type(exc).__name__}") from exc


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
