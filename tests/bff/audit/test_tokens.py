"""Audit of tokens: every JS token minted is an event; using tokens (the API, the dashboard, the
proxy) never writes one into a log."""

from __future__ import annotations

import pytest

from tests.bff.audit.conftest import Capture
from tests.conftest import JSON, System, login

pytestmark = pytest.mark.anyio


async def test_minting_is_audited_and_no_token_reaches_a_log(
    system: System, user_id: str, captured: Capture
) -> None:
    await login(system.bff)
    token = (await system.bff.post("/bff/token", headers=JSON)).json()["access_token"]
    await system.api.get("/me", headers={"Authorization": f"Bearer {token}"})
    await system.api.get("/me", headers={"Authorization": f"Bearer {token[:-4]}AAAA"})
    await system.bff.get("/dashboard")
    await system.bff.get("/api/me", headers=JSON)
    server_token = system.bff_app.state.components.token_cache
    sid = (await system.bff.get("/bff/user", headers=JSON)).json()["sid"]
    cached = server_token.cached(sid)
    assert cached is not None
    captured.assert_no_secret({token, cached.token, system.bff.cookies["__Host-sid"]})
    minted = [e for e in captured.events() if e["event"] == "token.minted"]
    assert len(minted) == 1
    assert minted[0]["sid"] == sid and minted[0]["jti"] and minted[0]["client_id"] == "bff"
    captured.assert_every_event_has_a_request_id()
