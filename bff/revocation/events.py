"""The revocation event (part of the wire contract) and the feed protocol."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol

Kind = Literal["sid", "jti", "family", "sub"]
KINDS: tuple[Kind, ...] = ("sid", "jti", "family", "sub")


@dataclass(frozen=True, kw_only=True)
class RevocationEvent:
    """Tokens carrying `kind`=`value` are dead. `until` is when the last such token expires: after
    it the event no longer matters and may be forgotten. `at` is when it was revoked (for `sub`:
    tokens issued before `at` are dead)."""

    kind: Kind
    value: str
    at: float
    until: float
    id: str = ""  # the feed's position, filled by the feed

    def to_json(self) -> str:
        return json.dumps(
            {"kind": self.kind, "value": self.value, "at": self.at, "until": self.until},
            separators=(",", ":"),
        )


class RevocationFeed(Protocol):
    """An ordered, shared log of revocation events, kept until each event's `until`."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, event: RevocationEvent) -> None: ...

    def follow(self, *, after: str | None, now: float) -> AsyncIterator[RevocationEvent]:
        """Every live event after position `after` (all live ones when None), then new events
        as they are published, forever."""
        ...
