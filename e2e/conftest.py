"""The e2e stack: the BFF and the API as real uvicorn processes, driven by the system Chromium."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
ACTION_TIMEOUT_MS = 10_000
E2E_EMAIL = "e2e@example.com"


@dataclass(frozen=True)
class Stack:
    bff_url: str
    api_url: str
    email: str
    password: str


@dataclass(frozen=True)
class _Server:
    name: str
    process: subprocess.Popen[bytes]
    stderr_path: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(tmp: Path, bff_port: int, api_port: int) -> dict[str, str]:
    # a developer's own BFF_*/API_* settings (a Redis store, a secret, a database) must not leak
    # into an isolated run
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BFF_", "API_"))}
    # separate var dirs, so the API follows the revocation feed with the configured secret
    feed_secret = secrets.token_urlsafe(32)
    env.update(
        BFF_REVOCATION_SECRET=feed_secret,
        API_REVOCATION_SECRET=feed_secret,
        BFF_VAR_DIR=str(tmp / "bff-var"),
        API_VAR_DIR=str(tmp / "api-var"),
        BFF_PUBLIC_URL=f"http://127.0.0.1:{bff_port}",
        API_PUBLIC_URL=f"http://127.0.0.1:{api_port}",
        # the OWASP floor: fast enough for tests, still real argon2id
        BFF_ARGON2_MEMORY_KIB="19456",
        BFF_ARGON2_TIME_COST="2",
    )
    return env


def _run_cli(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bff", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        pytest.fail(f"python -m bff {args[0]} failed ({result.returncode}):\n{result.stderr}")


def _start(name: str, module: str, port: int, env: dict[str, str], logs: Path) -> _Server:
    stdout_path, stderr_path = logs / f"{name}.out.log", logs / f"{name}.err.log"
    # files, not pipes: nobody reads the output while the tests run, and a full pipe blocks
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                f"{module}.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-proxy-headers",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
    return _Server(name=name, process=process, stderr_path=stderr_path)


def _wait_healthy(server: _Server, base_url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(base_url=base_url, timeout=1.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                pytest.fail(
                    f"{server.name} exited with {server.process.returncode}:\n{_tail(server)}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if client.get("/healthz").status_code == 200:
                    return
            time.sleep(0.1)
    pytest.fail(f"{server.name} not healthy after {START_TIMEOUT:.0f} s:\n{_tail(server)}")


def _tail(server: _Server, limit: int = 4000) -> str:
    return server.stderr_path.read_text(errors="replace")[-limit:]


def _stop(server: _Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("e2e")
    bff_port, api_port = _free_port(), _free_port()
    env = _environment(tmp, bff_port, api_port)
    password = secrets.token_urlsafe(15)  # 20 characters
    _run_cli(env, "init")
    _run_cli(env, "users", "add", E2E_EMAIL, "--password", password)
    stack = Stack(
        bff_url=env["BFF_PUBLIC_URL"],
        api_url=env["API_PUBLIC_URL"],
        email=E2E_EMAIL,
        password=password,
    )
    with contextlib.ExitStack() as cleanup:
        servers = [
            _start("bff", "bff", bff_port, env, tmp),
            _start("api", "api", api_port, env, tmp),
        ]
        for server in servers:
            cleanup.callback(_stop, server)
        _wait_healthy(servers[0], stack.bff_url)
        _wait_healthy(servers[1], stack.api_url)
        yield stack


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Debian's Chromium: Playwright's own browser download cannot reach the network here
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:
    # pytest-playwright passes it to every context, so tests navigate with paths
    return stack.bff_url


@pytest.fixture(autouse=True)
def _short_timeouts(context: BrowserContext) -> None:
    # a local page that has not answered in 10 s is broken: fail fast, not after 30 s
    context.set_default_timeout(ACTION_TIMEOUT_MS)
