from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from urllib.parse import unquote

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.types import Message

from bff.app import create_app as create_bff
from bff.clock import FrozenClock
from bff.endpoints.proxy import MAX_BODY
from bff.revocation import MemoryRevocationFeed
from bff.security.passwords import Argon2Passwords
from bff.sessions import SessionStore
from bff.settings import Settings as BffSettings
from tests.conftest import BFF_URL, JSON, PASSWORD, SharedPasswords, System, login

pytestmark = pytest.mark.anyio

API_HOST = "api.test"
Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


async def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


@dataclass
class Proxied:
    """A BFF whose API is an httpx.MockTransport that records every upstream request."""

    app: Starlette
    browser: httpx.AsyncClient
    seen: list[httpx.Request] = field(default_factory=list)
    handler: Handler = _ok

    async def upstream(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return await self.handler(request)

    async def sid(self) -> str:
        return str((await self.browser.get("/bff/user", headers=JSON)).json()["sid"])


async def _proxied(
    settings: BffSettings,
    store: SessionStore,
    clock: FrozenClock,
    passwords: Argon2Passwords,
) -> AsyncIterator[Proxied]:
    box: list[Proxied] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        return await box[0].upstream(request)

    app = create_bff(
        settings,
        store=store,
        clock=clock,
        passwords=SharedPasswords(passwords),
        feed=MemoryRevocationFeed(),
        api_transport=httpx.MockTransport(handler),
    )
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        browser = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BFF_URL)
        )
        components = app.state.components
        await components.users.add(
            email="alice@example.com",
            password_hash=await components.passwords.hash(PASSWORD),
            role="user",
            now=clock.now(),
        )
        box.append(Proxied(app=app, browser=browser))
        assert (await login(browser)).status_code == 303
        yield box[0]


@pytest.fixture
async def proxied(
    bff_settings: BffSettings, store: SessionStore, clock: FrozenClock, passwords: Argon2Passwords
) -> AsyncIterator[Proxied]:
    async for value in _proxied(bff_settings, store, clock, passwords):
        yield value


@pytest.fixture
async def proxied_v1(
    bff_settings: BffSettings, store: SessionStore, clock: FrozenClock, passwords: Argon2Passwords
) -> AsyncIterator[Proxied]:
    settings = dataclasses.replace(bff_settings, api_url="https://api.internal:8443/v1")
    async for value in _proxied(settings, store, clock, passwords):
        yield value


async def _raw_get(proxied: Proxied, raw_path: bytes) -> tuple[int, bytes]:
    """A GET sent as-is, bypassing httpx's dot-segment normalization (like `curl --path-as-is`)."""
    cookie = f"__Host-sid={proxied.browser.cookies['__Host-sid']}".encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "server": ("bff.test", 443),
        "client": ("127.0.0.1", 5000),
        "root_path": "",
        "path": unquote(raw_path.decode()),
        "raw_path": raw_path,
        "query_string": b"",
        "headers": [(b"host", b"bff.test"), (b"x-csrf", b"1"), (b"cookie", cookie)],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await proxied.app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(sent[0]["status"]), body


# --- the real API, in-process -------------------------------------------------------------------


async def test_proxy_returns_the_users_me_with_the_bff_token(system: System, user_id: str) -> None:
    await login(system.bff)
    response = await system.bff.get("/api/me", headers=JSON)
    assert response.status_code == 200
    body = response.json()
    assert body["sub"] == user_id and body["client_id"] == "bff"
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers


async def test_proxy_needs_the_csrf_header(system: System, user_id: str) -> None:
    await login(system.bff)
    response = await system.bff.get("/api/me")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


async def test_proxy_is_401_without_a_session(system: System) -> None:
    response = await system.bff.get("/api/me", headers=JSON)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


async def test_proxy_refuses_a_cross_site_post(system: System, user_id: str) -> None:
    await login(system.bff)
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = await system.bff.post("/api/notes", headers={**JSON, **headers}, json={})
        assert response.status_code == 403
        assert response.json()["error"] == "forbidden"


