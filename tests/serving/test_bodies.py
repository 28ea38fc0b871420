"""Request bodies, on the BFF and the API served by both commands: a body that trickles is 408 at
the body timeout (the app sees the client gone, and logs nothing), a request answered before its
body has arrived is closed after its answer (so the rest is never read, and a 100-continue client
cannot have its next request taken for the body), and a body no app counts (an endless chunk
extension) is 413 at the server's own limit."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bff.testing.launcher import ProcessGroup, free_port
from serving.limits import MAX_BODY_BYTES
from serving.server import TOO_LARGE, App
from tests.serving.conftest import BODY_TIMEOUT, HEADER_TIMEOUT, Served, Stack
from tests.serving.rawhttp import (
    connect,
    get,
    head,
    read_answer,
    seconds_until_closed,
    send_until_answered,
)

SLACK = 1.5  # seconds a loaded machine may add to a timer
QUICK = 1.0  # what is answered at once comes well within this
DRIP = 0.25  # seconds between the bytes of a trickled body
FORM = ("Content-Type", "application/x-www-form-urlencoded")
JSON = ("Content-Type", "application/json")
PARTS = ("Traceback", "Exception in ASGI application", " 500")


def _target(stack: Stack, name: str) -> tuple[Served, bytes]:
    """Where the body goes, and the head that announces 100 bytes of it."""
    if name == "api POST /notes":
        token = stack.token(stack.sign_in())
        auth = ("Authorization", f"Bearer {token}")
        return stack.api, head("POST", "/notes", [auth, JSON, ("Content-Length", "100")])
    path = name.removeprefix("bff POST ")
    return stack.bff, head("POST", path, [FORM, ("Content-Length", "100")])


@pytest.mark.parametrize("name", ["bff POST /login", "bff POST /oauth/token", "api POST /notes"])
def test_a_body_that_trickles_is_408_at_the_body_timeout(stack: Stack, name: str) -> None:
    served, announced = _target(stack, name)
    with connect(served.url) as conn:
        conn.sendall(announced)
        started = time.monotonic()
        # one byte every DRIP seconds: 100 bytes would take 25 s
        first, _ = send_until_answered(conn, b"a", limit=BODY_TIMEOUT + SLACK, most=99, pace=DRIP)
        answer = read_answer(conn, QUICK, bytearray(first))
        took = time.monotonic() - started
        assert seconds_until_closed(conn, QUICK) < QUICK
    assert answer.status == 408, answer
    assert answer.json()["error"] == "request_timeout"
    assert answer.headers.get("connection") == "close"
    assert BODY_TIMEOUT - 0.2 <= took < BODY_TIMEOUT + SLACK
    # the app saw the client gone: no traceback, no 500 of its own
    assert not [part for part in PARTS if part in served.process.tail(100_000)]


def test_a_body_in_time_is_read_whole(stack: Stack) -> None:
    """The deadline is for the whole body, not for each byte: one that takes a second is in."""
    form = b"csrf_token=x&email=a%40example.com&password=p&next=%2F"
    with connect(stack.bff.url) as conn:
        conn.sendall(head("POST", "/login", [FORM, ("Content-Length", str(len(form)))]))
        for byte in form[:-1]:  # a byte every BODY_TIMEOUT / 2 / len(form) seconds
            conn.sendall(bytes([byte]))
            with pytest.raises(TimeoutError):
                conn.settimeout(BODY_TIMEOUT / 2 / len(form))
                conn.recv(1)
        conn.sendall(form[-1:])
        answer = read_answer(conn, QUICK)
    assert answer.status == 403  # the form was read: its CSRF token is refused


def test_a_request_answered_before_its_body_is_closed_after_its_answer(stack: Stack) -> None:
    """/bff/logout reads no body: the answer comes at once, the rest of the body is not read."""
    cookie = stack.sign_in()
    headers = [("Cookie", cookie), ("X-CSRF", "1"), JSON, ("Content-Length", "100000")]
    with connect(stack.bff.url) as conn:
        conn.sendall(head("POST", "/bff/logout", headers) + b"{")
        answer = read_answer(conn, QUICK)
        assert answer.status == 200 and answer.json() == {"logged_out": True}
        assert answer.headers.get("connection") == "close"
        # closed now, not at the head timeout that would time the next request
        assert seconds_until_closed(conn, HEADER_TIMEOUT + SLACK) < QUICK


@pytest.mark.parametrize("app", ["bff", "api"])
def test_a_declared_body_too_large_is_413_at_once_and_never_read(stack: Stack, app: App) -> None:
    if app == "api":
        auth = ("Authorization", f"Bearer {stack.token(stack.sign_in())}")
        served, announced = stack.api, head("POST", "/notes", [auth, JSON, _ten_gigabytes()])
    else:
        served, announced = stack.bff, head("POST", "/login", [FORM, _ten_gigabytes()])
    with connect(served.url) as conn:
        conn.sendall(announced)
        # the body, as fast as the server takes it: it stops taking it at the answer
        first, _ = send_until_answered(conn, b"a" * 65536, limit=QUICK, most=1 << 40)
        answer = read_answer(conn, QUICK, bytearray(first))
        assert answer.status == 413 and answer.json()["error"] == TOO_LARGE[app]
        assert answer.headers.get("connection") == "close"
        assert seconds_until_closed(conn, HEADER_TIMEOUT + SLACK) < QUICK


def _ten_gigabytes() -> tuple[str, str]:
    return ("Content-Length", str(10 * 1024**3))


def test_expect_100_continue_is_answered_and_a_refusal_closes(stack: Stack) -> None:
    with connect(stack.bff.url) as conn:
        expect = [FORM, ("Expect", "100-continue"), ("Content-Length", "5")]
        conn.sendall(head("POST", "/login", expect))
        conn.settimeout(QUICK)
        assert conn.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        conn.sendall(b"a=b&c")
        assert read_answer(conn, QUICK).status == 403
    with connect(stack.bff.url) as conn:
        too_large = [FORM, ("Expect", "100-continue"), _ten_gigabytes()]
        conn.sendall(head("POST", "/login", too_large))
        answer = read_answer(conn, QUICK)  # no 100 Continue first: the body is not wanted
        assert answer.status == 413 and answer.headers.get("connection") == "close"
        # a client that now sends its next request without the body must not have it taken for
        # the body: the connection is closed instead
        try:
            conn.sendall(get("/healthz", close=False))
        except OSError:
            pass  # closed already
        assert seconds_until_closed(conn, HEADER_TIMEOUT + SLACK) < QUICK


@pytest.mark.parametrize("app", ["bff", "api"])
def test_an_endless_chunk_extension_is_413_at_the_server_limit(stack: Stack, app: App) -> None:
    """The apps count body bytes; a chunk extension has none, so only the server can stop it."""
    chunked = ("Transfer-Encoding", "chunked")
    if app == "api":
        auth = ("Authorization", f"Bearer {stack.token(stack.sign_in())}")
        served, announced = stack.api, head("POST", "/notes", [auth, JSON, chunked])
    else:
        served, announced = stack.bff, head("POST", "/login", [FORM, chunked])
    with connect(served.url) as conn:
        conn.sendall(announced + b"1;")
        first, sent = send_until_answered(conn, b"a" * 65536, limit=10.0, most=256 << 20)
        answer = read_answer(conn, QUICK, bytearray(first))
    assert answer.status == 413 and answer.json()["error"] == TOO_LARGE[app]
    assert str(MAX_BODY_BYTES) in answer.json()["error_description"]
    assert sent < MAX_BODY_BYTES + (64 << 20)  # what the sockets' buffers took, not more


def test_a_chunked_body_within_the_limits_is_read(stack: Stack) -> None:
    form = b"csrf_token=x&email=a%40example.com&password=p"
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in _parts(form, 7))
    with connect(stack.bff.url) as conn:
        conn.sendall(head("POST", "/login", [FORM, ("Transfer-Encoding", "chunked")]))
        conn.sendall(chunks + b"0\r\n\r\n")
        assert read_answer(conn, QUICK).status == 403  # read whole: the CSRF token is refused


def _parts(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_shutting_down_answers_a_body_in_flight_with_503_and_no_traceback(
    stack: Stack, tmp_path: Path
) -> None:
    """uvicorn cancels a request still reading its body at shutdown (a 500 and a traceback):
    it is answered 503 at once instead, and the app sees the client gone."""
    port = free_port()
    with ProcessGroup(log_dir=tmp_path) as group:
        # a BFF of its own (on the stack's var dir), since this one is stopped
        served = Served(stack.bff.which, group.start(stack.command("bff", port)), port)
        assert served.process.pid is not None
        with connect(served.url) as conn:
            conn.sendall(head("POST", "/login", [FORM, ("Content-Length", "100")]) + b"a")
            _reached_the_app(served)
            started = time.monotonic()
            os.kill(served.process.pid, signal.SIGTERM)
            answer = read_answer(conn, HEADER_TIMEOUT)
            answered = time.monotonic() - started
        assert served.process.wait_exited(HEADER_TIMEOUT + SLACK)
    assert answer.status == 503 and answer.json()["error"] == "temporarily_unavailable"
    assert answered < QUICK  # not when the graceful shutdown gives up on the request
    assert not [part for part in PARTS if part in served.process.tail(100_000)]


def _reached_the_app(served: Served) -> None:
    """A request on another connection is answered: the server has read what came before."""
    with connect(served.url) as other:
        other.sendall(get("/healthz"))
        assert read_answer(other, QUICK).status == 200
