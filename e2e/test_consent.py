"""The authorization code flow's front channel in a real Chromium: the consent page's Allow and
Deny reach the client's loopback redirect (the page's CSP must let its form answer redirect
there), with the code, `state` and `iss`."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Page, expect

from bff.testing.browser import axe_violations, describe
from bff.testing.launcher import free_port
from bff.testing.plugin import MakeUser, SignedInContext
from bff.testing.pool import RunningStack
from bff.testing.signin import fill_sign_in

CLIENT_NAME = "Desktop notes"


class Listener:
    """A native app's loopback redirect listener (RFC 8252 §7.3): it keeps every query its
    `/callback` gets. The browser's own requests (a `/favicon.ico` after the page, at a time of
    its choosing) are answered 404 and not kept, or they would race the test's count."""

    def __init__(self) -> None:
        self.port = free_port()
        self.queries: list[dict[str, str]] = []
        received = self.queries

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                target = urlsplit(self.path)
                if target.path != "/callback":
                    self.send_error(404)
                    return
                received.append({k: v[0] for k, v in parse_qs(target.query).items()})
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"you can close this window")

            def log_message(self, *args: object) -> None:
                return None

        self._server = http.server.HTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    started = Listener()
    yield started
    started.close()


@pytest.fixture(scope="module")
def native_client(bff_stack: RunningStack) -> str:
    out = bff_stack.cli(
        "clients",
        "add",
        CLIENT_NAME,
        "--grant",
        "authorization_code",
        "--public",
        "--scope",
        "notes:read",
        "--redirect-uri",
        "http://127.0.0.1/callback",
    )
    return out.splitlines()[0].removeprefix("client_id: ")


def _authorize(stack: RunningStack, client_id: str, port: int, state: str) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": f"http://127.0.0.1:{port}/callback",
            "scope": "notes:read",
            "state": state,
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
    )
    return f"{stack.bff_url}/oauth/authorize?{query}"


@pytest.mark.parametrize(
    ("button", "expected", "signed_in"),
    [("#allow", "code", True), ("#deny", "error", False)],
    ids=["allow-signed-in", "deny-signed-in-on-the-way"],
)
def test_the_consent_answer_reaches_the_native_apps_loopback_redirect(
    page: Page,
    bff_stack: RunningStack,
    make_user: MakeUser,
    signed_in_context: SignedInContext,
    native_client: str,
    listener: Listener,
    button: str,
    expected: str,
    signed_in: bool,
) -> None:
    user = make_user()
    if signed_in:
        page = signed_in_context(user).new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(_authorize(bff_stack, native_client, listener.port, state=f"st-{button[1:]}"))
    if not signed_in:
        fill_sign_in(page, user)  # anonymous: signed in first, then back to the consent page
    expect(page.locator("#client-name")).to_have_text(CLIENT_NAME)
    found = axe_violations(page)
    assert found == [], describe(found)  # the consent page, as every other one
    page.click(button)
    page.wait_for_url(f"http://127.0.0.1:{listener.port}/callback?*")
    assert violations == []
    (received,) = listener.queries
    assert expected in received and received["state"] == f"st-{button[1:]}"
    assert received["iss"] == bff_stack.bff_url
    if expected == "error":
        assert received["error"] == "access_denied" and "code" not in received
