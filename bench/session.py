"""The benchmark session, as a client makes it: the login form's CSRF pair, `POST /login`, the
session cookie sent by hand with `X-CSRF: 1`; and the checks run before a measurement."""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from bench.errors import HarnessError
from bench.stack import BENCH_EMAIL, Stack
from bff.endpoints.login import LOGIN_COOKIE
from bff.sessions.manager import COOKIE_NAME

LOGIN_TIMEOUT = 90.0  # one login inside a 50-login burst at t=3, m=64 MiB queues for ~35 s
READY_TIMEOUT = 30.0  # API /me with a valid token (revocation feed connected)
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

LoginForm = tuple[str, str]  # the __Host-login-csrf nonce, the form's token


@dataclass(frozen=True)
class BenchSession:
    cookie: str  # the session cookie's value

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": f"{COOKIE_NAME}={self.cookie}", "X-CSRF": "1"}


@dataclass(frozen=True)
class Readiness:
    after_s: float  # from the first try to the first 200
    seen: Counter[int]  # statuses until then (0: no answer)


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie parsed by hand: the cookies are `Secure` and httpx's jar keeps them from http."""
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, value = header.split(";", 1)[0].partition("=")
        cookies[name.strip()] = value.strip()
    return cookies


def login_form(client: httpx.Client) -> LoginForm:
    """A fresh pre-session CSRF pair: the login CSRF cookie's nonce and the form's token."""
    response = client.get("/login")
    if response.status_code != 200:
        raise HarnessError(f"GET /login answered {response.status_code}")
    nonce = set_cookies(response).get(LOGIN_COOKIE)
    match = _CSRF_FIELD.search(response.text)
    if not nonce or not match:
        raise HarnessError("GET /login gave no login CSRF cookie or form token")
    return nonce, match.group(1).replace("&#34;", '"').replace("&amp;", "&")


def login_request(st: Stack, form: LoginForm, *, email: str = BENCH_EMAIL) -> dict[str, Any]:
    """Keyword arguments for an httpx client's `post`."""
    nonce, token = form
    return {
        "url": "/login",
        "data": {"csrf_token": token, "email": email, "password": st.password, "next": "/"},
        "headers": {"Cookie": f"{LOGIN_COOKIE}={nonce}", "Origin": st.bff_url},
    }


def log_in(st: Stack) -> BenchSession:
    with httpx.Client(base_url=st.bff_url, timeout=LOGIN_TIMEOUT, follow_redirects=False) as c:
        response = c.post(**login_request(st, login_form(c)))
        cookie = set_cookies(response).get(COOKIE_NAME)
        if response.status_code != 303 or not cookie:
            raise HarnessError(f"POST /login answered {response.status_code}, no session cookie")
    session = BenchSession(cookie)
    expect_ok(f"{st.bff_url}/bff/user", session.headers)
    return session


def bff_token(st: Stack, session: BenchSession) -> str:
    headers = {**session.headers, "Origin": st.bff_url}
    with httpx.Client(base_url=st.bff_url, timeout=10.0) as client:
        response = client.post("/bff/token", headers=headers)
    if response.status_code != 200:
        raise HarnessError(f"POST /bff/token answered {response.status_code}: {response.text}")
    return str(response.json()["access_token"])


def wait_api_accepts(st: Stack, token: str) -> Readiness:
    """Bounded: the API may refuse tokens (503) until it follows the BFF's revocation feed."""
    seen: Counter[int] = Counter()
    started = time.monotonic()
    last = ""
    with httpx.Client(base_url=st.api_url, timeout=5.0) as client:
        while time.monotonic() < started + READY_TIMEOUT:
            try:
                response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
            except httpx.HTTPError as exc:
                seen[0] += 1
                last = type(exc).__name__
            else:
                seen[response.status_code] += 1
                if response.status_code == 200:
                    return Readiness(after_s=time.monotonic() - started, seen=seen)
                last = f"{response.status_code} {response.text[:200]}"
            time.sleep(0.25)
    raise HarnessError(
        f"API GET /me never answered 200 within {READY_TIMEOUT:.0f} s (statuses {dict(seen)}; "
        f"last: {last})\n{st.api.tail()}"
    )


def expect_ok(url: str, headers: dict[str, str]) -> None:
    with httpx.Client(timeout=10.0) as client:
        response = client.get(url, headers=headers)
    if response.status_code != 200:
        raise HarnessError(f"precondition: GET {url} answered {response.status_code}")
