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


async def _near_the_absolute_end(system: System, seconds_left: int) -> None:
    for _ in range(35):  # keep sliding: only the 12-hour limit ends this session
        system.clock.advance(20 * 60)
        await system.bff.get("/bff/user", headers=JSON)
    system.clock.advance(12 * 3600 - 35 * 20 * 60 - seconds_left)


async def test_a_token_minted_near_the_session_end_dies_with_it_leeway_included(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    await _near_the_absolute_end(system, seconds_left=100)
    token = (await system.bff.post("/bff/token", headers=JSON)).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    system.clock.advance(99)
    assert (await system.api.get("/me", headers=bearer)).status_code == 200
    system.clock.advance(1)  # the session's end: the API's 30 s of leeway do not extend it
    assert (await system.bff.get("/bff/user", headers=JSON)).status_code == 401
    assert (await system.api.get("/me", headers=bearer)).status_code == 401


async def test_the_servers_own_token_dies_with_the_session_too(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    await _near_the_absolute_end(system, seconds_left=100)
    session = await system.bff.get("/bff/user", headers=JSON)
    assert session.status_code == 200
    cache = system.bff_app.state.components.token_cache
    store = system.bff_app.state.components.session_store
    sid = session.json()["sid"]
    live = [s for s in await store.list_user(user_id) if s.sid == sid]
    token = cache.token_for(live[0])
    assert token.expires_at + 30 <= live[0].expires_at()


async def test_the_dashboard_says_plainly_that_the_session_is_ending(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    await _near_the_absolute_end(system, seconds_left=10)
    page = await system.bff.get("/dashboard")
    assert page.status_code == 200  # not an upstream failure
    assert "about to end" in page.text and "eyJ" not in page.text
