"""The user's part of the flows, as a browser plays it: it follows the BFF's redirects (to the
sign-in page and back), fills in and posts the forms it is shown with their hidden fields, and
stops at the first redirect that leaves the BFF (the client's redirect URI, which nothing here
serves). Nothing about the forms is hard-coded but the fields a user types and the button they
press."""

from __future__ import annotations

import http.cookiejar
import ipaddress
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx

from tests.secretwatch import WATCH

MAX_REDIRECTS = 10


class LoopbackCookieJar(http.cookiejar.CookieJar):
    """Browsers treat http on loopback as a secure context (W3C Secure Contexts §3.1): they keep
    the Secure cookies (ours are all `__Host-`) a loopback host sets and send them back to it
    over http. The standard library sends Secure cookies on https only, and httpx copies them
    into a jar of the default policy for each request, so here they are stored unflagged."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        if cookie.secure and _is_loopback(cookie.domain):
            cookie.secure = False
        super().set_cookie(cookie)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, Form] = {}
        self._open: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._open = Form(action=attributes.get("action", ""))
            self.forms[attributes.get("id", "")] = self._open
        elif tag == "input" and self._open is not None and attributes.get("name"):
            self._open.fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def forms_of(page: httpx.Response) -> dict[str, Form]:
    """The page's forms by id, each with its inputs' names and values as served."""
    parser = _FormParser()
    parser.feed(page.text)
    return parser.forms


class Browser:
    """One user's browser on the BFF at `origin`: it signs in with their email and password
    whenever the BFF shows it the sign-in form."""

    def __init__(self, origin: str, *, email: str, password: str) -> None:
        self.origin = origin
        self._credentials = {"email": email, "password": password}
        self.http = httpx.Client(
            cookies=LoopbackCookieJar(),
            follow_redirects=False,
            trust_env=False,  # loopback: never through a proxy named in the environment
            timeout=10.0,
            event_hooks={"response": [_remember_cookies]},
        )

    def authorize(self, url: str, *, decision: str = "allow") -> str:
        """Open an authorization URL, sign in and answer the consent page (shown unless the
        consent is remembered): the redirect back to the client."""
        page = self.visit(url)
        if "consent" in forms_of(page):
            page = self.submit(page, "consent", decision=decision)
        assert page.status_code == 303, f"{page.status_code}: {page.text[:500]}"
        return page.headers["location"]

    def approve_device(self, verification_uri_complete: str) -> httpx.Response:
        """Open the device page a device showed, confirm its code and approve: the last page."""
        page = self.visit(verification_uri_complete)
        page = self.submit(page, "device-code")  # the code is filled in from the URI
        return self.submit(page, "device-decision", decision="allow")

    def visit(self, url: str) -> httpx.Response:
        """GET `url`, then follow redirects while they stay on the BFF."""
        return self._follow(self.http.get(urljoin(self.origin, url)))

    def submit(self, page: httpx.Response, form_id: str, **typed: str) -> httpx.Response:
        """Post the form `form_id` of `page` with what the user typed or pressed, as a browser
        does (its Origin header included), then follow redirects while they stay on the BFF."""
        return self._follow(self._post(page, form_id, typed))

    def close(self) -> None:
        self.http.close()

    def _post(self, page: httpx.Response, form_id: str, typed: dict[str, str]) -> httpx.Response:
        form = forms_of(page)[form_id]
        target = urljoin(str(page.url), form.action)
        data = {**form.fields, **typed}
        return self.http.post(target, data=data, headers={"Origin": self.origin})

    def _follow(self, response: httpx.Response) -> httpx.Response:
        signed_in = False
        for _ in range(MAX_REDIRECTS):
            location = response.headers.get("location")
            if response.is_redirect and location is not None:
                target = urljoin(str(response.url), location)
                if not target.startswith(self.origin + "/"):
                    return response  # leaves the BFF: the client's redirect URI
                response = self.http.get(target)
            elif "login-form" in forms_of(response):
                assert not signed_in, f"the sign-in was refused: {response.status_code}"
                response = self._post(response, "login-form", self._credentials)
                signed_in = True
            else:
                return response
        raise AssertionError(f"more than {MAX_REDIRECTS} steps from {response.url}")


def _remember_cookies(response: httpx.Response) -> None:
    for value in response.cookies.values():
        WATCH.remember(value)  # a session cookie in a server log is a leak
