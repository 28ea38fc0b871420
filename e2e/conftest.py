"""The e2e stack: the BFF and the API as real uvicorn processes, driven by the system Chromium."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from bff.testing.launcher import ProcessGroup
from bff.testing.stack import LocalStack, local_stack

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
    local: LocalStack  # the environment, for the CLI: `stack.local.cli("clients", "add", …)`


def fill_sign_in(page: Page, stack: Stack, *, password: str | None = None) -> None:
    """Sign in on the form the page shows (at /login, or where a page sent the user to sign in)."""
    page.fill('#login-form input[name="email"]', stack.email)
    page.fill('#login-form input[name="password"]', password or stack.password)
    page.click('#login-form button[type="submit"]')


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("e2e")
    local = local_stack(tmp, root=ROOT)
    password = secrets.token_urlsafe(15)  # 20 characters
    local.cli("init")
    # one argument: a random password may start with "-"
    local.cli("users", "add", E2E_EMAIL, f"--password={password}")
    stack = Stack(
        bff_url=local.bff_url,
        api_url=local.api_url,
        email=E2E_EMAIL,
        password=password,
        local=local,
    )
    with ProcessGroup(log_dir=tmp) as servers:
        local.start(servers, timeout=START_TIMEOUT)
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
