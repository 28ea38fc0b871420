"""Attacks a real browser makes possible, against a signed-in victim: cross-site request forgery
from a page on another origin, and the accessibility of every page (axe-core, serious and
critical)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from bff.sessions.manager import COOKIE_NAME
from bff.testing.browser import axe_violations, describe
from bff.testing.launcher import free_port
from bff.testing.plugin import MakeUser, SignedInContext
from bff.testing.pool import RunningStack
from bff.testing.signin import JSON_CALL

# localhost is another site than 127.0.0.1 (where the victim's cookie lives): a cross-site page;
# 127.0.0.1 on another port is the same site, another origin: the Lax cookie goes along
ATTACKER_HOSTS = {"cross-site": "localhost", "same-site": "127.0.0.1"}

FORM_PAGE = """<!doctype html>
<html lang="en"><head><title>You won!</title></head><body>
<form id="forged" method="post" action="{action}">{fields}</form>
<script>document.getElementById("forged").submit();</script>
</body></html>"""

FETCH_PAGE = """<!doctype html>
<html lang="en"><head><title>You won!</title></head><body><script>
window.steal = async (headers) => {
  try {
    const answer = await fetch("%s/bff/token", {method: "POST", credentials: "include", headers});
    return "read " + answer.status + " " + (await answer.text());
  } catch (error) {
    return "refused: " + error.name;
  }
};
</script></body></html>"""


class AttackerSite:
    """Pages an attacker serves from an origin of its own, written by the test."""

    def __init__(self, host: str) -> None:
        port = free_port()
        self.origin = f"http://{host}:{port}"
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                page = pages.get(self.path)
                if page is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(page.encode())

            def log_message(self, *args: object) -> None:
                return None

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def serve(self, path: str, html: str) -> str:
        self.pages[path] = html
        return f"{self.origin}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(params=sorted(ATTACKER_HOSTS))
def attacker(request: pytest.FixtureRequest) -> Iterator[AttackerSite]:
    site = AttackerSite(ATTACKER_HOSTS[request.param])
    yield site
    site.close()


@pytest.fixture
def victim(signed_in_context: SignedInContext, make_user: MakeUser) -> BrowserContext:
    return signed_in_context(make_user())


def whoami(context: BrowserContext) -> dict[str, Any]:
    answer = context.request.get("/bff/user?slide=false", headers=JSON_CALL)
    assert answer.status == 200, answer.status
    body: dict[str, Any] = answer.json()
    return body


def forged_form(action: str, **fields: str) -> str:
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
    return FORM_PAGE.format(action=action, fields=inputs)


def sent_session_cookie(response: Response) -> bool:
    return f"{COOKIE_NAME}=" in response.request.all_headers().get("cookie", "")


@pytest.mark.parametrize("path", ["/logout", "/sessions/revoke"])
def test_a_form_posted_from_another_origin_changes_nothing(
    victim: BrowserContext, bff_stack: RunningStack, attacker: AttackerSite, path: str
) -> None:
    sid = whoami(victim)["sid"]
    url = attacker.serve("/win", forged_form(f"{bff_stack.bff_url}{path}", sid=sid, csrf_token="x"))
    page = victim.new_page()

    def is_forged_post(response: Response) -> bool:
        return response.request.method == "POST" and response.url == f"{bff_stack.bff_url}{path}"

    with page.expect_response(is_forged_post) as posted:
        page.goto(url)

    answer = posted.value
    if attacker.origin.startswith("http://localhost"):
        # cross-site: the browser withheld the Lax cookie, so the post arrived anonymous
        assert not sent_session_cookie(answer)
        assert answer.status == (403 if path == "/logout" else 303)
    else:
        # same site, other origin: the cookie went along; the origin check and token refuse it
        assert sent_session_cookie(answer)
        assert answer.status == 403
    assert whoami(victim)["sid"] == sid
    dashboard = victim.new_page()
    dashboard.goto("/dashboard")
    assert dashboard.url == f"{bff_stack.bff_url}/dashboard"


def test_a_token_fetch_from_another_origin_is_refused(
    victim: BrowserContext, bff_stack: RunningStack, attacker: AttackerSite
) -> None:
    sid = whoami(victim)["sid"]
    minted = len(minted_for(bff_stack, sid))
    page = victim.new_page()
    failed: list[str] = []
    victim.on(
        "requestfailed",
        lambda r: failed.append(r.method) if r.url == f"{bff_stack.bff_url}/bff/token" else None,
    )
    page.goto(attacker.serve("/win", FETCH_PAGE % bff_stack.bff_url))

    # with the header: the preflight is never granted, so the POST is never sent; without it a
    # "simple" request may go out, but its answer is refused to the page (no CORS grant)
    assert page.evaluate("() => steal({'X-CSRF': '1'})") == "refused: TypeError"
    assert page.evaluate("() => steal({})") == "refused: TypeError"
    assert failed == ["POST", "POST"]
    assert len(minted_for(bff_stack, sid)) == minted  # no token was minted for the session
    assert whoami(victim)["sid"] == sid
    dashboard = victim.new_page()
    dashboard.goto("/dashboard")
    expect(dashboard.locator("#me-client")).to_have_text("bff")


def minted_for(stack: RunningStack, sid: str) -> list[dict[str, Any]]:
    return [e for e in stack.audit_events("token.minted") if e.get("sid") == sid]


def assert_accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{page.url}:\n{describe(violations)}"


def test_the_login_page_has_no_serious_accessibility_violation(page: Page) -> None:
    page.goto("/login")
    assert_accessible(page)


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard",
        "/app",
        "/sessions",
        "/account",
        "/device",
    ],
)
def test_every_signed_in_page_has_no_serious_accessibility_violation(
    victim: BrowserContext, path: str
) -> None:
    page = victim.new_page()
    page.goto(path)
    if path == "/app":  # once its script has filled it in
        expect(page.locator('#status[data-state="ok"]')).to_be_visible()
    assert_accessible(page)


def test_an_error_page_has_no_serious_accessibility_violation(page: Page) -> None:
    answer = page.goto("/login?next=/a&next=/b")  # `next` twice: 400, as a page
    assert answer is not None and answer.status == 400
    expect(page.locator("h1")).to_have_text("400 Bad Request")
    assert_accessible(page)
