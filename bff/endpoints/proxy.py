"""The proxy `/api/{path}`: pure-BFF mode, the session's token attached on the server so that the
page's JavaScript never holds one. Only the configured API is reachable, under its base path.

Available under attack: a request body is read whole (at most 1 MiB, within a deadline) before
an upstream connection is taken, so a slow upload holds none; and a session has at most a few
calls in flight, from its body's first byte to its response's last, so one user cannot hold
every connection of the pool. The pages reach the API through a pool of their own
(bff.wiring)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import unquote

import anyio
import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from bff.clock import Clock, Deadline
from bff.endpoints.bodies import read_body
from bff.endpoints.guard import SessionGuard
from bff.endpoints.responses import NO_STORE
from bff.errors import BadGateway, BadRequest, GatewayTimeout
from bff.security.inflight import InFlightLimit, Slot
from bff.sessions.base import Session
from bff.tokencache import SessionTokenCache

PREFIX = "/api/"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
RETRY_METHODS = frozenset({"GET", "HEAD"})
MAX_BODY = 1024 * 1024
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# whole-exchange bound up to the response head: an API answering byte by byte cannot pin a
# pooled upstream connection for ever (httpx's timeouts only bound each socket operation)
DEADLINE = 30.0
IN_FLIGHT_MESSAGE = "too many API calls in flight for this session"
# allowlists, not denylists: an unknown header (X-Original-URL, Forwarded, X-Real-IP…) that some
# upstream stack might trust is never forwarded, and none the API sends can reach the browser
REQUEST_HEADERS = frozenset(
    {
        "accept",
        "accept-language",
        "content-type",
        "content-language",
        # no content-length: httpx sets it from the buffered body, the length actually sent
        "if-match",
        "if-none-match",
        "if-modified-since",
        "if-unmodified-since",
    }
)
RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "content-language",
        "etag",
        "last-modified",
        "www-authenticate",
        "retry-after",
        "allow",
        "vary",
    }
)
SEGMENT_ESCAPES = ("%2f", "%5c", "%25")  # encoded "/", "\" and "%": decoded again downstream

log = logging.getLogger("bff.proxy")


class ProxyEndpoint:
    def __init__(
        self,
        *,
        guard: SessionGuard,
        tokens: SessionTokenCache,
        api: httpx.AsyncClient,
        api_public_url: str,
        clock: Clock,
        body_seconds: float,
        calls_per_session: int,
    ) -> None:
        self._guard = guard
        self._tokens = tokens
        self._api = api
        self._clock = clock
        self._body_seconds = body_seconds
        self.in_flight = InFlightLimit(limit=calls_per_session, message=IN_FLIGHT_MESSAGE)
        self._base = api.base_url
        # the API may name itself by its public URL in a Location when the BFF reaches it privately
        self._origins = (self._base, httpx.URL(api_public_url.rstrip("/") + "/"))

    def routes(self) -> list[Route]:
        return [Route("/api/{path:path}", self.forward, methods=METHODS)]

    async def forward(self, request: Request) -> Response:
        session = await self._guard.json(request)
        url = self._upstream_url(request)
        # held from the body's first byte to the response's last (see UpstreamResponse)
        slot = self.in_flight.take(session.sid)
        try:
            return await self._exchange(request, session, url, slot)
        except BaseException:
            slot.release()
            raise

    async def _exchange(
        self, request: Request, session: Session, url: httpx.URL, slot: Slot
    ) -> Response:
        # the whole body first, so a slow upload never holds an upstream connection
        body = await self._request_body(request)
        upstream = await self._send(request, session, url, body)
        if upstream.status_code == 401 and body is None and request.method in RETRY_METHODS:
            # once, for safe bodiless requests only: a token the API refused (revoked jti, a key
            # it has not fetched yet) is replaced; an unsafe request is never replayed
            await upstream.aclose()
            self._tokens.forget(session.sid)
            upstream = await self._send(request, session, url, None)
        return await self._respond(upstream, url, slot.release)

    async def _request_body(self, request: Request) -> bytes | None:
        headers = request.headers
        if headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers:
            return None
        deadline = Deadline(clock=self._clock, seconds=self._body_seconds)
        return await read_body(request, MAX_BODY, deadline=deadline) or None

    def _upstream_url(self, request: Request) -> httpx.URL:
        path = upstream_path(_raw_suffix(request.scope))
        query = _query(request.scope)
        raw = self._base.raw_path + path.encode("ascii") + (b"?" + query if query else b"")
        try:
            url = self._base.copy_with(raw_path=raw)
        except httpx.InvalidURL:
            raise BadRequest("the path cannot be forwarded") from None
        # defence in depth: whatever the path held, only the API's origin and base path remain
        if not _within(url, self._base):
            raise BadRequest("the path cannot be forwarded")
        return url

    async def _send(
        self, request: Request, session: Session, url: httpx.URL, body: bytes | None
    ) -> httpx.Response:
        headers = _request_headers(request)
        # the token is attached here and never reaches the browser; the browser's own is dropped
        headers.append(("Authorization", f"Bearer {self._tokens.token_for(session).token}"))
        outgoing = self._api.build_request(
            request.method, url, headers=headers, content=body, timeout=TIMEOUT
        )
        try:
            with anyio.fail_after(DEADLINE):
                return await self._api.send(outgoing, stream=True)
        except (httpx.TimeoutException, TimeoutError) as exc:
            log.warning("proxy: the API timed out: %s", type(exc).__name__)
            raise GatewayTimeout("the API did not answer in time") from None
        except httpx.TransportError as exc:
            log.warning("proxy: the API cannot be reached: %s", type(exc).__name__)
            raise BadGateway("the API cannot be reached") from None

    async def _respond(
        self, upstream: httpx.Response, url: httpx.URL, release: Callable[[], None]
    ) -> Response:
        if upstream.status_code >= 500:
            # the API's 4xx are its documented errors; its 5xx may carry internals: replaced
            await upstream.aclose()
            release()
            log.warning("proxy: the API answered %d", upstream.status_code)
            body = {"error": "upstream_error", "error_description": "the API failed"}
            return JSONResponse(body, status_code=upstream.status_code, headers=NO_STORE)
        try:
            headers = self._response_headers(upstream, url)
        except BaseException:
            await upstream.aclose()
            raise
        return UpstreamResponse(upstream, headers=headers, release=release)

    def _response_headers(
        self, upstream: httpx.Response, url: httpx.URL
    ) -> list[tuple[bytes, bytes]]:
        named = _connection_tokens(upstream.headers.get_list("connection"))
        if upstream.headers.get("content-encoding", "identity").lower() != "identity":
            # httpx decodes the body, so the encoded length no longer holds
            named |= {"content-length"}
        allowed = RESPONSE_HEADERS - named
        headers = [
            (name.lower(), value)
            for name, value in upstream.headers.raw
            if name.lower().decode("latin-1") in allowed
        ]
        location = self._local_location(upstream.headers.get("location"), url)
        if location is not None:
            headers.append((b"location", location.encode("ascii")))
        cache = _private_cache_control(
            upstream.headers.get_list("cache-control", split_commas=True)
        )
        headers.append((b"cache-control", cache.encode("ascii")))
        return headers

    def _local_location(self, location: str | None, url: httpx.URL) -> str | None:
        """A Location on the API becomes the same resource under /api/; any other is dropped."""
        if not location:
            return None
        try:
            target = url.join(location)
        except (httpx.InvalidURL, UnicodeError):
            return None
        for base in self._origins:
            if _within(target, base):
                return PREFIX + target.raw_path[len(base.raw_path) :].decode("ascii")
        return None


class UpstreamResponse(StreamingResponse):
    """The API's response streamed back; the upstream response is closed and the session's slot
    released however the stream ends (done, browser gone, error), so no pooled connection leaks
    and a browser reading slowly still counts against its session."""

    def __init__(
        self,
        upstream: httpx.Response,
        *,
        headers: list[tuple[bytes, bytes]],
        release: Callable[[], None],
    ) -> None:
        super().__init__(upstream.aiter_bytes(), status_code=upstream.status_code)
        self.raw_headers = headers
        self._upstream = upstream
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
            await self._upstream.aclose()


def upstream_path(raw: bytes) -> str:
    """The still-encoded path after /api/, or BadRequest when it could be read as another host or
    leave the API's base path (dot segments, leading slash, authority, encoded separators)."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise BadRequest("the path must be ASCII (percent-encoded)") from None
    decoded = unquote(text)
    if any(escape in text.lower() for escape in SEGMENT_ESCAPES):
        raise BadRequest("encoded separators are not allowed in the path")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in decoded):
        raise BadRequest("control characters are not allowed in the path")
    if not decoded.isascii():
        # percent-encoded C1 controls, bidi overrides and look-alikes: no API path needs them
        raise BadRequest("the path must be ASCII, encoded or not")
    if "\\" in decoded or ".." in decoded or decoded.startswith("/"):
        raise BadRequest("the path must stay under /api/")
    if "." in decoded.split("/"):
        raise BadRequest("dot segments are not allowed in the path")
    first = decoded.split("/", 1)[0]
    if ":" in first or "@" in first:
        # "http://evil", "user@host", "host:port": never let the first segment read as an authority
        raise BadRequest("the path must stay under /api/")
    return text


