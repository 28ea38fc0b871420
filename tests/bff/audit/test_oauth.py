"""Audit of the OAuth grants: minting, a refresh token's reuse (which revokes its family), and
failed client authentication, with no token or secret in any log line."""

from __future__ import annotations

import pytest

from tests.bff.audit.conftest import Capture
from tests.bff.oauth.conftest import REDIRECT, register, token, tokens_by_code
from tests.conftest import System, login

pytestmark = pytest.mark.anyio


async def test_a_reused_refresh_token_is_audited_and_revokes_the_family(
    system: System, user_id: str, captured: Capture
) -> None:
    await login(system.bff)
    app = await register(
        system, grants=("authorization_code", "refresh_token"), redirect_uris=(REDIRECT,)
    )
    first = await tokens_by_code(system, app)
    second = (
        await token(system, app, grant_type="refresh_token", refresh_token=first["refresh_token"])
    ).json()
    await token(system, app, grant_type="refresh_token", refresh_token=first["refresh_token"])
    captured.assert_no_secret(
        {first["refresh_token"], first["access_token"], second["refresh_token"]}
    )
    events = captured.events()
    reused = [e for e in events if e["event"] == "refresh.reused"]
    assert len(reused) == 1 and reused[0]["user_id"] == user_id
    assert reused[0]["family"] and reused[0]["client_id"] == app.client_id
    assert [e["event"] for e in events].count("token.minted") >= 2
    captured.assert_every_event_has_a_request_id()


async def test_failed_client_authentication_is_audited_without_the_secret(
    system: System, captured: Capture
) -> None:
    service = await register(system, grants=("client_credentials",))
    guess = "a-guessed-secret-long-enough"
    await system.bff.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": service.client_id,
            "client_secret": guess,
        },
    )
    await token(system, service, grant_type="client_credentials")
    captured.assert_no_secret({guess, service.secret or ""})
    failed = [e for e in captured.events() if e["event"] == "client.auth_failed"]
    assert len(failed) == 1 and failed[0]["client_id"] == service.client_id
