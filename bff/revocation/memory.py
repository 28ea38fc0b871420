"""A revocation feed in one process's memory: tests and `memory://` development."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import replace

from bff.revocation.events import parse_position, position_id
from bff.stores import MemoryStore
from contract.revocation import RevocationEvent


class MemoryRevocationFeed(MemoryStore):
    def __init__(self) -> None:
        self._epoch = secrets.token_urlsafe(6)
        self._events: list[RevocationEvent] = []
        self._changed = asyncio.Event()

    async def publish(self, event: RevocationEvent) -> None:
        self._events.append(replace(event, id=position_id(self._epoch, len(self._events) + 1)))
        # waiters hold the old event: set it, and give later waiters a fresh one
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def events(self) -> list[RevocationEvent]:
        return list(self._events)

    async def since(self, after: str | None) -> list[RevocationEvent]:
        return self._events[parse_position(after, self._epoch) :]

    async def wait(self, after: str | None, *, timeout: float) -> None:
        start = parse_position(after, self._epoch)
        changed = self._changed
        if len(self._events) > start:
            return
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await changed.wait()
