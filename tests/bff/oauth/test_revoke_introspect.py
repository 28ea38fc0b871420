"""POST /oauth/revoke (RFC 7009) and POST /oauth/introspect (RFC 7662)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bff.oauth.conftest import REDIRECT, Registered, me, register, token, tokens_by_code
from tests.conftest import System

pytestmark = pytest.mark.anyio


async def _app(system: System) -> Registered:
    return await register(
        system, grants=("authorization_code", "refresh_token"), redirect_uris=(REDIRECT,)
    )


async def _revoke(system: System, client: Registered, value: str, **extra: str) -> int:
    response = await system.bff.post(
        "/oauth/revoke", data={**client.post_auth(), "token": value, **extra}
    )
    return response.status_code


async def _introspect(system: System, client: Registered, value: str) -> dict[str, Any]:
    response = await system.bff.post(
        "/oauth/introspect", data={**client.post_auth(), "token": value}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_revoking_a_refresh_token_ends_its_family(system: System, signed_in: str) -> None:
    app = await _app(system)
    tokens = await tokens_by_code(system, app)
    assert (
        await _revoke(system, app, tokens["refresh_token"], token_type_hint="refresh_token") == 200
    )
    refreshed = await token(
        system, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refreshed.json()["error"] == "invalid_grant"
    assert (await system.me_once_pushed(tokens["access_token"])).status_code == 401


async def test_revoking_an_access_token_kills_that_token_at_the_api(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    tokens = await tokens_by_code(system, app)
    assert await _revoke(system, app, tokens["access_token"]) == 200
    assert (await system.me_once_pushed(tokens["access_token"])).status_code == 401
    # only that token: the family lives on
    refreshed = await token(
        system, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refreshed.status_code == 200
    assert (await me(system, refreshed.json()["access_token"])).status_code == 200


async def test_an_unknown_token_still_gets_200(system: System) -> None:
    service = await register(system, grants=("client_credentials",))
    assert await _revoke(system, service, "not-a-token") == 200
    assert await _revoke(system, service, "a.b.c") == 200


async def test_a_client_cannot_revoke_another_clients_token(system: System, signed_in: str) -> None:
    app, other = await _app(system), await _app(system)
    tokens = await tokens_by_code(system, app)
    assert await _revoke(system, other, tokens["refresh_token"]) == 200
    assert await _revoke(system, other, tokens["access_token"]) == 200
    assert (await me(system, tokens["access_token"])).status_code == 200
    refreshed = await token(
        system, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refreshed.status_code == 200


async def test_revocation_needs_client_authentication(system: System) -> None:
    response = await system.bff.post("/oauth/revoke", data={"token": "x"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


async def test_a_resource_server_introspects_live_and_dead_tokens(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    gateway = await register(system, grants=("client_credentials",), resource_server=True)
    tokens = await tokens_by_code(system, app)
    live = await _introspect(system, gateway, tokens["access_token"])
    assert live["active"] is True and live["sub"] == signed_in
    assert live["client_id"] == app.client_id and live["scope"] == "notes:read"
    assert live["iss"] == "https://bff.test" and live["aud"] == "https://api.test"
    refresh = await _introspect(system, gateway, tokens["refresh_token"])
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"
    await _revoke(system, app, tokens["refresh_token"])
    assert (await _introspect(system, gateway, tokens["access_token"])) == {"active": False}
    assert (await _introspect(system, gateway, tokens["refresh_token"])) == {"active": False}
    assert (await _introspect(system, gateway, "garbage")) == {"active": False}


async def test_an_introspected_access_token_dies_with_its_jti_or_session(
    system: System, signed_in: str
) -> None:
    from tests.conftest import JSON

    gateway = await register(system, grants=("client_credentials",), resource_server=True)
    service = await register(system, grants=("client_credentials",))
    issued = (await token(system, service, grant_type="client_credentials")).json()["access_token"]
    assert (await _introspect(system, gateway, issued))["active"] is True
    await _revoke(system, service, issued)
    assert (await _introspect(system, gateway, issued)) == {"active": False}
    js = (await system.bff.post("/bff/token", headers=JSON)).json()["access_token"]
    assert (await _introspect(system, gateway, js))["active"] is True
    await system.bff.post("/bff/logout", headers=JSON)
    assert (await _introspect(system, gateway, js)) == {"active": False}


async def test_only_resource_servers_may_introspect(system: System) -> None:
    service = await register(system, grants=("client_credentials",))
    response = await system.bff.post(
        "/oauth/introspect", data={**service.post_auth(), "token": "x"}
    )
    assert response.status_code == 403 and response.json()["error"] == "unauthorized_client"
