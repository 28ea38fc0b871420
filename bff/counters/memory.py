"""Counters in a dict: for tests and single-process development."""

from __future__ import annotations

from bff.stores import MemoryStore


class MemoryCounterStore(MemoryStore):
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (ends_at, count)

    async def hit(self, key: str, *, window: float, now: float, amount: int = 1) -> int:
        count, ends = await self.counter(key, now=now)
        if not count and ends <= now:
            if amount <= 0:
                self._windows.pop(key, None)
                return 0
            ends = now + window
        count = max(0, count + amount)
        self._windows[key] = (ends, count)
        return count

    async def counter(self, key: str, *, now: float) -> tuple[int, float]:
        ends, count = self._windows.get(key, (now, 0))
        return (count, ends) if now < ends else (0, now)

    async def counters(self, keys: list[str], *, now: float) -> list[tuple[int, float]]:
        return [await self.counter(key, now=now) for key in keys]

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    async def purge(self, now: float) -> int:
        ended = [key for key, (ends, _) in self._windows.items() if ends <= now]
        for key in ended:
            del self._windows[key]
        return len(ended)
