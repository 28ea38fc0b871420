"""A screenshot of every page, wide and at 360 px, written under docs/screenshots/ for the README
by every e2e run (so they show the pages as they are), each checked first: the page's own content
is there, nothing scrolls sideways, and axe-core finds nothing serious."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from bff.testing.browser import axe_violations, describe
from bff.testing.plugin import MakeUser, SignedInContext
from bff.testing.pool import RunningStack, StackPool, User, short_timeouts
from bff.testing.signin import SignIns

SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
WIDTHS = {"wide": (1280, 800), "narrow": (360, 740)}
NOTES = [
    ("Quarterly review", "Slides for Thursday.\nAsk Sam for the Q3 numbers."),
    ("Groceries", "oat milk, eggs, basil"),
    ("Read", "RFC 9700: OAuth 2.0 Security Best Current Practice"),
]
# what each page must show before it is photographed
PAGES = {
    "dashboard": ("/dashboard", "#me-sub"),
    "app": ("/app", '#status[data-state="ok"]'),
    "devices": ("/sessions", "h1"),
    "account": ("/account", "h1"),
    "device": ("/device", "h1"),
}


@pytest.fixture(scope="module")
def author(bff_stack: RunningStack) -> User:
    return bff_stack.add_user(email="ada.lovelace@example.com")


@pytest.fixture(scope="module", autouse=True)
def notes(bff_stack: RunningStack, author: User, bff_sign_ins: SignIns) -> None:
    headers = {"Authorization": f"Bearer {bff_sign_ins.api_token(author)}"}
    for title, body in reversed(NOTES):
        answer = httpx.post(
            f"{bff_stack.api_url}/notes",
            json={"title": title, "body": body},
            headers=headers,
            trust_env=False,
        )
        assert answer.status_code == 201, answer.text


def shoot(page: Page, name: str, width: str, *, full_page: bool = True) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= WIDTHS[width][0], f"{name} scrolls sideways at {width}: {scroll} px"
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=full_page)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_each_signed_in_page_is_photographed(
    signed_in_context: SignedInContext, author: User, name: str, width: str
) -> None:
    path, ready = PAGES[name]
    w, h = WIDTHS[width]
    page = signed_in_context(author, viewport={"width": w, "height": h}).new_page()
    page.goto(path)
    expect(page.locator(ready).first).to_be_visible()
    shoot(page, name, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_sign_in_page_is_photographed(page: Page, width: str) -> None:
    w, h = WIDTHS[width]
    page.set_viewport_size({"width": w, "height": h})
    page.goto("/login")
    expect(page.locator("#login-form")).to_be_visible()
    shoot(page, "login", width)


def test_the_idle_warning_and_the_signed_out_state_are_photographed(
    bff_stacks: StackPool, signed_in_context: SignedInContext, make_user: MakeUser
) -> None:
    stack = bff_stacks.start(
        **short_timeouts(idle=60, absolute=600, warning=20), BFF_SESSION_POLL_SECONDS="300"
    )
    w, h = WIDTHS["narrow"]
    context = signed_in_context(
        make_user(stack=stack, fresh=True), viewport={"width": w, "height": h}
    )
    page = context.new_page()
    page.clock.install()
    page.goto("/app")
    expect(page.locator('body[data-session-watch="synced"]')).to_be_attached()
    page.clock.run_for(45_000)
    expect(page.locator("#session-warning")).to_be_visible()
    shoot(page, "idle-warning", "narrow", full_page=False)  # the bar sits on the viewport

    other = context.new_page()
    other.goto("/dashboard")
    other.click("#logout")
    expect(page.locator("#signed-out")).to_be_visible()
    shoot(page, "signed-out", "narrow")
