"""Security headers on every response, a request id and the client's IP in the request state, a
CSP nonce for the pages that need one.

The headers that never change are built once, as the raw byte pairs ASGI sends, and appended to
each response as they are (a header of the same name that the app set is replaced, as before).
Only an HTML page gets a CSP nonce, created when its template first reads
`request.state.csp_nonce` or, for a page that never did, as its headers go out; every other
response's policy allows no script at all. So a JSON call costs one random value, its request id.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bff.security.proxies import Network, client_ip, forwarded_https

CACHEABLE_PREFIXES = ("/static/",)
FORM_TARGETS = "form_targets"  # request state: extra CSP form-action sources for this response
NONCE = "csp_nonce"  # request state: the page's CSP nonce, created when first read
HTML = b"text/html"
RawHeaders = list[tuple[bytes, bytes]]

CSP = b"content-security-policy"
REQUEST_ID = b"x-request-id"
CACHE_CONTROL = b"cache-control"
CONTENT_TYPE = b"content-type"
NO_STORE = (CACHE_CONTROL, b"no-store")
STATIC = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on our own
    # form posts, which the origin check must then refuse
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
# the names this middleware sets: the app's own value of one is replaced, never sent twice
OURS = frozenset({CSP, REQUEST_ID, HSTS[0], *(name for name, _ in STATIC)})


class RequestState(dict[str, Any]):
    """The request state (`scope["state"]`), whose CSP nonce is made when first read."""

    def __missing__(self, key: str) -> Any:
        if key != NONCE:
            raise KeyError(key)
        nonce = self[NONCE] = secrets.token_urlsafe(16)
        return nonce


class SecurityHeadersMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        connect_origins: tuple[str, ...],
        trusted_proxies: tuple[Network, ...],
    ) -> None:
        self.app = app
        self._connect = " ".join(("'self'", *connect_origins))
        self._trusted = trusted_proxies
        self._no_script = self._csp(script="'none'", form_action="'self'").encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = os.urandom(8).hex()  # secrets' source: an unpredictable id, one per request
        state = scope["state"] = RequestState(scope.get("state") or ())
        state.update(request_id=request_id, client_ip=client_ip(scope, self._trusted))
        path: str = scope.get("path", "")
        https = scope.get("scheme") == "https" or forwarded_https(scope, self._trusted)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._headers(
                    message.get("headers", ()), state, request_id, path=path, https=https
                )
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers(
        self,
        sent: Any,
        state: RequestState,
        request_id: str,
        *,
        path: str,
        https: bool,
    ) -> RawHeaders:
        headers: RawHeaders = []
        html = cached = False
        for name, value in sent:
            if name in OURS:
                continue  # replaced by ours below
            if name == CONTENT_TYPE:
                html = value[: len(HTML)].lower() == HTML
            elif name == CACHE_CONTROL:
                cached = True
            headers.append((name, value))
        headers.append((CSP, self._policy(state, html=html)))
        headers += STATIC
        headers.append((REQUEST_ID, request_id.encode("latin-1")))
        if https:
            headers.append(HSTS)
        if not cached and not path.startswith(CACHEABLE_PREFIXES):
            # authenticated pages and tokens must never sit in a shared or back-button cache
            headers.append(NO_STORE)
        return headers

    def _policy(self, state: RequestState, *, html: bool) -> bytes:
        # a page may name where its own form's answer redirects (the OAuth consent page: the
        # client's verified redirect URI), which form-action must then allow
        targets = " ".join(state.get(FORM_TARGETS, ()))
        nonced = html or NONCE in state  # a template that read the nonce needs it, whatever
        if not (nonced or targets):
            return self._no_script
        script = f"'nonce-{state[NONCE]}'" if nonced else "'none'"
        form_action = f"'self' {targets}" if targets else "'self'"
        return self._csp(script=script, form_action=form_action).encode("latin-1")

    def _csp(self, *, script: str, form_action: str) -> str:
        return (
            f"default-src 'self'; script-src {script}; style-src 'self'; "
            f"img-src 'self' data:; connect-src {self._connect}; object-src 'none'; "
            f"base-uri 'none'; form-action {form_action}; frame-ancestors 'none'"
        )
