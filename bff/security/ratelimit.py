"""Rate limits on the shared counters: one `RateLimit` for every limit of the BFF (sign-in
attempts, `/bff/token`, password changes), and the progressive login throttle built from it.

Subjects (an email as typed, a client address, a session handle, a user id) are keyed with an
HMAC under the BFF's secret key: a copy of the counter store shows none of them, and what was
typed in the email field (sometimes a password in the wrong box) cannot be recovered from its key
by hashing guesses. IPv6 clients are grouped by their /64, the block one subscriber usually holds.

The login throttle keeps three counts, each with its own allowance: the account *from this
client network* (the tight one: a guesser from one address can lock only itself out, never the
owner signing in from elsewhere), the account from anywhere (a loose cap on distributed
guessing), and the client network across accounts (password spraying).

Every attempt is counted *before* its password is checked, atomically in the shared store, so a
burst of concurrent guesses cannot all slip in before the first failure is recorded. Past the
free allowance, each attempt must claim a block whose length doubles (1 s, 2 s, 4 s, … up to a
cap): the one attempt that opens the block is checked, every other attempt until it ends gets 429
without touching the password. A success resets the account's counts and refunds its own attempt
to the network's count (never the network's other failures).

Successful sign-ins have an allowance of their own per account (10 per 5 minutes by default):
each one costs a full password hash, so an account looping on its own right password could
otherwise keep the hash workers busy for everyone. An account at its allowance is refused before
its password is checked; only a right password spends it, so no one without the password can
use it up. An attempt refused by an overloaded hasher (never checked) is refunded.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import math
from dataclasses import dataclass

from bff.clock import Clock
from bff.counters import CounterStore
from bff.errors import Throttled

IPV6_GROUP_PREFIX = 64


class SubjectKeys:
    """Opaque counter keys: an HMAC of the subject under a key derived from the secret key (its
    own purpose, so a counter key is never a CSRF signature)."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"bff.ratelimit.subject", hashlib.sha256).digest()
        # the same few subjects (a client, its network) come back on every request
        self._keyed = functools.lru_cache(maxsize=4096)(self._hmac)

    def __call__(self, subject: str) -> str:
        return self._keyed(subject)

    def _hmac(self, subject: str) -> str:
        return hmac.new(self._key, subject.encode(), hashlib.sha256).hexdigest()[:32]


class RateLimit:
    """At most `limit` hits per fixed window of `window` seconds for each subject, counted in the
    shared counters under `name`."""

    def __init__(
        self,
        *,
        counters: CounterStore,
        clock: Clock,
        keys: SubjectKeys,
        name: str,
        limit: int,
        window: float,
    ) -> None:
        self._counters = counters
        self._clock = clock
        self._keys = keys
        self._name = name
        self.limit = limit
        self._window = window

    async def hit(self, subject: str, *, amount: int = 1, window: float | None = None) -> int:
        """Count `amount` hits (a negative amount refunds) and return the window's count."""
        now = self._clock.now()
        span = self._window if window is None else window
        return await self._counters.hit(self._key(subject), window=span, now=now, amount=amount)

    async def enforce(self, subject: str, message: str) -> None:
        """Count one hit; Throttled, with the seconds left in the window, once over the limit."""
        if await self.hit(subject) > self.limit:
            await self.refuse_if_over(subject, message)

    async def refuse_if_over(self, subject: str, message: str, *, at_limit: bool = False) -> None:
        """Throttled while the subject's count is over the limit (or, `at_limit`, has reached it:
        a limit on failures refuses the next attempt once it is used up); counts nothing."""
        now = self._clock.now()
        count, ends = await self._counters.counter(self._key(subject), now=now)
        if count > self.limit or (at_limit and count >= self.limit):
            raise Throttled(message, retry_after=seconds_until(ends, now))

    async def reset(self, subject: str) -> None:
        await self._counters.reset(self._key(subject))

    @staticmethod
    async def refuse_if_any_over(
        limits: list[tuple[RateLimit, str]], message: str, *, at_limit: bool = False
    ) -> None:
        """`refuse_if_over` for several (limit, subject) pairs on one counter store, read in one
        round trip."""
        if not limits:
            return
        first = limits[0][0]
        now = first._clock.now()
        held = await first._counters.counters([limit._key(s) for limit, s in limits], now=now)
        for (limit, _), (count, ends) in zip(limits, held, strict=True):
            if count > limit.limit or (at_limit and count >= limit.limit):
                raise Throttled(message, retry_after=seconds_until(ends, now))

    def _key(self, subject: str) -> str:
        return f"{self._name}:{self._keys(subject)}"


