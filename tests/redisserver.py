"""A real redis-server on a free loopback port, for the Redis tests: start, stop, start again on
the same port (an outage drill), terminate. No persistence, so a restart loses every key."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

STARTUP_TIMEOUT = 10.0
POLL_INTERVAL = 0.02


def require_redis_server() -> str:
    """The redis-server binary; skips the test without it, except on CI where it is mandatory."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not on PATH; the Redis suite is mandatory when CI=true")
        pytest.skip("redis-server is not on PATH")
    return binary


class RedisServer:
    def __init__(self, *, binary: str, port: int | None = None) -> None:
        self._binary = binary
        self.port = port or free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="redis-test-")
        self._log = Path(self._dir.name) / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self._process = subprocess.Popen(
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                self._dir.name,
                "--logfile",
                str(self._log),
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait(lambda: ping(self.port), "answer PING")

    def stop(self) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        process.terminate()
        try:
            process.wait(timeout=STARTUP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STARTUP_TIMEOUT)
        self._wait(lambda: not ping(self.port), "stop answering")

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def flush(self) -> None:
        """An empty database for the next test."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2.0) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            if not conn.recv(64).startswith(b"+OK"):
                raise RuntimeError("redis-server refused FLUSHALL")

    def _wait(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if ready():
                return
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self._log_tail()}")
            time.sleep(POLL_INTERVAL)  # bounded polling for the process, never for an expiry
        raise RuntimeError(f"redis-server on port {self.port} did not {what} in time")

    def _log_tail(self) -> str:
        try:
            return self._log.read_text(errors="replace")[-2000:].strip()
        except OSError:
            return "(no log)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def running_redis_server() -> Iterator[RedisServer]:
    """Generator for a fixture: a started server, always stopped and cleaned up afterwards."""
    server = RedisServer(binary=require_redis_server())
    try:
        server.start()
        yield server
    finally:
        server.close()
