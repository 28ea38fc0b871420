"""Signed-in browser state for tests, paid for once per user: a sign-in through the real login form
(argon2id and all) in a throwaway browser context, its storage state (the `__Host-sid` cookie)
kept for the session and handed to every context that wants that user signed in.

A kept state is checked before each use (`GET /bff/user?slide=false`: it neither extends the
session nor counts as activity) and replaced by a fresh sign-in once its session has ended: a test
signed out, revoked it, changed the password, or the session timed out or was evicted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from bff.sessions.manager import COOKIE_NAME
from bff.testing.pool import KitError, User

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Response, StorageState

JSON_CALL = {"X-CSRF": "1"}
HTTP_TIMEOUT = 10.0
ACTION_TIMEOUT_MS = 10_000


def fill_sign_in(page: Page, user: User) -> None:
    """Fill and submit the login form the page shows (at /login, or wherever a page sent the
    user to sign in)."""
    page.fill('#login-form input[name="email"]', user.email)
    page.fill('#login-form input[name="password"]', user.password)
    page.click('#login-form button[type="submit"]')


def is_login_post(response: Response) -> bool:
    return response.request.method == "POST" and urlsplit(response.url).path == "/login"


class SignIns:
    """Storage states per user, valid when handed out."""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser
        self._states: dict[tuple[str, str], StorageState] = {}

    def storage_state(self, user: User) -> StorageState:
        """A storage state in which `user` is signed in, checked just now."""
        key = (user.bff_url, user.email)
        state = self._states.get(key)
        if state is None or not self._is_live(user, state):
            state = self._states[key] = self._sign_in(user)
        return state

    def session_cookie(self, user: User) -> str:
        """The value of the `__Host-sid` cookie of `user`'s live session."""
        return _session_cookie(self.storage_state(user))

    def api_token(self, user: User, scopes: Sequence[str] | None = None) -> str:
        """An access token minted for `user`'s session by `POST /bff/token`, narrowed to
        `scopes` when given (never wider than the session's)."""
        form = {"scope": " ".join(scopes)} if scopes is not None else None
        with _client(user, self.session_cookie(user)) as bff:
            answer = bff.post("/bff/token", data=form)
        if answer.status_code != 200:
            raise KitError(f"POST /bff/token for {user.email} answered {answer.status_code}")
        return str(answer.json()["access_token"])

    def _is_live(self, user: User, state: StorageState) -> bool:
        with _client(user, _session_cookie(state)) as bff:
            status = bff.get("/bff/user", params={"slide": "false"}).status_code
        if status not in (200, 401):
            raise KitError(f"GET /bff/user answered {status} checking {user.email}'s session")
        return status == 200

    def _sign_in(self, user: User) -> StorageState:
        context = self._browser.new_context(base_url=user.bff_url)
        try:
            context.set_default_timeout(ACTION_TIMEOUT_MS)
            page = context.new_page()
            page.goto("/login")
            with page.expect_response(is_login_post) as login_post:
                fill_sign_in(page, user)
            status = login_post.value.status
            if status != 303:  # say why here, rather than fail later without a session
                raise KitError(f"signing {user.email} in: POST /login answered {status}")
            page.wait_for_load_state()
            return context.storage_state()
        finally:
            context.close()


def _session_cookie(state: StorageState) -> str:
    values = [c["value"] for c in state.get("cookies", []) if c["name"] == COOKIE_NAME]
    if len(values) != 1:
        raise KitError(f"the signed-in state holds {len(values)} {COOKIE_NAME} cookies")
    return values[0]


def _client(user: User, cookie: str) -> httpx.Client:
    # loopback: never through a proxy named in the environment
    return httpx.Client(
        base_url=user.bff_url,
        headers={**JSON_CALL, "Cookie": f"{COOKIE_NAME}={cookie}"},
        timeout=HTTP_TIMEOUT,
        trust_env=False,
    )
