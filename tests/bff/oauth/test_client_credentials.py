"""client_credentials: a service gets a token for itself, never a refresh token."""

from __future__ import annotations

import jwt
import pytest

from tests.bff.oauth.conftest import me, register, token
from tests.conftest import System

pytestmark = pytest.mark.anyio


async def test_a_service_gets_a_token_for_itself_that_the_api_accepts(system: System) -> None:
    service = await register(system, grants=("client_credentials",), scopes="notes:read")
    response = await token(system, service, grant_type="client_credentials")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == service.client_id == claims["client_id"]
    assert claims["scope"] == "notes:read"
    assert not {"sid", "family", "role"} & set(claims)
    answer = await me(system, body["access_token"])
    assert answer.status_code == 200 and answer.json()["client_id"] == service.client_id


async def test_scope_narrows_and_never_widens(system: System) -> None:
    service = await register(
        system, grants=("client_credentials",), scopes="notes:read notes:write"
    )
    narrowed = await token(system, service, grant_type="client_credentials", scope="notes:read")
    assert narrowed.json()["scope"] == "notes:read"
    wider = await token(system, service, grant_type="client_credentials", scope="admin")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"


async def test_client_secret_basic_works_too(system: System) -> None:
    service = await register(system, grants=("client_credentials",))
    response = await system.bff.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=service.basic()
    )
    assert response.status_code == 200
