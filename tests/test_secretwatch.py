"""The whole-run log watch is wired: it learns the cookie values and tokens the tests handle (so
a leak of any of them into a log line fails the run), and it finds a leak when there is one."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import JSON, PASSWORD, System, login
from tests.secretwatch import WATCH

pytestmark = pytest.mark.anyio


async def test_the_watch_learns_the_secrets_the_browser_handles(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    token = (await system.bff.post("/bff/token", headers=JSON)).json()["access_token"]
    assert {PASSWORD, system.bff.cookies["__Host-sid"], token} <= WATCH.secrets


def test_the_watch_finds_a_secret_in_a_log_line() -> None:
    watch = type(WATCH)()
    watch.remember("a-secret-long-enough")
    watch.handle(logging.makeLogRecord({"name": "bff", "msg": "got a-secret-long-enough from it"}))
    watch.handle(logging.makeLogRecord({"msg": "nothing to see"}))
    assert watch.leaks() == ["bff: got a-secret-long-enough from it"]
