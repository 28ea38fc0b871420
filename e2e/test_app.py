"""The browser app as its users meet it, in Debian's Chromium through the kit: the notes rendered
first on the server (readable with JavaScript off) and carried on by the script, in token mode
and in pure-BFF mode; editing with the API's own validation messages; every tab of a browser
signed out together; a session ended from another browser; the idle warning and the absolute
timeout, on the page's own clock (Playwright's), which the test moves instead of waiting.

After each journey the kit's watch checks every page: no CSP violation, no token stored or in the
HTML."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, expect

from bff.testing.browser import axe_violations, describe
from bff.testing.plugin import ApiToken, MakeUser, SignedInContext
from bff.testing.pool import RunningStack, StackPool, User, short_timeouts
from bff.testing.signin import fill_sign_in

# how long the pages of the timeout journeys wait between polls: longer than any journey, so the
# page's deadlines move only when the test moves its clock (a poll would set them back to the
# BFF's, which does not move)
NO_POLL = {"BFF_SESSION_POLL_SECONDS": "300"}
IDLE, ABSOLUTE, WARNING = 60, 120, 20
POLL_SECONDS = 10  # the default the other journeys' pages poll at


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def add_notes(stack: RunningStack, token: str, *titles: str) -> list[str]:
    """Notes written through the API, newest last; their ids."""
    ids = []
    with httpx.Client(base_url=stack.api_url, headers=bearer(token), trust_env=False) as api:
        for title in titles:
            answer = api.post("/notes", json={"title": title, "body": f"about {title}"})
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
    return ids


def open_app(context: BrowserContext, path: str = "/app") -> Page:
    page = context.new_page()
    page.goto(path)
    expect(page.locator('#status[data-state="ok"]')).to_be_visible()
    return page


def watched(page: Page) -> None:
    """The page's session watch has its deadlines from the BFF."""
    expect(page.locator('body[data-session-watch="synced"]')).to_be_attached()


def open_on_its_own_clock(context: BrowserContext, path: str) -> Page:
    """A page whose clock the test moves (`page.clock.run_for`), watching its session."""
    page = context.new_page()
    page.clock.install()
    page.goto(path)
    watched(page)
    return page


def assert_accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def test_the_notes_are_on_the_first_paint_and_read_without_javascript(
    bff_stack: RunningStack,
    make_user: MakeUser,
    signed_in_context: SignedInContext,
    api_token: ApiToken,
) -> None:
    user = make_user(fresh=True)
    ids = add_notes(bff_stack, api_token(user), "first", "second")

    page = signed_in_context(user, java_script_enabled=False).new_page()
    page.goto("/app")
    items = page.locator("#notes > li")
    expect(items).to_have_count(2)
    assert [items.nth(i).get_attribute("data-id") for i in range(2)] == ids[::-1]
    expect(items.first.locator(".note-title")).to_have_text("second")
    expect(page.locator("#note-form")).to_be_hidden()  # it needs the script: said, not shown
    expect(page.get_by_text("JavaScript is off: your notes are shown read-only.")).to_be_visible()


def test_the_script_carries_on_from_the_servers_notes_without_fetching_them_again(
    bff_stack: RunningStack,
    make_user: MakeUser,
    signed_in_context: SignedInContext,
    api_token: ApiToken,
) -> None:
    user = make_user(fresh=True)
    add_notes(bff_stack, api_token(user), "kept")
    context = signed_in_context(user)
    api_calls: list[str] = []
    context.on(
        "request",
        lambda request: (
            api_calls.append(f"{request.method} {request.url}")
            if request.url.startswith(bff_stack.api_url)
            else None
        ),
    )

    page = open_app(context)

    note = page.locator("#notes > li")
    expect(note).to_have_count(1)
    expect(note.locator(".edit-note")).to_be_visible()  # the script's buttons, on the same note
    # the one API call is /me; the list came with the page
    assert [call for call in api_calls if not call.startswith("OPTIONS")] == [
        f"GET {bff_stack.api_url}/me"
    ]


