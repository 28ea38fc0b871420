"""One revocation across the channels: what ends a session at the BFF ends its tokens at the API,
pushed through the BFF's revocation stream, with no call from the API per request."""

from __future__ import annotations

import httpx
import pytest

from api.app import create_app as create_api
from api.settings import Settings as ApiSettings
from tests.conftest import JSON, PASSWORD, InProcessFeed, LateApp, System, csrf_from, login

pytestmark = pytest.mark.anyio


async def _me(system: System, token: str) -> httpx.Response:
    return await system.api.get("/me", headers={"Authorization": f"Bearer {token}"})


async def _refused(system: System, token: str) -> httpx.Response:
    return await system.me_once_pushed(token)


async def _token(client: httpx.AsyncClient) -> str:
    return str((await client.post("/bff/token", headers=JSON)).json()["access_token"])


async def test_logout_kills_the_js_token_at_the_api(system: System, user_id: str) -> None:
    await login(system.bff)
    token = await _token(system.bff)
    assert (await _me(system, token)).status_code == 200  # verified and cached
    assert (await system.bff.post("/bff/logout", headers=JSON)).status_code == 200
    response = await _refused(system, token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "revoked" in response.json()["error_description"]


async def test_form_logout_kills_the_proxy_and_dashboard_token_too(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    await system.bff.get("/dashboard")  # the BFF minted and cached its own token
    sid = (await system.bff.get("/bff/user", headers=JSON)).json()["sid"]
    server_token = system.bff_app.state.components.token_cache.cached(sid)
    assert server_token is not None
    page = await system.bff.get("/dashboard")
    await system.bff.post("/logout", data={"csrf_token": csrf_from(page.text)})
    assert (await _refused(system, server_token.token)).status_code == 401


async def test_revoking_another_device_kills_only_its_tokens(system: System, user_id: str) -> None:
    await login(system.bff)
    other = system.new_browser()
    await login(other)
    other_token, my_token = await _token(other), await _token(system.bff)
    other_sid = (await other.get("/bff/user", headers=JSON)).json()["sid"]
    page = await system.bff.get("/sessions")
    await system.bff.post(
        "/sessions/revoke", data={"csrf_token": csrf_from(page.text), "sid": other_sid}
    )
    assert (await _refused(system, other_token)).status_code == 401
    assert (await _me(system, my_token)).status_code == 200


async def test_password_change_kills_every_earlier_token(system: System, user_id: str) -> None:
    await login(system.bff)
    other = system.new_browser()
    await login(other)
    tokens = [await _token(system.bff), await _token(other)]
    page = await system.bff.get("/account")
    new_password = "a brand new password"
    response = await system.bff.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page.text),
            "current_password": PASSWORD,
            "new_password": new_password,
            "confirm_password": new_password,
        },
    )
    assert response.status_code == 303
    for token in tokens:
        assert (await _refused(system, token)).status_code == 401
    fresh = await _token(system.bff)  # the new session's tokens work
    assert (await _me(system, fresh)).status_code == 200


async def test_an_api_started_after_the_logout_learns_it_from_the_replay(
    system: System, user_id: str, api_settings: ApiSettings
) -> None:
    await login(system.bff)
    token = await _token(system.bff)
    await system.bff.post("/bff/logout", headers=JSON)
    late = LateApp()
    late.app = system.bff_app
    restarted = create_api(
        api_settings,
        clock=system.clock,
        jwks_transport=httpx.ASGITransport(app=late),
        revocation_source=InProcessFeed(late),
    )
    async with restarted.router.lifespan_context(restarted):
        assert restarted.state.revocations.ready
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=restarted), base_url="https://api.test"
        ) as api:
            response = await api.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
