"""A real redis-server on a free loopback port, for the Redis tests: start, stop, kill, start
again on the same port (an outage drill), close. No persistence, so a restart loses every key;
or with `appendonly`, an append-only file (fsynced every second) that a restart replays."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bff.testing.launcher import LOOPBACK, Process, free_port
from bff.testing.servers import redis_server

__all__ = ["RedisServer", "free_port", "require_redis_server", "running_redis_server"]

STARTUP_TIMEOUT = 10.0


def require_redis_server() -> str:
    """The redis-server binary; skips the test without it, except on CI where it is mandatory."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not on PATH; the Redis suite is mandatory when CI=true")
        pytest.skip("redis-server is not on PATH")
    return binary


class RedisServer:
    def __init__(self, *, binary: str, port: int | None = None, appendonly: bool = False) -> None:
        self.port = port or free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="redis-test-")
        workdir = Path(self._dir.name)
        command = redis_server(
            port=self.port,
            workdir=workdir,
            binary=binary,
            timeout=STARTUP_TIMEOUT,
            appendonly=appendonly,
        )
        self._process = Process(command, log=workdir / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process.running

    def start(self) -> None:
        """Start (again, on the same port) and wait for its ready line; a no-op while it runs."""
        self._process.start()

    def stop(self) -> None:
        self._process.stop()

    def kill(self) -> None:
        """SIGKILL: the server vanishes without closing its connections."""
        self._process.kill()

    def pause(self) -> None:
        """SIGSTOP: connections stay open and nothing answers, as in a network partition."""
        self._process.pause()

    def resume(self) -> None:
        self._process.resume()

    def close(self) -> None:
        self.resume()  # a stopped process would ignore SIGTERM
        self.stop()
        self._dir.cleanup()

    def aof_written(self) -> bool:
        """Whether every write Redis has acknowledged is in its append-only file (handed to the
        kernel: what a `kill -9` of the process, unlike a power cut, cannot take back). With
        `appendfsync everysec` Redis may hold its AOF buffer back while an fsync is slow."""
        with redis.Redis(host=LOOPBACK, port=self.port, socket_timeout=2.0) as client:
            return int(client.info("persistence")["aof_buffer_length"]) == 0

    def flush(self) -> None:
        """An empty database for the next test."""
        with socket.create_connection((LOOPBACK, self.port), timeout=2.0) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            if not conn.recv(64).startswith(b"+OK"):
                raise RuntimeError("redis-server refused FLUSHALL")


def running_redis_server(*, appendonly: bool = False) -> Iterator[RedisServer]:
    """Generator for a fixture: a started server, always stopped and cleaned up afterwards."""
    server = RedisServer(binary=require_redis_server(), appendonly=appendonly)
    try:
        server.start()
        yield server
    finally:
        server.close()
