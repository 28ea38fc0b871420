"""What a server does with connections that do not behave, on real processes started by both
commands: a head sent too slowly and an idle keep-alive connection are closed, an answer left
unread is reset at the send timeout, past the cap the connection that has waited longest for its
client makes room (so idle and slow ones cannot keep real requests out), only when every
connection is busy is a new one answered 503 at once (so none ever runs a worker out of file
descriptors), and the open-files limit is raised before the cap is sized."""

from __future__ import annotations

import contextlib
import re
import select
import selectors
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contract.revocation import MEDIA_TYPE, REVOCATION_PATH
from tests.serving.conftest import (
    HEADER_TIMEOUT,
    KEEP_ALIVE_TIMEOUT,
    MAX_CONNECTIONS,
    OPEN_FILES,
    SEND_TIMEOUT,
    Served,
    Stack,
)
from tests.serving.rawhttp import connect, get, head, seconds_until_closed

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


def test_past_the_cap_the_longest_idle_connection_makes_room(served: Served) -> None:
    """Slowloris: connections that send nothing can no longer keep real requests out."""
    capacity = MAX_CONNECTIONS * served.workers
    opened = 3 * capacity  # past every worker's cap, and past the soft open-files limit
    with _idle_connections(served.url, opened) as idle:
        closed = _answered_at_once(idle, wait=QUICK)
        # nobody was refused: the longest idle ones were closed (with no answer) instead
        assert not [answer for answer in closed.values() if answer]
        assert len(closed) >= opened - capacity
        # the newest are still open, and a real request is served at once
        assert idle[-1] not in closed
        started = time.monotonic()
        assert httpx.get(f"{served.url}/healthz", timeout=QUICK).status_code == 200
        assert time.monotonic() - started < QUICK


def test_past_the_cap_the_longest_slow_body_makes_room_with_503(stack: Stack) -> None:
    capacity = MAX_CONNECTIONS * stack.bff.workers
    opened = 3 * capacity
    form = [("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", "100")]
    with contextlib.ExitStack() as closing:
        slow = []
        for _ in range(opened):
            conn = closing.enter_context(connect(stack.bff.url))
            slow.append(conn)
            with contextlib.suppress(OSError):  # one cut short already
                conn.sendall(head("POST", "/login", form) + b"a")
        answered = _answered_at_once(slow, wait=QUICK)
        # the oldest were cut short (503 once the head was read, else closed), never the newest
        assert len(answered) >= opened - capacity and slow[-1] not in answered
        for answer in answered.values():
            assert answer == b"" or (
                answer.startswith(b"HTTP/1.1 503 ") and b"temporarily_unavailable" in answer
            )
        assert [answer for answer in answered.values() if answer]
        started = time.monotonic()
        assert httpx.get(f"{stack.bff.url}/healthz", timeout=QUICK).status_code == 200
        assert time.monotonic() - started < QUICK


def test_when_every_connection_is_busy_a_new_one_gets_503_at_once(stack: Stack) -> None:
    """Revocation streams are busy for as long as they last: none is closed to make room; past
    the cap a new connection is answered 503 before it sends anything, and service returns as
    soon as connections close."""
    capacity = MAX_CONNECTIONS * stack.bff.workers
    opened = 3 * capacity  # past every worker's cap
    feed = head("GET", REVOCATION_PATH, [("Authorization", f"Bearer {stack.feed_secret}")])
    with contextlib.ExitStack() as closing:
        starts: list[bytes] = []
        for _ in range(opened):
            conn = closing.enter_context(connect(stack.bff.url, timeout=QUICK))
            with contextlib.suppress(OSError):  # refused already
                conn.sendall(feed)
            starts.append(_read_some(conn))  # the stream's start, or the refusal
        refused = [start for start in starts if start.startswith(b"HTTP/1.1 503 ")]
        streams = [start for start in starts if start.startswith(b"HTTP/1.1 200 ")]
        # what no worker had room for was refused, and nothing else: no stream was cut
        assert len(refused) + len(streams) == opened, starts
        assert len(refused) >= opened - capacity
        assert all(MEDIA_TYPE.encode() in start for start in streams)
        assert all(b"temporarily_unavailable" in start for start in refused)
        started = time.monotonic()
        try:
            status = httpx.get(f"{stack.bff.url}/healthz", timeout=QUICK).status_code
        except httpx.TransportError:  # the connection reset under the 503: still no wait
            status = 503
        assert status == 503 and time.monotonic() - started < QUICK
    # the server learns of the closes as it reads them: service returns at once
    assert _served_within(f"{stack.bff.url}/healthz", QUICK)


def test_a_response_left_unread_is_aborted_at_the_send_timeout(served: Served) -> None:
    """A client that asks for megabytes and reads none of it cannot hold its connection (the
    server's write buffer full): it is reset."""
    with socket.socket() as conn:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting
        conn.settimeout(QUICK)
        conn.connect(("127.0.0.1", served.port))
        # about 6 MB of answers, more than the kernel buffers hold
        conn.sendall(get("/openapi.json", close=False) * 600)
        started = time.monotonic()
        poller = select.poll()
        poller.register(conn, select.POLLRDHUP)  # the buffered answer is not an event
        events = poller.poll((SEND_TIMEOUT + SLACK + 1) * 1000)
        took = time.monotonic() - started
    assert events and events[0][1] & (select.POLLHUP | select.POLLERR), "still open"
    assert SEND_TIMEOUT - 0.2 <= took < SEND_TIMEOUT + SLACK + 1


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


def _served_within(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            if httpx.get(url, timeout=left).status_code == 200:
                return True
        except httpx.TransportError:
            pass  # reset under a 503
    return False


def _read_some(conn: socket.socket) -> bytes:
    try:
        return conn.recv(65536)
    except ConnectionResetError:
        return b""


def test_the_server_names_itself_nowhere(served: Served) -> None:
    response = httpx.get(f"{served.url}/healthz", timeout=2)
    assert "server" not in response.headers
