"""The protocol every rate-limit counter store implements."""

from __future__ import annotations

from typing import Protocol


class CounterStore(Protocol):
    """Fixed-window counters shared by every BFF instance. Keys are opaque to the store (callers
    pass HMACs, never an email or an address). Every method raises StoreUnavailable when the
    backend cannot be reached, so callers fail closed."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    async def hit(self, key: str, *, window: float, now: float, amount: int = 1) -> int:
        """Add `amount` to the count under `key` in a fixed window of `window` seconds (opened by
        the first positive hit) and return the count. A negative amount (a refund) never opens a
        window and never takes the count below zero."""
        ...

    async def counter(self, key: str, *, now: float) -> tuple[int, float]:
        """The count under `key` and when its window ends; (0, now) when there is none."""
        ...

    async def counters(self, keys: list[str], *, now: float) -> list[tuple[int, float]]:
        """`counter` for each key, in one round trip."""
        ...

    async def reset(self, key: str) -> None: ...

    async def purge(self, now: float) -> int:
        """Forget every window that has ended by `now`; how many were forgotten (a store whose
        keys expire by themselves answers 0)."""
        ...