def test_notes_are_created_edited_and_deleted_with_the_apis_validation_messages(
    make_user: MakeUser, signed_in_context: SignedInContext
) -> None:
    page = open_app(signed_in_context(make_user(fresh=True)))
    expect(page.locator("#notes-empty")).to_be_visible()

    page.click('#note-form button[type="submit"]')  # no title: the API's 422 names the field
    title_error = page.locator("#new-title-error")
    expect(title_error).to_be_visible()
    expect(title_error).to_contain_text("Title ")
    expect(page.locator("#new-title")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#new-title")).to_be_focused()

    page.fill("#new-title", "Groceries")
    page.fill("#new-body", "milk\neggs")
    page.click('#note-form button[type="submit"]')
    expect(page.locator("#notes > li", has_text="Groceries")).to_have_count(1)
    note = page.locator("#notes > li").first
    expect(title_error).to_be_hidden()
    expect(page.locator("#live")).to_have_text("Note “Groceries” added.")
    expect(page.locator("#notes-empty")).to_be_hidden()

    note.locator(".edit-note").click()
    editor = note.locator("form.note-editor")
    expect(editor.locator("input[name=title]")).to_be_focused()
    assert_accessible(page)  # the editor too
    editor.locator("input[name=title]").fill("Groceries for Sunday")
    with page.expect_request(lambda request: request.method == "PATCH") as patch:
        editor.locator('button[type="submit"]').click()
    assert json.loads(patch.value.post_data or "") == {"title": "Groceries for Sunday"}
    edited = page.locator("#notes > li").first
    expect(edited.locator(".note-title")).to_have_text("Groceries for Sunday")
    expect(edited.locator(".note-body")).to_have_text("milk\neggs")
    expect(edited.locator(".edit-note")).to_be_focused()
    expect(page.locator("#live")).to_have_text("Note “Groceries for Sunday” saved.")

    edited.locator(".edit-note").click()
    page.locator("form.note-editor input[name=title]").fill("")
    page.locator('form.note-editor button[type="submit"]').click()
    expect(page.locator("form.note-editor .field-error").first).to_contain_text("Title ")
    page.keyboard.press("Escape")  # cancelled: the note as it was
    expect(page.locator("#notes > li .note-title")).to_have_text("Groceries for Sunday")

    page.locator("#notes > li .delete-note").click()
    expect(page.locator("#notes > li")).to_have_count(0)
    expect(page.locator("#notes-empty")).to_be_visible()
    expect(page.locator("#notes-heading")).to_be_focused()
    page.reload()
    expect(page.locator("#notes > li")).to_have_count(0)  # deleted at the API, not just here


def test_pure_bff_mode_runs_the_same_app_through_the_proxy_with_no_token_in_javascript(
    bff_stacks: StackPool, make_user: MakeUser, signed_in_context: SignedInContext
) -> None:
    stack = bff_stacks.start(BFF_JS_TOKENS="off")
    context = signed_in_context(make_user(stack=stack))
    seen: list[Request] = []
    context.on("request", lambda request: seen.append(request))

    page = open_app(context)
    expect(page.locator("#status")).to_contain_text("through the BFF's /api/* proxy")
    page.fill("#new-title", "proxied")
    page.click('#note-form button[type="submit"]')
    note = page.locator("#notes > li", has_text="proxied")
    expect(note).to_have_count(1)
    note.locator(".delete-note").click()
    expect(note).to_have_count(0)

    paths = [(r.method, r.url.removeprefix(stack.bff_url)) for r in seen]
    assert ("POST", "/api/notes") in paths and ("GET", "/api/me") in paths
    assert not [r.url for r in seen if r.url.startswith(stack.api_url)]  # never the API itself
    assert ("POST", "/bff/token") not in paths
    refused = page.request.post("/bff/token", headers={"X-CSRF": "1"})
    assert refused.status == 403


def test_signing_out_in_one_tab_signs_out_every_other_tab_within_a_second(
    make_user: MakeUser, signed_in_context: SignedInContext
) -> None:
    context = signed_in_context(make_user(fresh=True))
    app = open_app(context)
    dashboard = context.new_page()
    dashboard.goto("/dashboard")
    watched(dashboard)
    watched(app)

    dashboard.click("#logout")
    notice = app.locator("#signed-out")
    expect(notice).to_be_visible(timeout=1000)  # the bound: within a second

    expect(notice).to_contain_text("You signed out in another tab of this browser.")
    expect(app.locator("#notes")).to_have_count(0)  # what the page showed is gone
    expect(app.locator(".site-nav")).to_have_count(0)
    expect(notice.get_by_role("link", name="Sign in again")).to_have_attribute(
        "href", "/login?next=%2Fapp"
    )
    dashboard.wait_for_url("**/login")
    assert app.request.get("/bff/user", headers={"X-CSRF": "1"}).status == 401


def sign_in_elsewhere(
    browser: Browser, user: User, prepare: Callable[[BrowserContext], None]
) -> BrowserContext:
    """Another browser of the same user: its own session, through the form."""
    context = browser.new_context(base_url=user.bff_url)
    prepare(context)
    page = context.new_page()
    page.goto("/login")
    fill_sign_in(page, user)
    page.wait_for_url("**/dashboard")
    return context


def test_a_revoke_on_my_devices_in_another_browser_ends_the_open_app(
    browser: Browser,
    make_user: MakeUser,
    signed_in_context: SignedInContext,
    bff_prepare_context: Callable[[BrowserContext], None],
) -> None:
    user = make_user(fresh=True)
    first = open_on_its_own_clock(signed_in_context(user), "/app")
    sid = first.evaluate(
        "fetch('/bff/user?slide=false', {headers: {'X-CSRF': '1'}}).then(r => r.json())"
        ".then(user => user.sid)"
    )
    other = sign_in_elsewhere(browser, user, bff_prepare_context).new_page()
    try:
        other.goto("/sessions")
        other.locator(f'tr[data-sid="{sid}"] button[type="submit"]').click()
        expect(other.locator(f'tr[data-sid="{sid}"]')).to_have_count(0)

        expect(first.locator("#notes")).to_be_visible()  # nothing happens before the next poll
        first.clock.run_for(POLL_SECONDS * 1000 + 500)

        notice = first.locator("#signed-out")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text("Your session has ended")
        expect(first.locator("#notes")).to_have_count(0)
        assert_accessible(first)
        expect(other.locator("h1")).to_have_text("My devices")  # the other browser stays in
    finally:
        other.context.close()


@pytest.fixture(scope="module")
def short_stack(bff_stacks: StackPool) -> RunningStack:
    return bff_stacks.start(
        **short_timeouts(idle=IDLE, absolute=ABSOLUTE, warning=WARNING), **NO_POLL
    )


def test_the_idle_warning_comes_before_the_timeout_and_extends_the_session(
    short_stack: RunningStack, make_user: MakeUser, signed_in_context: SignedInContext
) -> None:
    page = open_on_its_own_clock(
        signed_in_context(make_user(stack=short_stack, fresh=True)), "/app"
    )
    warning = page.locator("#session-warning")

    page.clock.run_for((IDLE - WARNING - 2) * 1000)
    expect(warning).to_be_hidden()
    page.clock.run_for(3000)
    expect(warning).to_be_visible()
    expect(page.locator("#session-warning-text")).to_have_text(
        "You will be signed out in about a minute because of inactivity."
    )
    assert_accessible(page)

    def is_sliding_user_call(request: Request) -> bool:
        return request.url == f"{short_stack.bff_url}/bff/user"  # no slide=false

    with page.expect_request(is_sliding_user_call):
        page.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden()
    expect(page.locator("#notes")).to_be_visible()  # still signed in, nothing lost


def test_at_the_absolute_timeout_the_app_goes_to_the_sign_in_page_with_next(
    short_stack: RunningStack, make_user: MakeUser, signed_in_context: SignedInContext
) -> None:
    context = signed_in_context(make_user(stack=short_stack, fresh=True))
    page = open_on_its_own_clock(context, "/app?view=all")

    page.clock.run_for((ABSOLUTE + 1) * 1000)

    page.wait_for_url("**/login?next=%2Fapp%3Fview%3Dall&reason=expired")
    expect(page.locator("#login-notice")).to_have_text(
        "Your session reached its time limit. Sign in again to carry on."
    )
    expect(page.locator("#login-form input[name=next]")).to_have_value("/app?view=all")


def test_a_poll_that_cannot_reach_the_bff_says_so_and_never_signs_out(
    make_user: MakeUser, signed_in_context: SignedInContext
) -> None:
    page = open_on_its_own_clock(signed_in_context(make_user(fresh=True)), "/app")
    page.route("**/bff/user?slide=false", lambda route: route.abort())
    notice = page.locator("#session-unreachable")

    page.clock.run_for(POLL_SECONDS * 1000 + 500)
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("The server cannot be reached right now")
    expect(page.locator("#notes")).to_be_visible()  # nothing dropped: the session may be fine

    page.unroute("**/bff/user?slide=false")
    page.clock.run_for(POLL_SECONDS * 2 * 1000 + 500)  # the wait doubled after a failure
    expect(notice).to_have_count(0)
    expect(page.locator("#signed-out")).to_have_count(0)


def test_an_outage_is_met_by_one_poll_at_a_time_less_often_each_time(
    make_user: MakeUser, signed_in_context: SignedInContext
) -> None:
    page = open_on_its_own_clock(signed_in_context(make_user(fresh=True)), "/app")
    polls: list[str] = []

    def refuse(route: Route) -> None:
        polls.append(route.request.url)
        route.fulfill(status=503, json={"error": "temporarily_unavailable"})

    page.route("**/bff/user?slide=false", refuse)
    for _ in range(8):  # every return to the tab asks at once, but never starts a second chain
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        page.clock.run_for(100)
    expect(page.locator("#session-unreachable")).to_be_visible()
    page.clock.run_for(60_000)
    # one chain: after the first failure 10 s, then 20 s, then 40 s (the returns to the tab
    # while one is out add none); eight chains would have made dozens
    assert len(polls) <= 8 + 3, len(polls)


def test_a_session_longer_than_setTimeout_can_hold_does_not_end_the_page_at_once(
    bff_stacks: StackPool, make_user: MakeUser, signed_in_context: SignedInContext
) -> None:
    month = 30 * 24 * 3600  # past setTimeout's 24.8 days, which would fire at once
    stack = bff_stacks.start(BFF_SESSION_IDLE_SECONDS=month, BFF_SESSION_ABSOLUTE_SECONDS=month)
    page = open_on_its_own_clock(signed_in_context(make_user(stack=stack)), "/app")
    page.clock.run_for(5_000)
    assert page.url == f"{stack.bff_url}/app"
    expect(page.locator("#session-warning")).to_be_hidden()


def test_someone_signing_in_in_another_tab_ends_the_open_app_of_the_previous_user(
    make_user: MakeUser, signed_in_context: SignedInContext
) -> None:
    first, second = make_user(fresh=True), make_user(fresh=True)
    context = signed_in_context(first)
    app = open_app(context)
    watched(app)
    other = context.new_page()
    other.goto("/login")
    fill_sign_in(other, second)  # a shared computer: the cookie is the second user's now
    other.wait_for_url("**/dashboard")

    notice = app.locator("#signed-out")
    expect(notice).to_be_visible(timeout=1000)
    expect(notice).to_contain_text("Someone signed in again in another tab of this browser")
    expect(app.locator("#notes")).to_have_count(0)
    expect(app.get_by_text(first.email)).to_have_count(0)
    expect(other.locator("#me-sub")).to_be_visible()  # the new session's tabs carry on
    watched(other)
    expect(other.locator("#signed-out")).to_have_count(0)


def test_the_app_works_from_the_keyboard_alone(
    make_user: MakeUser, signed_in_context: SignedInContext
) -> None:
    page = open_app(signed_in_context(make_user(fresh=True)))
    keys = page.keyboard
    keys.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    keys.press("Enter")
    expect(page.locator("main")).to_be_focused()
    keys.press("Tab")
    expect(page.locator("#new-title")).to_be_focused()
    keys.type("Typed, not clicked")
    keys.press("Enter")  # submits from the field
    expect(page.locator("#live")).to_have_text("Note “Typed, not clicked” added.")
    expect(page.locator("#new-title")).to_be_focused()  # ready for the next one

    for _ in range(3):  # the body, "Add note", then the note's Edit
        keys.press("Tab")
    expect(page.locator("#notes > li .edit-note")).to_be_focused()
    keys.press("Enter")
    expect(page.locator("form.note-editor input[name=title]")).to_be_focused()
    keys.press("End")
    keys.type(" twice")
    keys.press("Enter")
    expect(page.locator("#notes > li .note-title")).to_have_text("Typed, not clicked twice")
    expect(page.locator("#notes > li .edit-note")).to_be_focused()

    keys.press("Tab")
    expect(page.locator("#notes > li .delete-note")).to_be_focused()
    keys.press("Enter")
    expect(page.locator("#notes > li")).to_have_count(0)
    expect(page.locator("#notes-heading")).to_be_focused()
    expect(page.locator("#live")).to_have_text("Note “Typed, not clicked twice” deleted.")


def test_an_old_tab_never_writes_into_the_account_of_whoever_signed_in_since(
    bff_stacks: StackPool, make_user: MakeUser, signed_in_context: SignedInContext
) -> None:
    # pure-BFF mode: every call rides the cookie, which the second sign-in has replaced
    stack = bff_stacks.start(BFF_JS_TOKENS="off")
    first, second = make_user(stack=stack, fresh=True), make_user(stack=stack, fresh=True)
    context = signed_in_context(first)
    app = open_app(context)
    other = context.new_page()
    # the new session's pages say nothing yet (their script is late): the BFF must refuse
    other.route("**/static/js/session.js", lambda route: route.abort())
    other.goto("/login")
    fill_sign_in(other, second)
    other.wait_for_url("**/dashboard")

    app.fill("#new-title", "meant for the first account")
    app.click('#note-form button[type="submit"]')
    app.wait_for_url("**/login?next=%2Fapp&reason=replaced")
    expect(app.locator("#login-notice")).to_contain_text("Someone signed in again")

    seconds = other.request.get("/api/notes", headers={"X-CSRF": "1"})  # the cookie's user
    assert seconds.status == 200
    assert seconds.json()["notes"] == []  # nothing of the first user's tab reached the second's
