"""A revocation feed in one process's memory: tests and `memory://` development."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

from bff.revocation.events import RevocationEvent


class MemoryRevocationFeed:
    def __init__(self) -> None:
        self._events: list[RevocationEvent] = []
        self._counter = 0
        self._changed = asyncio.Event()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(self, event: RevocationEvent) -> None:
        self._counter += 1
        self._events.append(replace(event, id=str(self._counter)))
        self._changed.set()
        self._changed = asyncio.Event()

    def events(self) -> list[RevocationEvent]:
        return list(self._events)

    async def follow(self, *, after: str | None, now: float) -> AsyncIterator[RevocationEvent]:
        position = int(after) if after and after.isdigit() else 0
        while True:
            changed = self._changed
            fresh = [e for e in self._events if int(e.id) > position and e.until > now]
            for event in fresh:
                position = int(event.id)
                yield event
            if not fresh:
                await changed.wait()
