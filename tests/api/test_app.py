from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from typing import Any

import pytest

from tests.api.conftest import ApiHarness

pytestmark = pytest.mark.anyio


async def test_a_trailing_slash_is_not_redirected_to_the_host_header(harness: ApiHarness) -> None:
    headers = {"Host": "evil.example", "Authorization": f"Bearer {harness.token()}"}
    response = await harness.client.get("/notes/", headers=headers)
    assert response.status_code == 404
    assert "location" not in response.headers


def post_scope(token: str) -> dict[str, Any]:
    headers = {
        "host": "api.test",
        "authorization": f"Bearer {token}",
        "content-type": "application/json",
        "content-length": "100",
    }
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/notes",
        "raw_path": b"/notes",
        "query_string": b"",
        "root_path": "",
        "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("api.test", 443),
    }


async def test_a_client_leaving_mid_body_gets_a_400_and_logs_no_traceback(
    harness: ApiHarness, caplog: pytest.LogCaptureFixture
) -> None:
    incoming = [{"type": "http.request", "body": b'{"title": "half a', "more_body": True}]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level(logging.ERROR):
        try:
            await harness.app(post_scope(harness.token()), receive, send)
        except Exception:
            # what an ASGI server does with an exception out of the app: a traceback in its log
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 400
    body = json.loads(b"".join(message.get("body", b"") for message in sent[1:]))
    assert body == {
        "error": "invalid_request",
        "error_description": "the client went away before the body was complete",
    }
