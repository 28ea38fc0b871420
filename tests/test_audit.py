"""Audit events: one JSON line per security event, with a request id, and never a secret."""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import JSON, PASSWORD, System, csrf_from, login

pytestmark = pytest.mark.anyio


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Capture:
    handler = Capture()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(exc_text)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


def _events(capture: Capture) -> list[dict[str, object]]:
    prefix = "bff.audit INFO "
    return [
        json.loads(line[len(prefix) :].rsplit(" ", 1)[0])
        for line in capture.lines
        if line.startswith(prefix)
    ]


async def test_every_flow_is_audited_and_no_secret_reaches_a_log(
    system: System, user_id: str, captured: Capture
) -> None:
    secrets = {PASSWORD, "wrong password guess"}
    await login(system.bff, password="wrong password guess")
    await login(system.bff, email="ghost@example.com", password="wrong password guess")
    await login(system.bff)
    secrets.add(system.bff.cookies["__Host-sid"])
    token = (await system.bff.post("/bff/token", headers=JSON)).json()["access_token"]
    secrets.add(token)
    await system.api.get("/me", headers={"Authorization": f"Bearer {token}"})
    await system.api.get("/me", headers={"Authorization": f"Bearer {token[:-4]}AAAA"})
    await system.bff.get("/dashboard")
    await system.bff.get("/api/me", headers=JSON)
    for _ in range(7):
        await login(system.bff, email="victim@example.com", password="wrong password guess")
    await system.bff.post("/bff/token", headers=JSON)  # the sliding session is still alive
    new_password = "another long password"
    secrets.add(new_password)
    page = await system.bff.get("/account")
    await system.bff.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page.text),
            "current_password": "wrong current one",
            "new_password": new_password,
            "confirm_password": new_password,
        },
    )
    page = await system.bff.get("/account")
    await system.bff.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page.text),
            "current_password": PASSWORD,
            "new_password": new_password,
            "confirm_password": new_password,
        },
    )
    secrets.add(system.bff.cookies["__Host-sid"])
    page = await system.bff.get("/dashboard")
    await system.bff.post("/logout", data={"csrf_token": csrf_from(page.text)})

    for secret in secrets:
        leaks = [line for line in captured.lines if secret in line]
        assert leaks == [], f"a secret reached the logs: {leaks[:1]}"
    events = _events(captured)
    names = [event["event"] for event in events]
    for expected in (
        "login.failed",
        "login.succeeded",
        "token.minted",
        "login.throttled",
        "logout",
        "password.change_failed",
        "password.changed",
        "session.revoked",
    ):
        assert expected in names, expected
    for event in events:
        assert event["request_id"] and "ts" in event
    succeeded = next(e for e in events if e["event"] == "login.succeeded")
    assert succeeded["user_id"] == user_id and succeeded["sid"]
