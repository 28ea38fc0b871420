"""The Playwright kit itself (`bff.testing`), in the real browser against real stacks: what each
fixture promises and that each browser check sees what it says it sees."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from playwright.sync_api import Browser, BrowserContext, Page
from pytest_playwright.pytest_playwright import CreateContextCallback

from bff.testing.browser import (
    BrowserWatch,
    axe_violations,
    stored_tokens,
    watch_csp,
)
from bff.testing.plugin import ApiToken, MakeUser, SignedInContext
from bff.testing.pool import KitError, RunningStack, StackPool
from bff.testing.signin import JSON_CALL, SignIns
from e2e.conftest import ROOT

FAKE_JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."  # looks like one: that is all a check sees
INLINE_SCRIPT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.injected = true";
  document.body.append(script);
}"""


def bff_user(context: BrowserContext) -> dict[str, Any]:
    answer = context.request.get("/bff/user?slide=false", headers=JSON_CALL)
    assert answer.status == 200, answer.status
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.parametrize("role", ["user", "admin"])
def test_a_signed_in_context_opens_the_users_pages(
    signed_in_context: SignedInContext, make_user: MakeUser, role: str
) -> None:
    user = make_user("admin" if role == "admin" else "user")
    context = signed_in_context(user)
    page = context.new_page()

    page.goto("/dashboard")

    assert page.url == f"{user.bff_url}/dashboard"  # not sent to /login
    me = bff_user(context)
    assert (me["email"], me["role"]) == (user.email, role)


def test_contexts_share_the_users_one_session_until_it_ends_then_sign_in_again(
    signed_in_context: SignedInContext, make_user: MakeUser
) -> None:
    user = make_user(fresh=True)
    first, second = signed_in_context(user), signed_in_context(user)
    sid = bff_user(first)["sid"]
    assert bff_user(second)["sid"] == sid  # one sign-in for both

    assert first.request.post("/bff/logout", headers=JSON_CALL).status == 200

    third = signed_in_context(user)
    assert bff_user(third)["sid"] != sid  # noticed the ended session: a fresh sign-in
    assert second.request.get("/bff/user", headers=JSON_CALL).status == 401


def test_api_token_is_the_users_narrowed_to_the_scopes_asked_for(
    api_token: ApiToken, make_user: MakeUser, bff_stack: RunningStack
) -> None:
    user = make_user()

    def me(token: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        answer = httpx.get(f"{bff_stack.api_url}/me", headers=headers, trust_env=False)
        assert answer.status_code == 200, answer.status_code
        body: dict[str, Any] = answer.json()
        return body

    assert me(api_token(user, ["notes:read"]))["scope"] == "notes:read"
    minted = bff_stack.audit_events("token.minted")
    assert minted and minted[-1]["scope"] == "notes:read"  # through the BFF, audited
    assert set(me(api_token(user))["scope"].split()) == {"notes:read", "notes:write"}
    with pytest.raises(KitError, match="400"):
        api_token(user, ["admin"])  # never wider than the session


def test_short_timeouts_stack_ends_sessions_at_the_short_timeouts(
    short_timeouts_stack: RunningStack, signed_in_context: SignedInContext, make_user: MakeUser
) -> None:
    user = make_user(stack=short_timeouts_stack)
    context = signed_in_context(user)

    now = time.time()
    session = bff_user(context)["session"]

    assert context.pages == [] and user.bff_url == short_timeouts_stack.bff_url
    assert 50 < session["idle_expires_at"] - now <= 60
    assert 100 < session["expires_at"] - now <= 120


def test_stacks_with_the_same_settings_are_one_stack(bff_stacks: StackPool) -> None:
    assert bff_stacks.start() is bff_stacks.start()
    assert bff_stacks.start(BFF_SESSION_IDLE_SECONDS=60, BFF_SESSION_ABSOLUTE_SECONDS=120) is (
        bff_stacks.start(BFF_SESSION_ABSOLUTE_SECONDS="120", BFF_SESSION_IDLE_SECONDS="60")
    )


def test_the_csp_watch_sees_violations_across_navigations(
    new_context: CreateContextCallback,
) -> None:
    context = new_context()  # not the watched `context`: these violations are the point
    violations = watch_csp(context)
    page = context.new_page()

    for seen, path in enumerate(("/login", "/login?next=/app"), start=1):
        page.goto(path)
        page.evaluate(INLINE_SCRIPT)  # an inline script without the nonce: refused
        # the binding's call arrives as an event: wait for it before the page is left (a report
        # still on its way when the document goes is lost with it)
        deadline = time.monotonic() + 5.0
        while len(violations) < seen and time.monotonic() < deadline:
            page.wait_for_timeout(50)
    assert [v["directive"] for v in violations] == ["script-src-elem", "script-src-elem"]
    assert [v["document"] for v in violations][1].endswith("/login?next=/app")
    assert page.evaluate("() => window.injected") is None


def test_stored_tokens_are_found_in_every_store_of_the_page(
    new_context: CreateContextCallback,
) -> None:
    page = new_context().new_page()
    page.goto("/login")
    assert stored_tokens(page) == []

    page.evaluate(
        """async (token) => {
          localStorage.setItem("auth", token);
          sessionStorage.setItem(token, "as a key");
          document.cookie = `readable=${token}; path=/`;
          await new Promise((resolve, reject) => {
            const opening = indexedDB.open("app-cache", 1);
            opening.onupgradeneeded = () => opening.result.createObjectStore("tokens");
            opening.onsuccess = () => {
              const tx = opening.result.transaction("tokens", "readwrite");
              tx.objectStore("tokens").put({ access: token }, "current");
              tx.oncomplete = () => { opening.result.close(); resolve(); };
              tx.onerror = () => reject(tx.error);
            };
            opening.onerror = () => reject(opening.error);
          });
          const shown = document.createElement("code");
          shown.textContent = token;
          document.body.append(shown);
        }""",
        FAKE_JWT,
    )

    assert stored_tokens(page) == [
        "localStorage[auth]",
        "sessionStorage[a key holding a JWT]",
        "document.cookie",
        "indexedDB app-cache/tokens",
        "page.content()",
    ]
    with pytest.raises(AssertionError) as failure:
        BrowserWatch([(page.context, [])]).check()
    assert FAKE_JWT not in str(failure.value)  # the place, never the token


def test_axe_runs_under_the_pages_nonce_csp_without_a_violation(
    page: Page, browser_watch: BrowserWatch
) -> None:
    page.goto("/login")

    every_impact = axe_violations(page, impacts=("minor", "moderate", "serious", "critical"))

    assert isinstance(every_impact, list)
    assert page.evaluate("() => typeof axe.run") == "function"
    assert browser_watch.violations == []


def test_a_redis_stack_keeps_its_sessions_in_its_own_redis(
    browser: Browser, tmp_path: Path
) -> None:
    pool = StackPool(tmp_path, root=ROOT, store="redis")
    try:
        stack = pool.start()
        store = stack.local.env["BFF_SESSION_STORE"]
        assert store.startswith("redis://127.0.0.1:")
        client = redis.Redis.from_url(store)
        before = int(client.dbsize())

        SignIns(browser).session_cookie(stack.add_user())

        assert int(client.dbsize()) > before
        client.close()
    finally:
        pool.close()
