"""Revocation events in a Redis stream: every BFF instance publishes into it and follows it."""

from __future__ import annotations

import re
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bff.errors import StoreUnavailable
from contract.revocation import KINDS, RevocationEvent

STREAM = "bff:revocations"
_STREAM_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")
MAX_LENGTH = 100_000  # far above the events alive at once (a token lives 15 min at most)
BATCH = 1000


class RedisRevocationFeed:
    def __init__(self, *, url: str) -> None:
        self._url = url
        self._redis: aioredis.Redis | None = None

    async def open(self) -> None:
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(
                self._url, socket_timeout=5.0, socket_connect_timeout=1.0, decode_responses=True
            )

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def publish(self, event: RevocationEvent) -> None:
        fields: dict[Any, Any] = {
            "kind": event.kind,
            "value": event.value,
            "at": event.at,
            "until": event.until,
        }
        try:
            await self._client().xadd(STREAM, fields, maxlen=MAX_LENGTH, approximate=True)
        except RedisError as exc:
            raise StoreUnavailable(f"revocation feed failed: {type(exc).__name__}") from exc

    async def since(self, after: str | None) -> list[RevocationEvent]:
        # stream ids are times: a restarted Redis keeps counting up; a malformed id replays all
        start = f"({after}" if after and _STREAM_ID.fullmatch(after) else "-"
        try:
            entries = await self._client().xrange(STREAM, min=start, max="+", count=BATCH)
        except RedisError as exc:
            raise StoreUnavailable(f"revocation feed failed: {type(exc).__name__}") from exc
        return [_event(str(entry_id), dict(fields or {})) for entry_id, fields in entries or []]

    async def wait(self, after: str | None, *, timeout: float) -> None:
        try:
            position = after if after and _STREAM_ID.fullmatch(after) else "0-0"
            await self._client().xread(
                {STREAM: position}, count=1, block=max(1, int(timeout * 1000))
            )
        except RedisError as exc:
            raise StoreUnavailable(f"revocation feed failed: {type(exc).__name__}") from exc

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            raise StoreUnavailable("revocation feed is not open")
        return self._redis


def _event(entry_id: str, fields: dict[Any, Any]) -> RevocationEvent:
    kind = fields.get("kind")
    try:
        if kind in KINDS:
            return RevocationEvent(
                id=entry_id,
                kind=kind,
                value=str(fields["value"]),
                at=float(fields["at"]),
                until=float(fields["until"]),
            )
    except (KeyError, ValueError):
        pass
    # a malformed entry becomes an expired placeholder, so followers still move past it
    return RevocationEvent(id=entry_id, kind="jti", value="", at=0.0, until=0.0)
