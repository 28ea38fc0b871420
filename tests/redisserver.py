"""A real redis-server on a free loopback port, for the Redis tests: start, stop, start again on
the same port (an outage drill), terminate. No persistence, so a restart loses every key."""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

STARTUP_TIMEOUT = 10.0
READY_LINE = b"Ready to accept connections"


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
                "",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_ready()

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

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def flush(self) -> None:
        """An empty database for the next test."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2.0) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            if not conn.recv(64).startswith(b"+OK"):
                raise RuntimeError("redis-server refused FLUSHALL")

    def _wait_until_ready(self) -> None:
        """Read the server's own log until it says it is ready: event-driven, no polling."""
        assert self._process is not None and self._process.stdout is not None
        stdout, seen = self._process.stdout, b""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while READY_LINE not in seen:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(timeout=left):
                    raise RuntimeError(f"redis-server on port {self.port} not ready in time")
                chunk = os.read(stdout.fileno(), 4096)
                if not chunk:
                    raise RuntimeError(f"redis-server exited: {seen.decode(errors='replace')}")
                seen += chunk
        self._log.write_bytes(seen)
        # keep draining its output into the log, so a full pipe never blocks the server
        threading.Thread(target=self._drain, args=(stdout,), daemon=True).start()

    def _drain(self, stdout: IO[bytes]) -> None:
        # closed at the server's exit (end of file), so no pipe is left for the collector
        with stdout, self._log.open("ab") as log:
            for line in stdout:
                log.write(line)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def running_redis_server() -> Iterator[RedisServer]:
    """Generator for a fixture: a started server, always stopped and cleaned up afterwards."""
    server = RedisServer(binary=require_redis_server())
    try:
        server.start()
        yield server
    finally:
        server.close()
