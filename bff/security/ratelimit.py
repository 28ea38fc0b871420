"""Login throttling: progressive delays, never a permanent lockout.

Three counts, each with its own allowance: the account *from this client IP* (the tight one: a
guesser from one address can lock only itself out, never the owner signing in from elsewhere),
the account from anywhere (a loose cap on distributed guessing), and the client IP across accounts
(password spraying).

Every attempt is counted *before* its password is checked, atomically in the shared store, so a
burst of concurrent guesses cannot all slip in before the first failure is recorded. Past the
free allowance, each attempt must claim a block whose length doubles (1 s, 2 s, 4 s, … up to a
cap): the one attempt that opens the block is checked, every other attempt until it ends gets 429
without touching the password. A success resets the account's count and refunds its own attempt
to the IP's count (never the IP's other failures).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from bff.clock import Clock
from bff.errors import Throttled
from bff.sessions.base import SessionStore

ATTEMPT_WINDOW = 60 * 60  # attempts are forgotten an hour after the first one
MESSAGE = "Too many sign-in attempts. Try again later."


@dataclass(frozen=True, kw_only=True)
class Allowance:
    free: int  # attempts allowed before any delay
    max_delay: int  # the cap of the progressive delay, seconds


ACCOUNT_FROM_IP = Allowance(free=5, max_delay=15 * 60)
ACCOUNT = Allowance(free=50, max_delay=15 * 60)
# generous: many people share an address (NAT); the account limit is the main guard
CLIENT_IP = Allowance(free=50, max_delay=5 * 60)


class LoginThrottle:
    def __init__(
        self,
        *,
        store: SessionStore,
        clock: Clock,
        account_from_ip: Allowance = ACCOUNT_FROM_IP,
        account: Allowance = ACCOUNT,
        client_ip: Allowance = CLIENT_IP,
    ) -> None:
        self._store = store
        self._clock = clock
        self._allowances = (account_from_ip, account, client_ip)

    async def admit(self, *, email: str, ip: str) -> None:
        """Count this attempt; raise Throttled when it must not be checked."""
        now = self._clock.now()
        limits = tuple(zip(_keys(email, ip), self._allowances, strict=True))
        for key, _ in limits:
            # inside a block: refused and not counted, so waiting it out is always enough
            await self._refuse_if_blocked(key, now)
        for key, allowance in limits:
            attempts = await self._store.hit(f"login:attempt:{key}", window=ATTEMPT_WINDOW, now=now)
            if attempts > allowance.free:
                delay = min(2 ** (attempts - allowance.free - 1), allowance.max_delay)
                claimed = await self._store.hit(f"login:block:{key}", window=delay, now=now)
                if claimed > 1:  # another attempt opened this block first
                    await self._refuse_if_blocked(key, now)

    async def succeeded(self, *, email: str, ip: str) -> None:
        now = self._clock.now()
        pair, account, address = _keys(email, ip)
        for key in (pair, account):
            await self._store.reset(f"login:attempt:{key}")
            await self._store.reset(f"login:block:{key}")
        # only its own attempt: one good password must not wipe the address's other failures
        await self._store.hit(f"login:attempt:{address}", window=ATTEMPT_WINDOW, now=now, amount=-1)

    async def _refuse_if_blocked(self, key: str, now: float) -> None:
        count, ends = await self._store.counter(f"login:block:{key}", now=now)
        if count:
            raise Throttled(MESSAGE, retry_after=seconds_until(ends, now))


def _keys(email: str, ip: str) -> tuple[str, str, str]:
    # a hash: the store never holds the typed email (which is sometimes a mistyped password)
    account = hashlib.sha256(email.encode()).hexdigest()[:32]
    return f"acct-ip:{account}:{ip}", f"acct:{account}", f"ip:{ip}"


def seconds_until(ends: float, now: float) -> int:
    """A Retry-After value: whole seconds, rounded up, at least one."""
    return max(1, math.ceil(ends - now))
