from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from urllib.parse import unquote

import anyio
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
AsyncHandler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]


async def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


class Upstream(httpx.MockTransport):
    """A MockTransport that also counts the requests it was handed, before their bodies are
    read: what a pool would have given a connection to."""

    def __init__(self, handler: AsyncHandler) -> None:
        super().__init__(handler)
        self.started = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.started += 1
        return await super().handle_async_request(request)


@dataclass
class Proxied:
    """A BFF whose API, for the proxy, is an httpx.MockTransport that records every upstream
    request."""

    app: Starlette
    browser: httpx.AsyncClient
    upstream_transport: Upstream
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
    *,
    pages: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[Proxied]:
    """`pages`: the pages' own transport to the API; without it they share the proxy's."""
    box: list[Proxied] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        return await box[0].upstream(request)

    transport = Upstream(handler)
    app = create_bff(
        settings,
        store=store,
        clock=clock,
        passwords=SharedPasswords(passwords),
        feed=MemoryRevocationFeed(),
        api_transport=pages or transport,
        proxy_transport=transport,
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
        box.append(Proxied(app=app, browser=browser, upstream_transport=transport))
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


@pytest.fixture
async def proxied_beside_pages(
    bff_settings: BffSettings, store: SessionStore, clock: FrozenClock, passwords: Argon2Passwords
) -> AsyncIterator[Proxied]:
    async def me(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"sub": "from-the-pages-pool", "client_id": "bff"})

    pages = httpx.MockTransport(me)
    async for value in _proxied(bff_settings, store, clock, passwords, pages=pages):
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


# --- available under attack: bodies, calls in flight, pools ---------------------------------------


async def test_a_body_trickling_past_the_deadline_is_408_and_never_reaches_the_api(
    proxied: Proxied, clock: FrozenClock
) -> None:
    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(5):
            clock.advance(3)  # 15 s in all, against a 10 s deadline for the whole body
            yield b'{"t":1}'

    response = await proxied.browser.post("/api/notes", headers=JSON, content=trickle())
    assert response.status_code == 408
    assert response.json() == {
        "error": "request_timeout",
        "error_description": "the request body did not arrive in time",
    }
    assert response.headers["connection"] == "close"
    assert proxied.upstream_transport.started == 0 and proxied.seen == []


async def test_a_body_that_stops_arriving_is_cut_at_the_deadline(
    proxied: Proxied, clock: FrozenClock
) -> None:
    never = anyio.Event()

    async def stall() -> AsyncIterator[bytes]:
        clock.advance(9.99)  # what is left of the deadline: 10 ms of waiting
        yield b'{"t":'
        await never.wait()
        yield b"1}"

    with anyio.fail_after(5):
        response = await proxied.browser.post("/api/notes", headers=JSON, content=stall())
    assert response.status_code == 408
    assert proxied.upstream_transport.started == 0


@pytest.mark.bff_settings(proxy_body_seconds=20)
async def test_the_body_deadline_is_a_setting(proxied: Proxied, clock: FrozenClock) -> None:
    async def trickle() -> AsyncIterator[bytes]:
        for part in (b'{"t":', b"1}"):
            clock.advance(9)
            yield part

    response = await proxied.browser.post("/api/notes", headers=JSON, content=trickle())
    assert response.status_code == 200
    (upstream,) = proxied.seen
    assert upstream.content == b'{"t":1}' and upstream.headers["content-length"] == "7"


async def test_a_slow_body_sends_nothing_upstream_until_it_is_complete(
    proxied: Proxied,
) -> None:
    started: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b'{"text":', b'"whole"}'):
            started.append(proxied.upstream_transport.started)
            yield part

    response = await proxied.browser.post("/api/notes", headers=JSON, content=chunks())
    assert response.status_code == 200
    assert started == [0, 0]  # no upstream request while the body was still arriving
    assert proxied.seen[0].content == b'{"text":"whole"}'


async def test_a_body_of_exactly_one_mib_is_forwarded(proxied: Proxied) -> None:
    response = await proxied.browser.post("/api/notes", headers=JSON, content=b"x" * MAX_BODY)
    assert response.status_code == 200
    assert len(proxied.seen[0].content) == MAX_BODY == 1024 * 1024


async def _until(condition: Callable[[], bool]) -> None:
    """Event-loop turns (no clock, no sleep) until `condition` holds."""
    for _ in range(1000):
        if condition():
            return
        await anyio.sleep(0)
    raise AssertionError("the condition never held")


