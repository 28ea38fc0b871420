"""The e2e stack: the BFF and the API as real uvicorn processes, driven by the system Chromium."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from bff.testing.launcher import ProcessGroup, free_port
from bff.testing.servers import uvicorn_app

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
ACTION_TIMEOUT_MS = 10_000
E2E_EMAIL = "e2e@example.com"
JWT_PREFIX = "eyJ"  # base64url of '{"': every JWT starts with it


@dataclass(frozen=True)
class Stack:
    bff_url: str
    api_url: str
    email: str
    password: str


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


def fill_sign_in(page: Page, stack: Stack, *, password: str | None = None) -> None:
    """Sign in on the form the page shows (at /login, or where a page sent the user to sign in)."""
    page.fill('#login-form input[name="email"]', stack.email)
    page.fill('#login-form input[name="password"]', password or stack.password)
    page.click('#login-form button[type="submit"]')


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("e2e")
    bff_port, api_port = free_port(), free_port()
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
    with ProcessGroup(log_dir=tmp) as servers:
        servers.start(uvicorn_app("bff", port=bff_port, env=env, cwd=ROOT, timeout=START_TIMEOUT))
        servers.start(uvicorn_app("api", port=api_port, env=env, cwd=ROOT, timeout=START_TIMEOUT))
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
