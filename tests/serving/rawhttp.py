"""HTTP/1.1 by hand over a socket: what a misbehaving client sends, and when the server hangs up."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def connect(url: str, *, timeout: float = 10.0) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def get(path: str, headers: Sequence[tuple[str, str]] = (), *, close: bool = True) -> bytes:
    lines = [f"{name}: {value}\r\n" for name, value in [("Host", "api.test"), *headers]]
    ending = "Connection: close\r\n\r\n" if close else "\r\n"
    return f"GET {path} HTTP/1.1\r\n{''.join(lines)}{ending}".encode()


def exchange(url: str, request: bytes, *, chunk: int = 65536) -> tuple[int, bytes]:
    """Send `request`, read until the server closes; its status and body."""
    with connect(url) as conn:
        try:
            for start in range(0, len(request), chunk):
                conn.sendall(request[start : start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-head: the answer is already waiting
        answer = read_to_end(conn)
    return status_of(answer), answer.split(b"\r\n\r\n", 1)[1]


def read_to_end(conn: socket.socket) -> bytes:
    answer = b""
    try:
        while chunk := conn.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass  # what was sent before the reset has been read
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def seconds_until_closed(conn: socket.socket, limit: float) -> float:
    """How long until the server closes `conn` (anything it sends first is discarded); raises
    TimeoutError when it is still open after `limit` seconds."""
    started = time.monotonic()
    conn.settimeout(limit)
    try:
        while conn.recv(65536):
            conn.settimeout(max(0.01, limit - (time.monotonic() - started)))
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def head(
    method: str, path: str, headers: Sequence[tuple[str, str]] = (), *, host: str = "api.test"
) -> bytes:
    """A request's head alone (a body, if any, is the caller's to send)."""
    lines = [f"{name}: {value}\r\n" for name, value in [("Host", host), *headers]]
    return f"{method} {path} HTTP/1.1\r\n{''.join(lines)}\r\n".encode()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated one keeps its last value
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def read_answer(conn: socket.socket, limit: float, buffered: bytearray | None = None) -> Answer:
    """The next whole response on `conn` (with a Content-Length, as every answer here has),
    within `limit` seconds; the bytes read past it stay in `buffered`. TimeoutError when it is
    not complete by then, ConnectionError when the server closes first."""
    data = buffered if buffered is not None else bytearray()
    deadline = time.monotonic() + limit
    while True:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            status_line, *lines = data[:end].decode("latin-1").split("\r\n")
            fields = dict(line.split(":", 1) for line in lines)
            headers = {name.strip().lower(): value.strip() for name, value in fields.items()}
            length = int(headers.get("content-length", "0"))
            if len(data) >= end + 4 + length:
                body = bytes(data[end + 4 : end + 4 + length])
                del data[: end + 4 + length]
                return Answer(int(status_line.split(" ", 2)[1]), headers, body)
        conn.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = conn.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise ConnectionError(f"closed by the server after {bytes(data[:200])!r}")
        data += chunk


def send_until_answered(
    conn: socket.socket, piece: bytes, *, limit: float, most: int, pace: float | None = None
) -> tuple[bytes, int]:
    """Send `piece` again and again (every `pace` seconds, or as fast as the server takes it)
    until the server answers or closes, for at most `limit` seconds and `most` bytes; what it
    answered (b"" if it closed without an answer, or sent nothing in time) and the bytes sent."""
    sent = 0
    started = time.monotonic()
    wait = pace if pace is not None else 0.001
    while time.monotonic() - started < limit and sent < most:
        try:
            conn.sendall(piece)
            sent += len(piece)
        except OSError:  # refused and closed: the answer, if any, is waiting
            wait = max(0.01, limit - (time.monotonic() - started))
        conn.settimeout(wait)  # the pace of the trickle: a wait on the socket
        try:
            answered = conn.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            answered = b""
        return answered, sent
    return b"", sent