async def test_a_session_has_at_most_8_calls_in_flight(proxied: Proxied) -> None:
    release = anyio.Event()
    statuses: list[int] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if len(proxied.seen) <= 8:
            await release.wait()  # the first eight hang, as on a slow API
        return httpx.Response(200, json={"ok": True})

    async def call() -> None:
        statuses.append((await proxied.browser.get("/api/notes", headers=JSON)).status_code)

    proxied.handler = handler
    limit = proxied.app.state.components.proxy.in_flight
    sid = await proxied.sid()
    async with anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(call)
        await _until(lambda: len(proxied.seen) == 8)
        refused = await proxied.browser.post("/api/notes", headers=JSON, json={"t": 1})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"] == "rate_limited"
        assert len(proxied.seen) == 8  # the refused call never reached the API
        other = httpx.AsyncClient(transport=httpx.ASGITransport(app=proxied.app), base_url=BFF_URL)
        async with other:  # another session of the same user has slots of its own
            assert (await login(other)).status_code == 303
            assert (await other.get("/api/notes", headers=JSON)).status_code == 200
        release.set()
    assert statuses == [200] * 8
    assert limit.held(sid) == 0
    assert (await proxied.browser.get("/api/notes", headers=JSON)).status_code == 200


@pytest.mark.bff_settings(proxy_calls_per_session=2)
async def test_calls_that_fail_give_their_slot_back(proxied: Proxied, clock: FrozenClock) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, text="down")

    async def late() -> AsyncIterator[bytes]:
        clock.advance(11)
        yield b"{}"

    proxied.handler = handler
    for _ in range(3):
        oversized = b"x" * (MAX_BODY + 1)
        assert (
            await proxied.browser.post("/api/n", headers=JSON, content=oversized)
        ).status_code == 413
        assert (
            await proxied.browser.post("/api/n", headers=JSON, content=late())
        ).status_code == 408
        assert (await proxied.browser.get("/api/%2e%2e/x", headers=JSON)).status_code == 400
        assert (await proxied.browser.get("/api/notes", headers=JSON)).status_code == 503
    assert proxied.app.state.components.proxy.in_flight.held(await proxied.sid()) == 0


async def test_a_call_keeps_its_slot_until_its_response_has_streamed(proxied: Proxied) -> None:
    release = anyio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"{"
        await release.wait()
        yield b"}"

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body())

    proxied.handler = handler
    limit = proxied.app.state.components.proxy.in_flight
    sid = await proxied.sid()

    async def call() -> None:
        assert (await proxied.browser.get("/api/blob", headers=JSON)).content == b"{}"

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        await _until(lambda: len(proxied.seen) == 1)
        for _ in range(10):
            await anyio.sleep(0)  # event-loop turns: the head is sent, the body still streams
        assert limit.held(sid) == 1
        release.set()
    assert limit.held(sid) == 0


async def test_the_dashboard_renders_while_the_proxy_pool_is_exhausted(
    proxied_beside_pages: Proxied,
) -> None:
    proxied = proxied_beside_pages
    release = anyio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        await release.wait()  # every proxy call waits, as for a connection of a full pool
        return httpx.Response(200, json={})

    async def call() -> None:
        await proxied.browser.get("/api/notes", headers=JSON)

    proxied.handler = hang
    async with anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(call)
        await _until(lambda: len(proxied.seen) == 8)
        with anyio.fail_after(5):  # a failsafe only: the pages' pool answers at once
            dashboard = await proxied.browser.get("/dashboard")
        release.set()
    assert dashboard.status_code == 200
    assert "from-the-pages-pool" in dashboard.text
    assert all(request.url.path == "/notes" for request in proxied.seen)


async def test_app_page_says_so_when_the_api_cannot_be_reached(proxied: Proxied) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused 10.0.0.5:8001", request=request)

    proxied.handler = handler
    response = await proxied.browser.get("/app")
    assert response.status_code == 200  # the page works; its script can try again
    assert "The API cannot be reached right now." in response.text
    assert '<script type="application/json" id="initial-notes">null</script>' in response.text
    assert 'id="notes-empty" hidden' in response.text  # not "no notes": unknown
    assert "10.0.0.5" not in response.text


GOOD_NOTE = {"id": "n1", "title": "t", "body": "", "created_at": 1, "updated_at": 2}


@pytest.mark.parametrize(
    "odd",
    [
        {"title": 5},
        {"updated_at": 10**20},  # would overflow the date formatting
        {"created_at": True},  # a bool is an int to isinstance
        {"updated_at": -1},
        {"id": "x" * 65},
        {"title": "t" * 201},
    ],
)
async def test_app_page_refuses_a_list_that_is_not_the_apis_shape(
    proxied: Proxied, odd: dict[str, object]
) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"notes": [GOOD_NOTE, {**GOOD_NOTE, **odd}]})

    proxied.handler = handler
    response = await proxied.browser.get("/app")
    assert response.status_code == 200
    assert "Unexpected API answer." in response.text
    assert 'class="item-list__item note"' not in response.text