async def test_proxy_slides_the_session(system: System, user_id: str) -> None:
    await login(system.bff)
    system.clock.advance(600)
    assert (await system.bff.get("/api/me", headers=JSON)).status_code == 200
    user = (await system.bff.get("/bff/user?slide=false", headers=JSON)).json()
    assert user["session"]["idle_expires_at"] == int(system.clock.now()) + 1800


# --- a recorded upstream ------------------------------------------------------------------------


async def test_a_cross_site_post_never_reaches_the_api(proxied: Proxied) -> None:
    response = await proxied.browser.post(
        "/api/notes", headers={**JSON, "Origin": "https://evil.example"}, json={"text": "x"}
    )
    assert response.status_code == 403
    assert proxied.seen == []


async def test_upstream_gets_the_server_side_token_and_none_of_the_browser_credentials(
    proxied: Proxied,
) -> None:
    sid = await proxied.sid()
    response = await proxied.browser.get(
        "/api/notes",
        headers={
            **JSON,
            "Authorization": "Bearer browser-token",
            "Connection": "keep-alive, Accept-Language",
            "Accept-Language": "fr",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Trailer": "X-T",
            "Upgrade": "websocket",
            "Proxy-Authorization": "Basic eA==",
            "X-Forwarded-For": "10.0.0.1",
            "X-Forwarded-Host": "evil.example",
            "Forwarded": "for=10.0.0.1",
            "Origin": BFF_URL,
            "Referer": f"{BFF_URL}/app",
            "Sec-Fetch-Site": "same-origin",
            "X-Original-URL": "/admin",
            "Accept": "application/json",
            "If-None-Match": '"v1"',
        },
    )
    assert response.status_code == 200
    (upstream,) = proxied.seen
    assert upstream.url.host == API_HOST and upstream.headers["host"] == API_HOST
    scheme, token = upstream.headers["authorization"].split(" ")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert scheme == "Bearer" and claims["sid"] == sid and claims["client_id"] == "bff"
    assert upstream.headers.get_list("authorization") == [f"Bearer {token}"]
    for name in (
        "cookie",
        "x-csrf",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "x-forwarded-for",
        "x-forwarded-host",
        "forwarded",
        "origin",
        "referer",
        "sec-fetch-site",
        "x-original-url",
        "accept-language",  # the last one was named hop-by-hop in Connection
    ):
        assert name not in upstream.headers, name
    assert upstream.headers["accept"] == "application/json"
    assert upstream.headers["if-none-match"] == '"v1"'


async def test_path_and_query_go_to_the_api_under_its_base_path(proxied_v1: Proxied) -> None:
    response = await proxied_v1.browser.get("/api/notes/7?limit=5&q=a%20b", headers=JSON)
    assert response.status_code == 200
    (upstream,) = proxied_v1.seen
    assert str(upstream.url) == "https://api.internal:8443/v1/notes/7?limit=5&q=a%20b"


@pytest.mark.parametrize(
    "path",
    [
        "/api/%2e%2e/bff/user",
        "/api/%2E%2e/x",
        "/api/.%2e/x",
        "/api/notes/%2e%2e/%2e%2e/x",
        "/api/%2e/me",
        "/api//evil.example/x",
        "/api/%2fevil.example/x",
        "/api/notes%2f..%2fadmin",
        "/api/%252e%252e/x",
        "/api/http://evil.example/x",
        "/api/evil.example:443/x",
        "/api/me@evil.example",
        "/api/\\evil.example",
        "/api/%5cevil.example",
        "/api/me%00",
        "/api/me%09x",
        "/api/notes/%C2%85",  # NEL, a C1 control
        "/api/notes/%e2%80%ae",  # a right-to-left override
    ],
)
async def test_paths_that_could_leave_the_api_are_refused(proxied: Proxied, path: str) -> None:
    response = await proxied.browser.get(path, headers=JSON)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert proxied.seen == []


async def test_a_header_injection_in_the_path_never_reaches_the_api(proxied: Proxied) -> None:
    # Starlette's router does not match a decoded line break at all: 404 before the proxy runs
    response = await proxied.browser.get("/api/me%0d%0aHost:%20evil.example", headers=JSON)
    assert response.status_code == 404
    assert proxied.seen == []


