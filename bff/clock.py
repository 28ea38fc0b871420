"""Time, injected: code that checks expiry takes a Clock so tests can freeze it."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class FrozenClock:
    """A clock that moves only when told to (tests, drills)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


class Deadline:
    """A moment on a clock, `seconds` after it was set: what is left of it, never below zero."""

    def __init__(self, *, clock: Clock, seconds: float) -> None:
        self._clock = clock
        self._at = clock.now() + seconds

    def remaining(self) -> float:
        return max(0.0, self._at - self._clock.now())

    @property
    def passed(self) -> bool:
        return self.remaining() == 0.0
