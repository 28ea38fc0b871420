"""The kit's settings helpers, without starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from bff.testing.pool import KitError, StackPool, User, short_timeouts


def test_short_timeouts_are_the_bffs_session_settings() -> None:
    assert short_timeouts(idle=90, absolute=300) == {
        "BFF_SESSION_IDLE_SECONDS": "90",
        "BFF_SESSION_ABSOLUTE_SECONDS": "300",
    }


def test_short_timeouts_pass_the_idle_warning_through() -> None:
    settings = short_timeouts(idle=60, absolute=120, warning=20)
    assert settings["BFF_IDLE_WARNING_SECONDS"] == "20"


@pytest.mark.parametrize(("idle", "absolute"), [(59, 120), (60, 59), (120, 60)])
def test_short_timeouts_refuse_what_the_bff_would_refuse(idle: int, absolute: int) -> None:
    with pytest.raises(KitError):
        short_timeouts(idle=idle, absolute=absolute)


def test_a_pool_refuses_a_setting_that_is_not_the_apps(tmp_path: Path) -> None:
    pool = StackPool(tmp_path, root=tmp_path)
    with pytest.raises(KitError, match="PATH"):
        pool.start(PATH="/tmp")
    pool.close()


def test_a_pool_refuses_an_unknown_store(tmp_path: Path) -> None:
    with pytest.raises(KitError, match="memcached"):
        StackPool(tmp_path, root=tmp_path, store="memcached")  # type: ignore[arg-type]


def test_a_users_repr_never_shows_the_password() -> None:
    user = User(email="a@example.com", password="s3cret-pass-word", role="user", bff_url="x")
    assert "s3cret-pass-word" not in repr(user)