@pytest.mark.parametrize("raw_path", [b"/api/../bff/user", b"/api/notes/../../x", b"/api/./me"])
async def test_raw_dot_segments_are_refused(proxied: Proxied, raw_path: bytes) -> None:
    status, body = await _raw_get(proxied, raw_path)
    assert status == 400 and b"invalid_request" in body
    assert proxied.seen == []


async def test_a_normalized_traversal_is_served_by_the_bff_not_forwarded(proxied: Proxied) -> None:
    # httpx (like browsers) resolves "/api/../bff/user" to "/bff/user" before sending it
    response = await proxied.browser.get("/api/../bff/user", headers=JSON)
    assert response.status_code == 200 and "sid" in response.json()
    assert proxied.seen == []


@pytest.mark.parametrize(
    ("path", "upstream_path"),
    [
        ("/api/notes/http://evil.example/x", "/notes/http://evil.example/x"),
        ("/api/notes/a@evil.example", "/notes/a@evil.example"),
        ("/api/notes/a:b", "/notes/a:b"),
    ],
)
async def test_authority_lookalikes_after_the_first_segment_stay_on_the_api(
    proxied: Proxied, path: str, upstream_path: str
) -> None:
    assert (await proxied.browser.get(path, headers=JSON)).status_code == 200
    (upstream,) = proxied.seen
    assert upstream.url.host == API_HOST and upstream.url.raw_path == upstream_path.encode()


@pytest.mark.parametrize("method", ["HEAD", "PUT", "PATCH", "DELETE"])
async def test_every_method_is_forwarded_as_is(proxied: Proxied, method: str) -> None:
    response = await proxied.browser.request(method, "/api/notes/1", headers=JSON)
    assert response.status_code == 200
    assert [r.method for r in proxied.seen] == [method]


async def test_api_cookies_and_server_headers_never_reach_the_browser(proxied: Proxied) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"ok": True},
            headers=[
                ("Set-Cookie", "__Host-sid=attacker; Path=/; Secure"),
                ("Set-Cookie", "x=1"),
                ("Server", "api/1.2.3"),
                ("X-Powered-By", "starlette"),
                ("Keep-Alive", "timeout=5"),
                ("Connection", "X-Secret-Hop"),
                ("X-Secret-Hop", "1"),
                ("ETag", '"v2"'),
            ],
        )

    cookie = proxied.browser.cookies["__Host-sid"]
    proxied.handler = handler
    response = await proxied.browser.get("/api/notes", headers=JSON)
    assert response.status_code == 200 and response.json() == {"ok": True}
    for name in ("set-cookie", "server", "x-powered-by", "keep-alive", "x-secret-hop"):
        assert name not in response.headers, name
    assert response.headers["etag"] == '"v2"'
    assert response.headers["cache-control"] == "no-store"
    assert dict(proxied.browser.cookies) == {"__Host-sid": cookie}


async def test_api_cache_control_is_kept_but_never_shared(proxied: Proxied) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={}, headers={"Cache-Control": "public, max-age=60, s-maxage=600"}
        )

    proxied.handler = handler
    response = await proxied.browser.get("/api/notes", headers=JSON)
    assert response.headers["cache-control"] == "private, max-age=60"


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("https://api.test/notes/7", "/api/notes/7"),
        ("/notes/8?x=1", "/api/notes/8?x=1"),
        ("9", "/api/notes/9"),
        ("https://evil.example/notes/7", None),
        ("//evil.example/notes/7", None),
        ("http://api.test/notes/7", None),  # another scheme is another origin
        ("https://api.test:444/notes/7", None),
    ],
)
async def test_location_is_rewritten_under_api_or_dropped(
    proxied: Proxied, location: str, expected: str | None
) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={"id": 7}, headers={"Location": location})

    proxied.handler = handler
    response = await proxied.browser.post("/api/notes/", headers=JSON, json={"text": "x"})
    assert response.status_code == 201
    assert response.headers.get("location") == expected


