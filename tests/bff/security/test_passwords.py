from __future__ import annotations

import asyncio

import pytest

from bff.errors import Overloaded
from bff.security.passwords import Argon2Passwords

pytestmark = pytest.mark.anyio


async def test_hashes_are_argon2id_and_verify(passwords: Argon2Passwords) -> None:
    hashed = await passwords.hash("a long enough password")
    assert hashed.startswith("$argon2id$")
    assert await passwords.verify(hashed, "a long enough password")
    assert not await passwords.verify(hashed, "a long enough passwore")


async def test_unknown_user_is_never_verified(passwords: Argon2Passwords) -> None:
    assert not await passwords.verify(None, "dummy password for equal timing")


async def test_weaker_parameters_need_a_rehash(passwords: Argon2Passwords) -> None:
    stronger = Argon2Passwords(time_cost=3, memory_kib=19 * 1024, parallelism=1, workers=1)
    try:
        old = await passwords.hash("a long enough password")
        assert stronger.needs_rehash(old)
        assert not stronger.needs_rehash(await stronger.hash("a long enough password"))
        assert stronger.needs_rehash("not a hash")
    finally:
        stronger.close()


async def test_corrupt_hash_fails_closed(passwords: Argon2Passwords) -> None:
    assert not await passwords.verify("$argon2id$garbage", "anything")


def _floor_hasher(*, workers: int, max_waiting: int) -> Argon2Passwords:
    return Argon2Passwords(
        time_cost=2, memory_kib=19 * 1024, parallelism=1, workers=workers, max_waiting=max_waiting
    )


async def test_past_the_queue_bound_a_hash_is_refused_at_once_not_queued() -> None:
    hasher = _floor_hasher(workers=1, max_waiting=2)
    try:
        hashed = await hasher.hash("a long enough password")
        results = await asyncio.gather(
            *(hasher.verify(hashed, "a long enough password") for _ in range(4)),
            return_exceptions=True,
        )
        # one running, two waiting; the fourth is shed without being hashed
        assert results[:3] == [True, True, True]
        assert isinstance(results[3], Overloaded)
        assert results[3].status == 503 and results[3].headers == {"Retry-After": "1"}
        assert hasher.in_flight == 0
        assert await hasher.verify(hashed, "a long enough password")  # room again
    finally:
        hasher.close()


async def test_the_queue_bound_holds_for_new_hashes_and_unknown_users_too() -> None:
    hasher = _floor_hasher(workers=1, max_waiting=0)
    try:
        results = await asyncio.gather(
            hasher.hash("a long enough password"),
            hasher.hash("a long enough password"),
            hasher.verify(None, "a long enough password"),
            return_exceptions=True,
        )
        assert isinstance(results[0], str)
        assert all(isinstance(result, Overloaded) for result in results[1:])
    finally:
        hasher.close()


async def test_a_hash_given_up_while_waiting_frees_its_place() -> None:
    hasher = _floor_hasher(workers=1, max_waiting=1)
    try:
        hashed = await hasher.hash("a long enough password")
        running = asyncio.ensure_future(hasher.verify(hashed, "a long enough password"))
        waiting = asyncio.ensure_future(hasher.verify(hashed, "a long enough password"))
        await asyncio.sleep(0)  # one event-loop turn: both submitted
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        assert await hasher.verify(hashed, "a long enough password")  # its place, not refused
        assert await running
        assert hasher.in_flight == 0
    finally:
        hasher.close()
