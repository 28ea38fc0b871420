"""argon2id hashing, off the event loop in a bounded worker pool with a bounded queue.

Each hash holds a worker thread for tens of milliseconds by design, so the queue in front of
the workers is the resource an attacker can take: past `max_waiting` hashes waiting, a new one is
refused at once (Overloaded, 503) instead of making every later sign-in wait behind the flood.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bff.errors import BadRequest, Overloaded

T = TypeVar("T")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
BUSY_RETRY_AFTER = 1  # seconds: a full queue drains in a few hash times
BUSY_MESSAGE = "Too many sign-ins are being checked right now. Try again in a moment."


class Passwords(Protocol):
    """A password hasher. `hash` and `verify` raise Overloaded, without hashing, when too many
    hashes are already waiting."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when `password` matches; with `stored_hash=None` still spends a full
        verification (unknown user) and returns False."""
        ...

    def needs_rehash(self, stored_hash: str) -> bool: ...

    def close(self) -> None: ...


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadRequest(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")


class Argon2Passwords:
    def __init__(
        self,
        *,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
        workers: int,
        max_waiting: int | None = None,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=Type.ID,
        )
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        # running plus waiting: past it a hash is refused rather than queued
        self._capacity = workers + (4 * workers if max_waiting is None else max_waiting)
        self._in_flight = 0
        self._lock = threading.Lock()  # released from worker threads too (an abandoned hash)
        # the dummy hash makes an unknown user cost exactly what a known one costs
        self._dummy = self._hasher.hash("dummy password for equal timing")

    @property
    def in_flight(self) -> int:
        """Hashes running or waiting for a worker."""
        return self._in_flight

    async def hash(self, password: str) -> str:
        return await self._in_pool(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        target = stored_hash or self._dummy
        matched = await self._in_pool(self._check, target, password)
        return matched and stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _check(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def _in_pool(self, fn: Callable[..., T], *args: str) -> T:
        with self._lock:
            if self._in_flight >= self._capacity:
                raise Overloaded(BUSY_MESSAGE, retry_after=BUSY_RETRY_AFTER)
            self._in_flight += 1
        job = self._pool.submit(fn, *args)
        try:
            return await asyncio.wrap_future(job)
        finally:
            self._release_when_done(job)

    def _release_when_done(self, job: Future[T]) -> None:
        # a caller that gave up (cancelled) leaves a running hash behind: it still holds its
        # thread, so its place is given back only when it ends
        if job.done():
            self._release()
        else:
            job.add_done_callback(lambda _: self._release())

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1