async def test_upstream_500_body_is_replaced(proxied: Proxied) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            500,
            text="Traceback (most recent call last): db password=hunter2",
            headers={"Set-Cookie": "x=1"},
        )

    proxied.handler = handler
    response = await proxied.browser.get("/api/notes", headers=JSON)
    assert response.status_code == 500
    assert response.json() == {"error": "upstream_error", "error_description": "the API failed"}
    assert "hunter2" not in response.text and "set-cookie" not in response.headers


async def test_unreachable_api_is_502(proxied: Proxied) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused 10.0.0.5:8001", request=request)

    proxied.handler = handler
    response = await proxied.browser.get("/api/notes", headers=JSON)
    assert response.status_code == 502
    assert response.json() == {
        "error": "bad_gateway",
        "error_description": "the API cannot be reached",
    }


async def test_api_timeout_is_504(proxied: Proxied) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    proxied.handler = handler
    response = await proxied.browser.get("/api/notes", headers=JSON)
    assert response.status_code == 504
    assert response.json()["error"] == "gateway_timeout"


async def test_upstream_404_json_is_passed_through(proxied: Proxied) -> None:
    error = {"error": "not_found", "error_description": "no such note"}

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json=error)

    proxied.handler = handler
    response = await proxied.browser.get("/api/notes/99", headers=JSON)
    assert response.status_code == 404 and response.json() == error


async def test_request_body_is_streamed_to_the_api(proxied: Proxied) -> None:
    response = await proxied.browser.post("/api/notes", headers=JSON, json={"text": "hello"})
    assert response.status_code == 200
    (upstream,) = proxied.seen
    assert upstream.content == b'{"text":"hello"}'
    assert upstream.headers["content-type"] == "application/json"


async def test_chunked_request_body_is_streamed_to_the_api(proxied: Proxied) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b'{"text":', b'"chunked"}'):
            yield part

    response = await proxied.browser.post("/api/notes", headers=JSON, content=chunks())
    assert response.status_code == 200
    assert proxied.seen[0].content == b'{"text":"chunked"}'


async def test_declared_oversized_body_is_413_and_never_forwarded(proxied: Proxied) -> None:
    response = await proxied.browser.post("/api/notes", headers=JSON, content=b"x" * (MAX_BODY + 1))
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert proxied.seen == []


async def test_chunked_oversized_body_is_cut_at_the_cap(proxied: Proxied) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY // 65536 + 1):
            yield b"x" * 65536

    response = await proxied.browser.post("/api/notes", headers=JSON, content=chunks())
    assert response.status_code == 413
    assert proxied.seen == []


async def test_large_response_is_streamed_back_intact_and_closed(proxied: Proxied) -> None:
    payload = bytes(range(256)) * 800  # 200 KiB
    replies: list[httpx.Response] = []

    async def body() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 16384):
            yield payload[start : start + 16384]

    async def handler(request: httpx.Request) -> httpx.Response:
        replies.append(
            httpx.Response(
                200, content=body(), headers={"Content-Type": "application/octet-stream"}
            )
        )
        return replies[-1]

    proxied.handler = handler
    response = await proxied.browser.get("/api/blob", headers=JSON)
    assert response.status_code == 200 and response.content == payload
    assert response.headers["content-type"] == "application/octet-stream"
    assert replies[0].is_closed


async def test_a_refused_token_is_replaced_once_for_a_get(proxied: Proxied) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if len(proxied.seen) == 1:
            return httpx.Response(401, json={"error": "invalid_token"})
        return httpx.Response(200, json={"ok": True})

    proxied.handler = handler
    response = await proxied.browser.get("/api/notes", headers=JSON)
    assert response.status_code == 200
    first, second = (r.headers["authorization"] for r in proxied.seen)
    assert first != second


async def test_a_refused_token_is_not_replayed_for_a_post(proxied: Proxied) -> None:
    challenge = 'Bearer error="invalid_token"'

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401, json={"error": "invalid_token"}, headers={"WWW-Authenticate": challenge}
        )

    proxied.handler = handler
    response = await proxied.browser.post("/api/notes", headers=JSON, json={"text": "x"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == challenge
    assert len(proxied.seen) == 1
