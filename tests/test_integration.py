"""The hybrid, in-process: the browser's session, the JS token and the API, wired together."""

from __future__ import annotations

import jwt
import pytest

from tests.conftest import JSON, System, login

pytestmark = pytest.mark.anyio


async def test_js_token_from_the_bff_is_accepted_by_the_api(system: System, user_id: str) -> None:
    await login(system.bff)
    token = (await system.bff.post("/bff/token", headers=JSON)).json()["access_token"]
    response = await system.api.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {
        "sub": user_id,
        "role": "user",
        "scope": "notes:read notes:write",
        "client_id": "bff",
    }


async def test_api_verifies_with_keys_from_the_bff_jwks(system: System, user_id: str) -> None:
    jwks = (await system.bff.get("/.well-known/jwks.json")).json()
    assert [key["kty"] for key in jwks["keys"]] == ["EC"]
    assert all("d" not in key for key in jwks["keys"])  # never a private part
    await login(system.bff)
    token = (await system.bff.post("/bff/token", headers=JSON)).json()["access_token"]
    await system.api.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert system.api_app.state.jwks.fetches == 1


async def test_token_expires_at_the_api_after_five_minutes(system: System, user_id: str) -> None:
    await login(system.bff)
    token = (await system.bff.post("/bff/token", headers=JSON)).json()["access_token"]
    system.clock.advance(300 + 31)
    response = await system.api.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


@pytest.mark.bff_settings(signing_alg="EdDSA")
async def test_eddsa_tokens_are_accepted_by_the_api(system: System, user_id: str) -> None:
    await login(system.bff)
    token = (await system.bff.post("/bff/token", headers=JSON)).json()["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
    response = await system.api.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
