"""Our e2e settings on top of the kit (`bff.testing.plugin`): Debian's Chromium, short action
timeouts, and after every journey the CSP watch and the no-stored-token check over every page the
test opened."""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from bff.testing.browser import BrowserWatch
from bff.testing.pool import RunningStack

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
ACTION_TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Debian's Chromium: Playwright's own browser download cannot reach the network here
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(bff_stack: RunningStack) -> str:
    # pytest-playwright passes it to its own contexts (`page`), so tests navigate with paths
    return bff_stack.bff_url


@pytest.fixture(autouse=True)
def browser_watch() -> BrowserWatch:
    """Every context of the test, checked once the test has passed (`pytest_runtest_call`)."""
    return BrowserWatch()


@pytest.fixture
def bff_prepare_context(browser_watch: BrowserWatch) -> Callable[[BrowserContext], None]:
    def prepare(context: BrowserContext) -> None:
        # a local page that has not answered in 10 s is broken: fail fast, not after 30 s
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        browser_watch.attach(context)

    return prepare


@pytest.fixture
def context(
    context: BrowserContext, bff_prepare_context: Callable[[BrowserContext], None]
) -> BrowserContext:
    bff_prepare_context(context)  # before the `page` fixture opens its page
    return context


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    # after the journey, while its pages are still open (fixtures close them at teardown)
    yield
    watch = item.funcargs.get("browser_watch") if isinstance(item, pytest.Function) else None
    if isinstance(watch, BrowserWatch):
        watch.check()