ATTEMPT_WINDOW = 60 * 60  # attempts are forgotten an hour after the first one
SUCCESS_WINDOW = 5 * 60  # the window of the successful sign-ins per account
SUCCESSES = 10  # successful sign-ins per account per window, by default
MESSAGE = "Too many sign-in attempts. Try again later."


@dataclass(frozen=True, kw_only=True)
class Allowance:
    free: int  # attempts allowed before any delay
    max_delay: int  # the cap of the progressive delay, seconds


ACCOUNT_FROM_IP = Allowance(free=5, max_delay=15 * 60)
ACCOUNT = Allowance(free=50, max_delay=15 * 60)
# generous: many people share an address (NAT); the account limit is the main guard
CLIENT_IP = Allowance(free=50, max_delay=5 * 60)


class _Progressive:
    """One allowance: free attempts, then blocks of doubling length."""

    def __init__(self, *, attempts: RateLimit, blocks: RateLimit, max_delay: int) -> None:
        self.attempts = attempts
        # a block is open while its count is over 0 (limit 0); its window is the current delay
        self.blocks = blocks
        self._max_delay = max_delay

    async def count(self, subject: str) -> None:
        attempts = await self.attempts.hit(subject)
        if attempts > self.attempts.limit:
            delay = min(2 ** (attempts - self.attempts.limit - 1), self._max_delay)
            if await self.blocks.hit(subject, window=delay) > 1:  # another attempt opened it
                await self.blocks.refuse_if_over(subject, MESSAGE)

    async def reset(self, subject: str) -> None:
        await self.attempts.reset(subject)
        await self.blocks.reset(subject)


class LoginThrottle:
    def __init__(
        self,
        *,
        counters: CounterStore,
        clock: Clock,
        keys: SubjectKeys,
        account_from_ip: Allowance = ACCOUNT_FROM_IP,
        account: Allowance = ACCOUNT,
        client_ip: Allowance = CLIENT_IP,
        successes: int = SUCCESSES,
    ) -> None:
        def limit(name: str, limit: int, window: float) -> RateLimit:
            return RateLimit(
                counters=counters, clock=clock, keys=keys, name=name, limit=limit, window=window
            )

        def progressive(kind: str, allowance: Allowance) -> _Progressive:
            return _Progressive(
                attempts=limit(f"login.attempts.{kind}", allowance.free, ATTEMPT_WINDOW),
                blocks=limit(f"login.block.{kind}", 0, 1),
                max_delay=allowance.max_delay,
            )

        self._pair = progressive("account-network", account_from_ip)
        self._account = progressive("account", account)
        self._network = progressive("network", client_ip)
        self._successes = limit("login.successes.account", successes, SUCCESS_WINDOW)

    async def admit(self, *, email: str, ip: str) -> None:
        """Count this attempt; raise Throttled when it must not be checked."""
        # an account that used up its sign-ins: refused, not counted, its password not hashed
        await self._successes.refuse_if_over(email, MESSAGE, at_limit=True)
        limits = self._limits(email, ip)
        for progressive, subject in limits:
            # inside a block: refused and not counted, so waiting it out is always enough
            await progressive.blocks.refuse_if_over(subject, MESSAGE)
        for progressive, subject in limits:
            await progressive.count(subject)

    async def succeeded(self, *, email: str, ip: str) -> None:
        """Reset the account's counts after a right password; Throttled when this sign-in goes
        past the account's allowance of successful sign-ins (no session must then start)."""
        (pair, pair_subject), (account, email_subject), (network, network_subject) = self._limits(
            email, ip
        )
        await pair.reset(pair_subject)
        await account.reset(email_subject)
        # only its own attempt: one good password must not wipe the network's other failures
        await network.attempts.hit(network_subject, amount=-1)
        # counted after the check: only the right password spends the account's sign-ins
        await self._successes.enforce(email, MESSAGE)

    async def refund(self, *, email: str, ip: str) -> None:
        """Give back an admitted attempt that was never checked (the hasher shed it)."""
        for progressive, subject in self._limits(email, ip):
            await progressive.attempts.hit(subject, amount=-1)

    def _limits(self, email: str, ip: str) -> tuple[tuple[_Progressive, str], ...]:
        network = client_network(ip)
        return (
            (self._pair, f"{len(email)}:{email}:{network}"),  # length-prefixed: unambiguous
            (self._account, email),
            (self._network, network),
        )


@functools.lru_cache(maxsize=4096)
def client_network(ip: str) -> str:
    """The address an allowance counts: an IPv4 address itself, an IPv6 address's /64."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_GROUP_PREFIX}", strict=False))
    return str(address)


def seconds_until(ends: float, now: float) -> int:
    """A Retry-After value: whole seconds, rounded up, at least one."""
    return max(1, math.ceil(ends - now))
