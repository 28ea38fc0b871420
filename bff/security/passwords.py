"""argon2id hashing, verified off the event loop in a bounded worker pool."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bff.errors import BadRequest

T = TypeVar("T")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128


class Passwords(Protocol):
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
    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int, workers: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=Type.ID,
        )
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        # the dummy hash makes an unknown user cost exactly what a known one costs
        self._dummy = self._hasher.hash("dummy password for equal timing")

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
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, *args)
