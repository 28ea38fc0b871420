"""HTTP/1.1 by hand over a socket: what a misbehaving client sends, and when the server hangs up."""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence


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
