"""Audit of signing in: failures (known and unknown accounts), throttling and success."""

from __future__ import annotations

import pytest

from tests.bff.audit.conftest import Capture
from tests.conftest import PASSWORD, System, login

pytestmark = pytest.mark.anyio

GUESS = "wrong password guess"


async def test_sign_in_attempts_are_audited_without_a_password(
    system: System, user_id: str, captured: Capture
) -> None:
    await login(system.bff, password=GUESS)
    await login(system.bff, email="ghost@example.com", password=GUESS)
    await login(system.bff)
    captured.assert_no_secret({PASSWORD, GUESS, system.bff.cookies["__Host-sid"]})
    assert captured.names() == ["login.failed", "login.failed", "login.succeeded"]
    failed_known, failed_unknown, succeeded = captured.events()
    assert failed_known["user_id"] == user_id and "user_id" not in failed_unknown
    assert succeeded["user_id"] == user_id and succeeded["sid"]
    captured.assert_every_event_has_a_request_id()


async def test_a_throttled_attempt_is_audited(system: System, captured: Capture) -> None:
    for _ in range(7):
        await login(system.bff, email="victim@example.com", password=GUESS)
    captured.assert_no_secret({GUESS})
    assert captured.names().count("login.throttled") == 1
    captured.assert_every_event_has_a_request_id()


@pytest.mark.bff_settings(max_sessions_per_user=1)
async def test_a_session_ended_by_the_cap_is_audited(
    system: System, user_id: str, captured: Capture
) -> None:
    await login(system.bff)
    first = system.bff.cookies["__Host-sid"]
    await login(system.new_browser())
    captured.assert_no_secret({first})
    events = captured.events()
    evicted = [e for e in events if e["event"] == "session.evicted"]
    succeeded = [e for e in events if e["event"] == "login.succeeded"]
    assert len(evicted) == 1 and evicted[0]["sid"] == succeeded[0]["sid"]
    captured.assert_every_event_has_a_request_id()
