"""What a server does with connections that do not behave, on real processes started by both
commands: a head sent too slowly and an idle keep-alive connection are closed, past the cap a
connection is answered 503 at once (so idle ones never run a worker out of file descriptors),
and the open-files limit is raised before the cap is sized."""

from __future__ import annotations

import contextlib
import re
import selectors
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import (
    HEADER_TIMEOUT,
    KEEP_ALIVE_TIMEOUT,
    MAX_CONNECTIONS,
    OPEN_FILES,
    Served,
)
from tests.serving.rawhttp import connect, get, seconds_until_closed

SLACK = 1.5  # seconds a loaded machine may add to a timer
QUICK = 1.0  # an answer past the cap comes at once, not when a slot frees up


def test_a_connection_that_sends_no_head_is_closed(served: Served) -> None:
    with connect(served.url) as conn:
        closed = seconds_until_closed(conn, HEADER_TIMEOUT + SLACK)
    assert closed >= HEADER_TIMEOUT - 0.2


def test_a_head_sent_in_part_is_closed_at_the_header_timeout(served: Served) -> None:
    with connect(served.url) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: api.test\r\n")
        closed = seconds_until_closed(conn, HEADER_TIMEOUT + SLACK)
    assert closed >= HEADER_TIMEOUT - 0.2


def test_a_head_dripped_line_by_line_is_closed_at_the_header_timeout(served: Served) -> None:
    """Slowloris: every byte keeps the connection busy, only the deadline for the whole head
    ends it."""
    started = time.monotonic()
    with connect(served.url) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\n")
        with pytest.raises(OSError):  # the peer closed: EOF read, or a write refused
            conn.settimeout(0.25)  # the pace of the drip: a wait on the socket
            while time.monotonic() - started < HEADER_TIMEOUT + SLACK:
                conn.sendall(b"X-Drip: 1\r\n")
                with contextlib.suppress(TimeoutError):
                    if conn.recv(1) == b"":
                        raise ConnectionAbortedError("closed by the server")
    assert HEADER_TIMEOUT - 0.2 <= time.monotonic() - started < HEADER_TIMEOUT + SLACK


def test_an_idle_keep_alive_connection_is_closed_at_the_keep_alive_timeout(
    served: Served,
) -> None:
    with connect(served.url) as conn:
        conn.sendall(get("/healthz", close=False))
        answer = b""
        while not answer.endswith(b'{"status":"ok"}'):
            answer += conn.recv(65536)
        closed = seconds_until_closed(conn, HEADER_TIMEOUT + SLACK)
    # the keep-alive timer, not the (longer) head timer
    assert KEEP_ALIVE_TIMEOUT - 0.2 <= closed < HEADER_TIMEOUT - 0.5


def test_the_open_files_limit_is_raised_and_the_cap_sized_below_it(served: Served) -> None:
    soft, hard = OPEN_FILES
    assert served.process.pid is not None and soft < hard
    # the server (and each worker it spawned) runs with the hard limit, started with the soft one
    for pid in [served.process.pid, *_children(served.process.pid)]:
        limits = Path(f"/proc/{pid}/limits").read_text()
        assert re.search(rf"^Max open files\s+{hard}\s+{hard}\s", limits, re.MULTILINE), pid
    line = f"at most {MAX_CONNECTIONS} connections per worker (open files {hard})"
    assert served.process.wait_for_output(line, 1.0), served.process.tail()


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def test_past_the_cap_a_connection_gets_503_at_once_and_service_returns(served: Served) -> None:
    capacity = MAX_CONNECTIONS * served.workers
    opened = 3 * capacity  # past every worker's cap, and past the soft open-files limit
    with _idle_connections(served.url, opened) as idle:
        refused = _answered_at_once(idle, wait=QUICK)
        # every refusal is a 503, and only what no worker had room for was refused
        assert all(answer.startswith(b"HTTP/1.1 503 ") for answer in refused.values())
        assert len(refused) >= opened - capacity
        started = time.monotonic()
        try:
            status = httpx.get(f"{served.url}/healthz", timeout=QUICK).status_code
        except httpx.TransportError:  # the connection reset under the 503: still no wait
            status = 503
        assert status in (200, 503) and time.monotonic() - started < QUICK
        kept = [conn for conn in idle if conn not in refused]
        assert kept  # the cap let some in: the refusals were the cap's, not a failure
        # the head timer closes the idle ones that were let in: the slots free up
        assert _all_closed(kept, HEADER_TIMEOUT + SLACK)
    assert httpx.get(f"{served.url}/healthz", timeout=2).status_code == 200


@contextlib.contextmanager
def _idle_connections(url: str, count: int) -> Iterator[list[socket.socket]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(connect(url)) for _ in range(count)]


def _answered_at_once(conns: list[socket.socket], *, wait: float) -> dict[socket.socket, bytes]:
    """The connections the server wrote to within `wait` seconds (nothing was sent on them),
    and what each got up to its close."""
    answered: dict[socket.socket, bytes] = {}
    with selectors.DefaultSelector() as selector:
        for conn in conns:
            selector.register(conn, selectors.EVENT_READ, data=conn)
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(left):
                ready: socket.socket = key.data
                data = _read_some(ready)
                answered[ready] = answered.get(ready, b"") + data
                if not data:
                    selector.unregister(ready)
    return answered


def _all_closed(conns: list[socket.socket], within: float) -> bool:
    deadline = time.monotonic() + within
    for conn in conns:
        try:
            seconds_until_closed(conn, max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            return False
    return True


def _read_some(conn: socket.socket) -> bytes:
    try:
        return conn.recv(65536)
    except ConnectionResetError:
        return b""


def test_the_server_names_itself_nowhere(served: Served) -> None:
    response = httpx.get(f"{served.url}/healthz", timeout=2)
    assert "server" not in response.headers
