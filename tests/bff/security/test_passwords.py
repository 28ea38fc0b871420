from __future__ import annotations

import pytest

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
