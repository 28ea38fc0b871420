"""Audit of the account: a failed and a successful password change, and the sessions it ends."""

from __future__ import annotations

import pytest

from tests.bff.audit.conftest import Capture
from tests.conftest import PASSWORD, System, csrf_from, login

pytestmark = pytest.mark.anyio

NEW_PASSWORD = "another long password"


async def _change(system: System, current: str) -> None:
    page = await system.bff.get("/account")
    await system.bff.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page.text),
            "current_password": current,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )


async def test_password_changes_are_audited_without_a_password(
    system: System, user_id: str, captured: Capture
) -> None:
    await login(system.bff)
    old_cookie = system.bff.cookies["__Host-sid"]
    await _change(system, "wrong current one")
    await _change(system, PASSWORD)
    captured.assert_no_secret(
        {PASSWORD, NEW_PASSWORD, "wrong current one", old_cookie, system.bff.cookies["__Host-sid"]}
    )
    names = captured.names()
    assert names.index("password.change_failed") < names.index("password.changed")
    assert "session.revoked" in names  # the change ended the session it was made in
    changed = next(e for e in captured.events() if e["event"] == "password.changed")
    assert changed["user_id"] == user_id and changed["sid"]
    captured.assert_every_event_has_a_request_id()
