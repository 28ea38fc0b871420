"""Login throttling per account and per client IP: progressive delays, never a permanent lockout.

Counters live in the session store, so every BFF instance sharing the store shares them. Each
failure past the free allowance opens a block whose length doubles (1 s, 2 s, 4 s, … up to a cap);
attempts during a block are refused with 429 without touching the password.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bff.clock import Clock
from bff.errors import Throttled
from bff.sessions.base import SessionStore

FAILURE_WINDOW = 60 * 60  # failures are forgotten an hour after the first one


@dataclass(frozen=True, kw_only=True)
class Allowance:
    free: int  # failures allowed before any delay
    max_delay: int  # the cap of the progressive delay, seconds


ACCOUNT = Allowance(free=5, max_delay=15 * 60)
CLIENT_IP = Allowance(free=20, max_delay=15 * 60)


class LoginThrottle:
    def __init__(
        self,
        *,
        store: SessionStore,
        clock: Clock,
        account: Allowance = ACCOUNT,
        client_ip: Allowance = CLIENT_IP,
    ) -> None:
        self._store = store
        self._clock = clock
        self._limits = (("acct", account), ("ip", client_ip))

    async def check(self, *, email: str, ip: str) -> None:
        """Raise Throttled while either the account or the IP is inside a block."""
        now = self._clock.now()
        waits = []
        for key in self._keys(email, ip):
            count, ends = await self._store.counter(f"login:block:{key}", now=now)
            if count:
                waits.append(ends - now)
        if waits:
            raise Throttled(
                "Too many sign-in attempts. Try again later.", retry_after=_seconds(max(waits))
            )

    async def failed(self, *, email: str, ip: str) -> None:
        now = self._clock.now()
        for key, (_, allowance) in zip(self._keys(email, ip), self._limits, strict=True):
            failures = await self._store.hit(f"login:fail:{key}", window=FAILURE_WINDOW, now=now)
            if failures > allowance.free:
                delay = min(2 ** (failures - allowance.free - 1), allowance.max_delay)
                await self._store.hit(f"login:block:{key}", window=delay, now=now)

    async def succeeded(self, *, email: str) -> None:
        # only the account's counter: one good password must not reset a whole IP's failures
        await self._store.reset(f"login:fail:{self._keys(email, '')[0]}")

    def _keys(self, email: str, ip: str) -> tuple[str, str]:
        # the account key is a hash: the store never holds the typed email (or a typed password)
        account = hashlib.sha256(email.encode()).hexdigest()[:32]
        return f"acct:{account}", f"ip:{ip}"


def _seconds(value: float) -> int:
    return max(1, int(value + 0.999))
