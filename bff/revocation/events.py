"""The feed protocol: an ordered, shared log of revocation events (their format is the wire
contract's, `contract.revocation`)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Protocol

from bff.clock import Clock
from contract.revocation import RevocationEvent

POLL_SECONDS = 0.2  # how often a feed looks for events published by other processes
_POSITION = re.compile(r"([A-Za-z0-9_-]{1,32})\.([0-9]{1,18})")


def position_id(epoch: str, count: int) -> str:
    """An event id of a counting feed: the feed's epoch, then the count."""
    return f"{epoch}.{count}"


def parse_position(after: str | None, epoch: str) -> int:
    """The count to read after, from a Last-Event-ID. Missing, malformed, or from another epoch (a
    feed restarted from an empty memory, or a recreated file, counts from 1 again): 0, so the
    whole live log is replayed rather than its new events skipped."""
    match = _POSITION.fullmatch(after or "")
    if match is None or match.group(1) != epoch:
        return 0
    return int(match.group(2))


class RevocationFeed(Protocol):
    """An ordered log of revocation events shared by every BFF process, kept until each event's
    `until`. Positions (`id`) are opaque strings that increase."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, event: RevocationEvent) -> None: ...

    async def since(self, after: str | None) -> list[RevocationEvent]:
        """A batch of the events after position `after` (from the start when None), oldest
        first; events past their `until` may be included or already forgotten."""
        ...

    async def wait(self, after: str | None, *, timeout: float) -> None:
        """Return when events after `after` may exist, or after `timeout` seconds."""
        ...


async def follow(
    feed: RevocationFeed, *, after: str | None, clock: Clock
) -> AsyncIterator[RevocationEvent]:
    """Every live event after `after`, then each new one as it is published, forever."""
    position = after
    while True:
        batch = await feed.since(position)
        now = clock.now()
        for event in batch:
            position = event.id
            if event.until > now:
                yield event
        if not batch:
            await feed.wait(position, timeout=POLL_SECONDS)
