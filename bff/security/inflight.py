"""A cap on calls in flight per subject, in this process: what one subject holds at once (a
pooled upstream connection, a buffered body), not how often it calls (that is `RateLimit`'s).

Counted in memory, not in the shared counters: what it protects (this process's connection
pool, its memory) is per process too, and a count left behind by a crashed instance must never
block a session elsewhere.
"""

from __future__ import annotations

from bff.errors import Throttled

RETRY_AFTER = 1  # a slot frees as soon as one of the subject's calls ends


class Slot:
    """One call's place; `release` gives it back, once however often it is called."""

    def __init__(self, limit: InFlightLimit, subject: str) -> None:
        self._limit = limit
        self._subject = subject
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._limit._leave(self._subject)


class InFlightLimit:
    def __init__(self, *, limit: int, message: str) -> None:
        self.limit = limit
        self._message = message
        self._held: dict[str, int] = {}

    def take(self, subject: str) -> Slot:
        """A slot for one more call of `subject`; Throttled (429) when it holds `limit` already."""
        held = self._held.get(subject, 0)
        if held >= self.limit:
            raise Throttled(self._message, retry_after=RETRY_AFTER)
        self._held[subject] = held + 1
        return Slot(self, subject)

    def held(self, subject: str) -> int:
        return self._held.get(subject, 0)

    def _leave(self, subject: str) -> None:
        left = self._held[subject] - 1
        if left:
            self._held[subject] = left
        else:
            del self._held[subject]  # nothing kept for a subject with no call in flight
