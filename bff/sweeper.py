"""The periodic sweep of what has expired: sessions and rate-limit windows.

Expired records are already refused when read (the caller's clock decides); the sweep only keeps
the stores from growing for ever. Redis stores expire keys by themselves and sweep nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from bff.clock import Clock
from bff.errors import StoreUnavailable

SWEEP_EVERY = 300.0  # seconds

log = logging.getLogger("bff.sweeper")

Purge = Callable[[float], Awaitable[int]]


class Sweeper:
    def __init__(
        self, *, purges: Sequence[Purge], clock: Clock, every: float = SWEEP_EVERY
    ) -> None:
        self._purges = tuple(purges)
        self._clock = clock
        self._every = every

    async def sweep(self) -> int:
        """One pass over every store; how many records were deleted."""
        now = self._clock.now()
        return sum([await purge(now) for purge in self._purges])

    async def run(self) -> None:
        """Sweep every `every` seconds until cancelled; a store that is down is tried next time."""
        while True:
            await asyncio.sleep(self._every)
            try:
                swept = await self.sweep()
            except StoreUnavailable as exc:
                log.warning("sweep skipped: %s", exc)
                continue
            if swept:
                log.info("swept %d expired records", swept)
