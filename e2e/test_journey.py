"""One user's journeys through the three browser channels, in a real Chromium."""

from __future__ import annotations

import dataclasses
import json
import re
import time

import httpx
import pytest
from playwright.sync_api import BrowserContext, Cookie, Page, Request, Response, expect

from bff.sessions.manager import COOKIE_NAME as SESSION_COOKIE
from bff.testing.browser import JWT_PREFIX
from bff.testing.plugin import MakeUser, SignedInContext
from bff.testing.pool import RunningStack, User
from bff.testing.signin import JSON_CALL, fill_sign_in, is_login_post


def sign_in(page: Page, user: User) -> None:
    page.goto("/login")
    fill_sign_in(page, user)


def sign_in_to_dashboard(page: Page, user: User) -> None:
    """Through the form: for the journeys about signing in itself."""
    with page.expect_response(is_login_post) as login_post:
        sign_in(page, user)
    answer = login_post.value
    # name the refusal here, rather than time out waiting for a page that never comes
    assert answer.status == 303, f"POST /login answered {answer.status}: {answer.text()[:300]}"
    page.wait_for_url(f"{user.bff_url}/dashboard")


@pytest.fixture
def user(make_user: MakeUser) -> User:
    return make_user()


@pytest.fixture
def signed_in(signed_in_context: SignedInContext, user: User) -> BrowserContext:
    """The shared user's context, signed in once for the whole session."""
    return signed_in_context(user)


@pytest.fixture
def signed_in_page(signed_in: BrowserContext) -> Page:
    return signed_in.new_page()


def session_cookie(context: BrowserContext) -> Cookie:
    cookies = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
    assert len(cookies) == 1, cookies
    return cookies[0]


