"""Pipelined requests, on real processes started by both commands: every one is answered, in
order, but once a request has arrived whole nothing more is parsed until its answer is out, so a
client that sends megabytes of requests and reads no answer costs the server one read, not a
queue of thousands of requests; a pipelined head over the limits is refused after the answers
before it."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx

from serving.limits import MAX_HEADERS
from tests.serving.conftest import Served, Stack
from tests.serving.rawhttp import Answer, connect, get, head, read_answer

QUICK = 2.0
FLOOD_CONNECTIONS = 4
FLOOD_BYTES = 4 * 1024 * 1024  # of pipelined requests on each
# what the flood may add to the server's memory: one read held per connection, a few requests
# parsed (uvicorn queued every request it read: hundreds of megabytes for this flood)
FLOOD_MEMORY = 40 * 1024 * 1024


def test_pipelined_requests_are_all_answered_in_order(served: Served) -> None:
    paths = ["/healthz" if n % 2 else "/nothing-here" for n in range(300)]
    with connect(served.url) as conn:
        conn.sendall(b"".join(get(path, close=False) for path in paths))
        answers = _answers(conn, len(paths))
    assert [answer.status for answer in answers] == [200 if n % 2 else 404 for n in range(300)]


def test_pipelined_requests_with_bodies_are_each_answered(stack: Stack) -> None:
    form = b"csrf_token=x&email=a%40example.com&password=p"
    headers = [("Content-Type", "application/x-www-form-urlencoded")]
    one = head("POST", "/login", [*headers, ("Content-Length", str(len(form)))]) + form
    with connect(stack.bff.url) as conn:
        conn.sendall(one * 20)
        answers = _answers(conn, 20)
    assert [answer.status for answer in answers] == [403] * 20  # each form read: CSRF refused


def test_a_pipelined_head_over_the_limits_is_431_after_the_answers_before_it(
    served: Served,
) -> None:
    """The head that follows another in one read is counted too, by the parser's callbacks."""
    many = [(f"X-{n}", "1") for n in range(MAX_HEADERS + 50)]
    with connect(served.url) as conn:
        conn.sendall(get("/healthz", close=False) + get("/healthz", many, close=False))
        first, second = _answers(conn, 2)
        assert first.status == 200
        assert second.status == 431 and second.json()["error"] == "request_header_fields_too_large"
        conn.settimeout(QUICK)
        assert conn.recv(1) == b""  # and closed


def _answers(conn: socket.socket, count: int) -> list[Answer]:
    buffered = bytearray()
    return [read_answer(conn, QUICK, buffered) for _ in range(count)]


def test_a_flood_of_pipelined_requests_is_parsed_one_answer_at_a_time(served: Served) -> None:
    assert served.process.pid is not None
    before = _memory(served.process.pid)
    flood = get("/healthz", close=False) * (FLOOD_BYTES // len(get("/healthz", close=False)))
    with _connections(served.url, FLOOD_CONNECTIONS) as conns:
        for conn in conns:
            # as much as the server takes within a second: all of it, if it reads everything;
            # a server that closes a flooding connection instead has kept its memory too
            conn.settimeout(1.0)
            with contextlib.suppress(TimeoutError, BrokenPipeError, ConnectionResetError):
                conn.sendall(flood)
        grown = _memory(served.process.pid) - before
        assert grown < FLOOD_MEMORY, f"{grown / 2**20:.0f} MiB for the flood"
    assert httpx.get(f"{served.url}/healthz", timeout=QUICK).status_code == 200


@contextlib.contextmanager
def _connections(url: str, count: int) -> Iterator[list[socket.socket]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(connect(url)) for _ in range(count)]


def _memory(pid: int) -> int:
    """The resident memory of the server and its workers, in bytes."""
    pids = [pid, *(int(child) for child in _read(f"/proc/{pid}/task/{pid}/children").split())]
    total = 0
    for one in pids:
        for line in _read(f"/proc/{one}/status").splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def _read(path: str) -> str:
    return Path(path).read_text()
