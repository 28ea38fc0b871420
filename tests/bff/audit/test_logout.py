"""Audit of signing out: the form and the JSON logout each write one event for the session."""

from __future__ import annotations

import pytest

from tests.bff.audit.conftest import Capture
from tests.conftest import JSON, System, csrf_from, login

pytestmark = pytest.mark.anyio


async def test_both_logouts_are_audited_without_the_cookie(
    system: System, user_id: str, captured: Capture
) -> None:
    await login(system.bff)
    form_cookie = system.bff.cookies["__Host-sid"]
    page = await system.bff.get("/dashboard")
    await system.bff.post("/logout", data={"csrf_token": csrf_from(page.text)})
    await login(system.bff)
    json_cookie = system.bff.cookies["__Host-sid"]
    await system.bff.post("/bff/logout", headers=JSON)
    captured.assert_no_secret({form_cookie, json_cookie})
    logouts = [e for e in captured.events() if e["event"] == "logout"]
    assert len(logouts) == 2 and logouts[0]["sid"] != logouts[1]["sid"]
    assert all(e["user_id"] == user_id for e in logouts)
    captured.assert_every_event_has_a_request_id()