def _raw_suffix(scope: Scope) -> bytes:
    raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    root = scope.get("root_path", "").encode("utf-8")
    if root and raw.startswith(root):
        raw = raw[len(root) :]
    if not raw.startswith(PREFIX.encode()):
        raise BadRequest("the path must stay under /api/")
    return raw[len(PREFIX) :]


def _query(scope: Scope) -> bytes:
    query: bytes = scope.get("query_string", b"")
    if any(byte < 0x21 or byte > 0x7E or byte == 0x23 for byte in query):
        raise BadRequest("the query string must be printable ASCII")
    return query


def _within(url: httpx.URL, base: httpx.URL) -> bool:
    same_origin = (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
    return same_origin and not url.userinfo and url.raw_path.startswith(base.raw_path)


def _request_headers(request: Request) -> list[tuple[str, str]]:
    allowed = REQUEST_HEADERS - _connection_tokens(request.headers.getlist("connection"))
    headers = [(name, value) for name, value in request.headers.items() if name in allowed]
    # ask for an identity body: streamed back as is, with the API's Content-Length
    headers.append(("Accept-Encoding", "identity"))
    return headers


def _connection_tokens(values: list[str]) -> frozenset[str]:
    # a header named in Connection is hop-by-hop for this one hop (RFC 9110 §7.6.1)
    return frozenset(token.strip().lower() for value in values for token in value.split(","))


def _private_cache_control(directives: list[str]) -> str:
    # the API saw a bearer token, the browser sent a cookie: a shared cache in front of the BFF
    # must never store one user's data, so "public" and "s-maxage" go and "private" is implied
    kept = [d.strip() for d in directives if d.strip() and d.isascii()]
    kept = [d for d in kept if d.split("=")[0].lower() not in ("public", "s-maxage")]
    names = {d.split("=")[0].lower() for d in kept}
    if not kept:
        return "no-store"
    if "no-store" in names or "private" in names:
        return ", ".join(kept)
    return ", ".join(["private", *kept])
