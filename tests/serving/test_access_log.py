"""The access log: off by default in both commands (it costs about a third of /healthz's rate),
one line per request with `--access-log`."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from bff.testing.launcher import ProcessGroup, free_port
from tests.serving.commands import WHICH, Which
from tests.serving.conftest import Served, api_command

SEEN_TIMEOUT = 5.0


@pytest.mark.parametrize("which", WHICH)
def test_the_access_log_is_off_by_default(which: Which, tmp_path: Path) -> None:
    marker = secrets.token_hex(8)
    port = free_port()
    with ProcessGroup(log_dir=tmp_path) as group:
        process = group.start(api_command(which, port, str(tmp_path)))
        assert httpx.get(f"http://127.0.0.1:{port}/healthz?{marker}").status_code == 200
        process.stop()  # every line it would write is in the log once it has ended
    log = process.tail(100_000)
    assert "Application startup complete" in log and marker not in log


def test_with_access_log_each_request_is_a_line(served: Served) -> None:
    marker = secrets.token_hex(8)
    assert httpx.get(f"{served.url}/healthz?{marker}").status_code == 200
    assert served.process.wait_for_output(f'"GET /healthz?{marker} HTTP/1.1" 200', SEEN_TIMEOUT)
