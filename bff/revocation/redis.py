"""Revocation events in a Redis stream: every BFF instance publishes into it and follows it.

The stream rides the connection every Redis store shares (`bff.redisconn`): a bounded call, one
immediate retry on a fresh socket (pooled sockets die when Redis restarts), and every failure a
StoreUnavailable, so a follower's stream ends at once and its API fails closed, then resumes.
"""

from __future__ import annotations

import re
from typing import Any

from bff.redisconn import RedisStore
from contract.revocation import KINDS, RevocationEvent

STREAM = "bff:revocations"
_STREAM_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")
MAX_LENGTH = 100_000  # far above the events alive at once (a token lives 15 min at most)
BATCH = 1000


class RedisRevocationFeed(RedisStore):
    NAME = "revocation feed"

    async def publish(self, event: RevocationEvent) -> None:
        fields: dict[Any, Any] = {
            "kind": event.kind,
            "value": event.value,
            "at": event.at,
            "until": event.until,
        }
        client = self._conn.client()
        async with self._conn.guarded():
            await client.xadd(STREAM, fields, maxlen=MAX_LENGTH, approximate=True)

    async def since(self, after: str | None) -> list[RevocationEvent]:
        # stream ids are times: a restarted Redis keeps counting up; a malformed id replays all
        start = f"({after}" if after and _STREAM_ID.fullmatch(after) else "-"
        client = self._conn.client()
        async with self._conn.guarded():
            entries = await client.xrange(STREAM, min=start, max="+", count=BATCH)
        return [_event(str(entry_id), dict(fields or {})) for entry_id, fields in entries or []]

    async def wait(self, after: str | None, *, timeout: float) -> None:
        position = after if after and _STREAM_ID.fullmatch(after) else "0-0"
        client = self._conn.client()
        async with self._conn.guarded(waiting=timeout):
            await client.xread({STREAM: position}, count=1, block=max(1, int(timeout * 1000)))


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
