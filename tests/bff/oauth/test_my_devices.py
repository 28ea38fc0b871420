"""Users see their apps on "My devices", and one revocation reaches them: a revoke there, a
password change, signing out everywhere, the admin CLI."""

from __future__ import annotations

import pytest

from tests.bff.oauth.conftest import REDIRECT, Registered, register, token, tokens_by_code
from tests.conftest import PASSWORD, System, csrf_from

pytestmark = pytest.mark.anyio


async def _app(system: System) -> Registered:
    return await register(
        system,
        grants=("authorization_code", "refresh_token"),
        redirect_uris=(REDIRECT,),
        name="Phone app",
    )


async def _refresh_status(system: System, app: Registered, refresh_token: str) -> int:
    response = await token(system, app, grant_type="refresh_token", refresh_token=refresh_token)
    return response.status_code


async def test_my_devices_lists_each_app_with_its_scopes_use_and_ip(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    await tokens_by_code(system, app)
    page = await system.bff.get("/sessions")
    assert "Phone app" in page.text and "notes:read" in page.text
    assert 'class="app-ip">127.0.0.1<' in page.text


async def test_revoking_an_app_on_my_devices_ends_it_everywhere(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    tokens = await tokens_by_code(system, app)
    page = await system.bff.get("/sessions")
    family = page.text.split('data-family="', 1)[1].split('"', 1)[0]
    response = await system.bff.post(
        "/sessions/revoke-app", data={"csrf_token": csrf_from(page.text), "family": family}
    )
    assert response.status_code == 303
    assert await _refresh_status(system, app, tokens["refresh_token"]) == 400
    assert (await system.me_once_pushed(tokens["access_token"])).status_code == 401
    assert "Phone app" not in (await system.bff.get("/sessions")).text
    # the consent went with it: the app must ask again
    again = await system.bff.get(
        "/oauth/authorize?response_type=code&client_id="
        f"{app.client_id}&code_challenge={'x' * 43}&code_challenge_method=S256"
    )
    assert again.status_code == 200 and "Allow" in again.text


async def test_another_users_app_cannot_be_revoked(system: System, signed_in: str) -> None:
    page = await system.bff.get("/sessions")
    response = await system.bff.post(
        "/sessions/revoke-app", data={"csrf_token": csrf_from(page.text), "family": "f_other"}
    )
    assert response.status_code == 404


async def test_a_password_change_ends_every_app(system: System, signed_in: str) -> None:
    app = await _app(system)
    tokens = await tokens_by_code(system, app)
    page = await system.bff.get("/account")
    new = "a brand new long password"
    await system.bff.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page.text),
            "current_password": PASSWORD,
            "new_password": new,
            "confirm_password": new,
        },
    )
    assert await _refresh_status(system, app, tokens["refresh_token"]) == 400
    assert (await system.me_once_pushed(tokens["access_token"])).status_code == 401


async def test_signing_out_everywhere_ends_sessions_and_apps(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    tokens = await tokens_by_code(system, app)
    page = await system.bff.get("/sessions")
    response = await system.bff.post(
        "/sessions/revoke-all", data={"csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert (await system.bff.get("/sessions")).status_code == 303
    assert await _refresh_status(system, app, tokens["refresh_token"]) == 400


async def test_an_app_allowed_but_holding_no_grant_is_listed_and_revocable(
    system: System, signed_in: str
) -> None:
    from tests.bff.oauth.conftest import authorize_url, code_for, pkce

    app = await register(
        system, grants=("authorization_code",), redirect_uris=(REDIRECT,), name="Code only"
    )
    await code_for(system, app, pkce())  # consent given; the code is never redeemed
    page = await system.bff.get("/sessions")
    assert "Code only" in page.text and f'data-client="{app.client_id}"' in page.text
    response = await system.bff.post(
        "/sessions/revoke-app", data={"csrf_token": csrf_from(page.text), "client": app.client_id}
    )
    assert response.status_code == 303
    assert "Code only" not in (await system.bff.get("/sessions")).text
    again = await system.bff.get(authorize_url(app, pkce().challenge))
    assert again.status_code == 200 and "Allow" in again.text