def replay(
    stack: RunningStack, path: str, cookie: Cookie, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A request carrying a saved session cookie, outside the browser that was signed out."""
    sent = {**(headers or {}), "Cookie": f"{SESSION_COOKIE}={cookie['value']}"}
    url = f"{stack.bff_url}{path}"
    return httpx.get(url, headers=sent, follow_redirects=False, trust_env=False)


def readable_cookies(page: Page) -> str:
    return str(page.evaluate("() => document.cookie"))


def test_sign_in_form_lands_on_dashboard_showing_the_apis_answer(page: Page, user: User) -> None:
    sign_in_to_dashboard(page, user)

    expect(page.locator("#me-sub")).to_have_text(re.compile(r"\S"))
    expect(page.locator("#me-client")).to_have_text("bff")
    expect(page.locator("#me-scope")).to_contain_text("notes:read")


def test_dashboard_never_exposes_a_token_to_the_browser(
    signed_in: BrowserContext, signed_in_page: Page, bff_stack: RunningStack
) -> None:
    page = signed_in_page
    page.goto("/dashboard")
    assert JWT_PREFIX not in page.content()  # the first render

    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    page.goto("/dashboard", wait_until="load")

    documents = [r for r in responses if r.request.resource_type == "document"]
    assert f"{bff_stack.bff_url}/dashboard" in [r.url for r in documents]
    # the dashboard's data comes from a server-side call: the browser never talks to the API here
    assert all(r.url.startswith(bff_stack.bff_url) for r in responses), [r.url for r in responses]
    for response in responses:
        assert JWT_PREFIX not in " ".join(response.all_headers().values()), response.url
        if not 300 <= response.status < 400:  # a redirect has no body to read
            assert JWT_PREFIX.encode() not in response.body(), response.url
    cookies = readable_cookies(page)
    assert session_cookie(signed_in)["value"] not in cookies
    assert JWT_PREFIX not in cookies


def test_app_calls_the_api_directly_with_an_in_memory_bearer_token(
    signed_in: BrowserContext, signed_in_page: Page, bff_stack: RunningStack
) -> None:
    page = signed_in_page
    page.goto("/dashboard")
    dashboard_sub = page.locator("#me-sub").inner_text()

    def is_api_me(request: Request) -> bool:
        return request.url == f"{bff_stack.api_url}/me" and request.method == "GET"

    with page.expect_request(is_api_me) as api_call:
        page.goto("/app")
    expect(page.locator('#status[data-state="ok"]')).to_be_visible()

    me = json.loads(page.locator("#me").text_content() or "")
    assert me["sub"] == dashboard_sub
    assert me["client_id"] == "bff"
    authorization = api_call.value.all_headers().get("authorization", "")
    assert authorization.startswith(f"Bearer {JWT_PREFIX}")
    storage = page.evaluate("() => [localStorage.length, sessionStorage.length]")
    assert storage == [0, 0]
    cookies = readable_cookies(page)
    assert JWT_PREFIX not in cookies
    assert session_cookie(signed_in)["value"] not in cookies


def test_session_cookie_is_host_only_httponly_secure_lax(
    page: Page, context: BrowserContext, user: User
) -> None:
    sign_in_to_dashboard(page, user)  # the cookie as the login answer set it

    cookie = session_cookie(context)
    assert cookie["httpOnly"] is True
    assert cookie["secure"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["domain"] == "127.0.0.1"  # host-only: no Domain attribute was sent


def test_sign_out_button_ends_the_session_and_the_old_cookie_is_refused(
    signed_in: BrowserContext, signed_in_page: Page, bff_stack: RunningStack
) -> None:
    page = signed_in_page
    page.goto("/dashboard")
    old_cookie = session_cookie(signed_in)
    assert replay(bff_stack, "/dashboard", old_cookie).status_code == 200  # the replay is sound

    page.click("#logout")
    page.wait_for_url(f"{bff_stack.bff_url}/login")

    assert SESSION_COOKIE not in [c["name"] for c in signed_in.cookies()]
    replayed = replay(bff_stack, "/dashboard", old_cookie)
    assert replayed.status_code == 303
    assert replayed.headers["location"].startswith("/login")


def test_wrong_password_shows_the_generic_error_with_401(
    page: Page, context: BrowserContext, user: User
) -> None:
    wrong = dataclasses.replace(user, password=f"wrong-{user.password}")
    with page.expect_response(is_login_post) as login_post:
        sign_in(page, wrong)

    answer = login_post.value
    assert answer.status == 401, f"POST /login answered {answer.status}: {answer.text()[:300]}"
    expect(page.locator("#login-error")).to_have_text("Invalid email or password.")
    assert SESSION_COOKIE not in [c["name"] for c in context.cookies()]


def test_js_logout_button_ends_the_session(
    signed_in: BrowserContext, signed_in_page: Page, bff_stack: RunningStack
) -> None:
    page = signed_in_page
    old_cookie = session_cookie(signed_in)
    page.goto("/app")
    expect(page.locator('#status[data-state="ok"]')).to_be_visible()
    assert replay(bff_stack, "/bff/user", old_cookie, JSON_CALL).status_code == 200

    page.click("#logout")
    page.wait_for_url(f"{bff_stack.bff_url}/login")

    assert replay(bff_stack, "/bff/user", old_cookie, JSON_CALL).status_code == 401
    in_browser = page.request.get("/bff/user", headers=JSON_CALL)
    assert in_browser.status == 401


def test_logout_reaches_the_api_within_a_second(
    signed_in_page: Page, bff_stack: RunningStack
) -> None:
    page = signed_in_page

    def is_api_me(request: Request) -> bool:
        return request.url == f"{bff_stack.api_url}/me" and request.method == "GET"

    with page.expect_request(is_api_me) as api_call:
        page.goto("/app")
    expect(page.locator('#status[data-state="ok"]')).to_be_visible()
    authorization = api_call.value.all_headers()["authorization"]
    with httpx.Client(base_url=bff_stack.api_url, trust_env=False) as api:
        assert api.get("/me", headers={"Authorization": authorization}).status_code == 200
        page.click("#logout")
        page.wait_for_url(f"{bff_stack.bff_url}/login")
        # the API learns it by push: poll (bounded) until a second has passed
        deadline = time.monotonic() + 1.0
        status = 200
        while status == 200 and time.monotonic() < deadline:
            status = api.get("/me", headers={"Authorization": authorization}).status_code
    assert status == 401


def test_notes_are_written_and_read_by_javascript_with_the_in_memory_token(
    signed_in_page: Page,
) -> None:
    page = signed_in_page
    page.goto("/app")
    expect(page.locator('#status[data-state="ok"]')).to_be_visible()
    title = "<img src=x onerror=alert(1)> note"
    page.fill('#note-form input[name="title"]', title)
    page.fill('#note-form textarea[name="body"]', "written from the browser")
    page.click('#note-form button[type="submit"]')
    note = page.locator("#notes li", has_text="written from the browser")
    expect(note).to_have_count(1)
    expect(note.locator(".note-title")).to_have_text(title)  # shown as text, never as HTML
    assert page.locator("#notes img").count() == 0
    note.locator(".delete-note").click()
    expect(page.locator("#notes li", has_text="written from the browser")).to_have_count(0)
