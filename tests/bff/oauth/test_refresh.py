"""refresh_token: rotation at every use, in families; reuse revokes the family; lifetimes; scope
only narrows; bound to its client; the optional leeway; exactly one rotation under a race."""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import jwt
import pytest

from tests.bff.oauth.conftest import REDIRECT, Registered, me, register, token, tokens_by_code
from tests.bff.oauth.test_backends import backends
from tests.conftest import System

pytestmark = pytest.mark.anyio


async def _app(system: System) -> Registered:
    return await register(
        system, grants=("authorization_code", "refresh_token"), redirect_uris=(REDIRECT,)
    )


async def _refresh(
    system: System, app: Registered, refresh_token: str, **extra: str
) -> dict[str, Any]:
    response = await token(
        system, app, grant_type="refresh_token", refresh_token=refresh_token, **extra
    )
    body: dict[str, Any] = response.json()
    return {"status": response.status_code, **body}


async def test_every_use_returns_a_new_refresh_token_and_spends_the_old(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    first = await tokens_by_code(system, app)
    second = await _refresh(system, app, first["refresh_token"])
    assert second["status"] == 200
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    third = await _refresh(system, app, second["refresh_token"])
    assert third["status"] == 200
    family = {
        jwt.decode(t["access_token"], options={"verify_signature": False})["family"]
        for t in (first, second, third)
    }
    assert len(family) == 1  # one family, one handle


async def test_presenting_a_spent_token_revokes_the_whole_family(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    first = await tokens_by_code(system, app)
    second = await _refresh(system, app, first["refresh_token"])
    stolen = await _refresh(system, app, first["refresh_token"])
    assert stolen["status"] == 400 and stolen["error"] == "invalid_grant"
    # the thief's and the owner's tokens are all dead now
    assert (await _refresh(system, app, second["refresh_token"]))["error"] == "invalid_grant"
    assert (await system.me_once_pushed(second["access_token"])).status_code == 401


async def test_scope_only_narrows_on_refresh(system: System, signed_in: str) -> None:
    app = await register(
        system,
        grants=("authorization_code", "refresh_token"),
        redirect_uris=(REDIRECT,),
        scopes="notes:read notes:write",
    )
    first = await tokens_by_code(system, app)  # granted notes:read
    wider = await _refresh(system, app, first["refresh_token"], scope="notes:read notes:write")
    assert wider["status"] == 400 and wider["error"] == "invalid_scope"


async def test_a_refresh_token_is_bound_to_its_client(system: System, signed_in: str) -> None:
    app, other = await _app(system), await _app(system)
    first = await tokens_by_code(system, app)
    elsewhere = await _refresh(system, other, first["refresh_token"])
    assert elsewhere["status"] == 400 and elsewhere["error"] == "invalid_grant"
    assert (await _refresh(system, app, first["refresh_token"]))["status"] == 200


async def test_fourteen_idle_days_end_a_family(system: System, signed_in: str) -> None:
    app = await _app(system)
    current = (await tokens_by_code(system, app))["refresh_token"]
    system.clock.advance(14 * 86400 - 1)
    current = (await _refresh(system, app, current))["refresh_token"]  # use slides it
    system.clock.advance(14 * 86400)
    assert (await _refresh(system, app, current))["error"] == "invalid_grant"


async def test_thirty_days_end_a_family_however_much_it_is_used(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    current = (await tokens_by_code(system, app))["refresh_token"]
    for _ in range(3):
        system.clock.advance(10 * 86400 - 1)
        refreshed = await _refresh(system, app, current)
        assert refreshed["status"] == 200
        current = refreshed["refresh_token"]
    system.clock.advance(3)
    assert (await _refresh(system, app, current))["error"] == "invalid_grant"


async def test_a_refreshed_access_token_is_accepted_by_the_api(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    first = await tokens_by_code(system, app)
    second = await _refresh(system, app, first["refresh_token"])
    assert (await me(system, second["access_token"])).status_code == 200


@pytest.mark.bff_settings(refresh_reuse_leeway=10)
async def test_within_the_leeway_a_repeat_is_a_retry_not_a_theft(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    first = await tokens_by_code(system, app)
    lost = await _refresh(system, app, first["refresh_token"])  # its answer never arrived
    system.clock.advance(5)
    retry = await _refresh(system, app, first["refresh_token"])
    assert retry["status"] == 200 and retry["refresh_token"] not in (lost["refresh_token"],)
    # the family keeps exactly one live token: the retry's; the lost answer's is spent
    assert (await _refresh(system, app, retry["refresh_token"]))["status"] == 200
    system.clock.advance(11)
    late = await _refresh(system, app, first["refresh_token"])  # past the leeway: reuse
    assert late["error"] == "invalid_grant"


@pytest.mark.parametrize("records", ["sqlite"], indirect=True)
async def test_the_refresh_token_is_stored_only_as_its_hash(
    system: System, signed_in: str, tmp_path: Path
) -> None:
    app = await _app(system)
    refresh_token = (await tokens_by_code(system, app))["refresh_token"]
    rotated = (await _refresh(system, app, refresh_token))["refresh_token"]
    connection = sqlite3.connect(tmp_path / "records.db")
    held = "\n".join(connection.iterdump())
    connection.close()
    for secret in (refresh_token, rotated):
        assert secret not in held
        assert hashlib.sha256(secret.encode()).hexdigest() in held


@pytest.mark.parametrize("records", backends(), indirect=True)
async def test_fifty_concurrent_refreshes_with_one_token_rotate_it_exactly_once(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    refresh_token = (await tokens_by_code(system, app))["refresh_token"]
    results: list[dict[str, Any]] = []

    async def attempt() -> None:
        results.append(await _refresh(system, app, refresh_token))

    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(attempt)
    rotated = [r for r in results if r["status"] == 200]
    assert len(rotated) == 1
    assert all(r["error"] == "invalid_grant" for r in results if r["status"] != 200)
    # the 49 others presented a spent token: reuse, so the family, new token included, is dead
    assert (await _refresh(system, app, rotated[0]["refresh_token"]))["error"] == "invalid_grant"


def test_the_reuse_leeway_is_bounded_by_its_setting() -> None:
    from bff.errors import ConfigError
    from bff.settings import Settings

    assert Settings.from_env({"BFF_REFRESH_REUSE_LEEWAY": "60"}).refresh_reuse_leeway == 60
    with pytest.raises(ConfigError, match="BFF_REFRESH_REUSE_LEEWAY"):
        Settings.from_env({"BFF_REFRESH_REUSE_LEEWAY": "61"})
    assert dataclasses.fields(Settings)  # the setting is part of the one settings object


async def test_a_refresh_refused_for_its_scope_spends_nothing(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    first = await tokens_by_code(system, app)
    wider = await _refresh(system, app, first["refresh_token"], scope="notes:read admin")
    assert wider["status"] == 400 and wider["error"] == "invalid_scope"
    again = await _refresh(system, app, first["refresh_token"])
    assert again["status"] == 200  # the token was not spent, so this is no reuse


async def test_a_removed_client_loses_its_grants_even_if_registered_again(
    system: System, signed_in: str
) -> None:
    from bff.oauth.clients import new_client

    components = system.bff_app.state.components
    app = await _app(system)
    first = await tokens_by_code(system, app)
    stored = await components.clients.get(app.client_id)
    assert stored is not None
    await components.clients.remove(app.client_id)
    assert await components.revoker.end_client(app.client_id) == 1
    assert (await system.me_once_pushed(first["access_token"])).status_code == 401
    again, _ = new_client(
        name="Test app",
        grants=stored.grants,
        scopes=stored.scopes,
        redirect_uris=stored.redirect_uris,
        client_id=app.client_id,
        now=system.clock.now() + 1,
    )
    await components.clients.add(again)
    revived = await token(
        system,
        Registered(app.client_id, None),
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
    )
    assert revived.status_code in (400, 401) and "access_token" not in revived.json()
