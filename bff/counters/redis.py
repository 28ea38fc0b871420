"""Counters in Redis: one hash per window (`bff:hit:{key}` = {ends_at, count}), changed by one
Lua script so concurrent instances never lose a count. Keys expire with their window."""

from __future__ import annotations

import math

from bff.redisconn import RedisStore

PREFIX = "bff:hit:"

# KEYS: counter; ARGV: now, ends_at, ttl_ms, amount. The window starts at the first hit and ends
# by the caller's clock (like the other stores); the key's TTL only collects it afterwards.
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


class RedisCounterStore(RedisStore):
    NAME = "counter store"

    async def hit(self, key: str, *, window: float, now: float, amount: int = 1) -> int:
        script = self._conn.script(_HIT)
        ttl_ms = max(1, math.ceil(window * 1000))
        async with self._conn.guarded():
            count = await script(
                keys=[PREFIX + key],
                args=[repr(float(now)), repr(float(now + window)), ttl_ms, amount],
            )
        return int(count)

    async def counter(self, key: str, *, now: float) -> tuple[int, float]:
        client = self._conn.client()
        async with self._conn.guarded():
            count, ends_at = await client.hmget(PREFIX + key, ["count", "ends_at"])
        if count is None or ends_at is None or now >= float(ends_at):
            return 0, now
        return int(count), float(ends_at)

    async def counters(self, keys: list[str], *, now: float) -> list[tuple[int, float]]:
        client = self._conn.client()
        async with self._conn.guarded():
            pipeline = client.pipeline(transaction=False)
            for key in keys:
                pipeline.hmget(PREFIX + key, ["count", "ends_at"])
            replies = await pipeline.execute()
        held: list[tuple[int, float]] = []
        for count, ends_at in replies:
            live = count is not None and ends_at is not None and now < float(ends_at)
            held.append((int(count), float(ends_at)) if live else (0, now))
        return held

    async def reset(self, key: str) -> None:
        client = self._conn.client()
        async with self._conn.guarded():
            await client.delete(PREFIX + key)

    async def purge(self, now: float) -> int:
        return 0  # every window's key expires by itself
