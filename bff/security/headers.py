"""Security headers on every response, a CSP nonce and a request id in the request state."""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bff.security.proxies import Network, client_ip, forwarded_https

CACHEABLE_PREFIXES = ("/static/",)
FORM_TARGETS = "form_targets"  # request state: extra CSP form-action sources for this response


class SecurityHeadersMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        connect_origins: tuple[str, ...],
        trusted_proxies: tuple[Network, ...],
    ) -> None:
        self.app = app
        self._connect = " ".join(connect_origins)
        self._trusted = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        request_id = secrets.token_hex(8)
        state = scope.setdefault("state", {})
        state.update(
            csp_nonce=nonce, request_id=request_id, client_ip=client_ip(scope, self._trusted)
        )
        path: str = scope.get("path", "")
        https = scope.get("scheme") == "https" or forwarded_https(scope, self._trusted)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # a page may name where its own form's answer redirects (the OAuth consent page:
                # the client's verified redirect URI), which form-action must then allow
                targets = " ".join(state.get(FORM_TARGETS, ()))
                self._apply(
                    headers,
                    nonce=nonce,
                    request_id=request_id,
                    path=path,
                    https=https,
                    form_targets=targets,
                )
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _apply(
        self,
        headers: MutableHeaders,
        *,
        nonce: str,
        request_id: str,
        path: str,
        https: bool,
        form_targets: str,
    ) -> None:
        form_action = f"'self' {form_targets}" if form_targets else "'self'"
        headers["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self'; "
            f"img-src 'self' data:; connect-src 'self' {self._connect}; object-src 'none'; "
            f"base-uri 'none'; form-action {form_action}; frame-ancestors 'none'"
        )
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        # same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on our own
        # form posts, which the origin check must then refuse
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        headers["X-Request-ID"] = request_id
        if https:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if "cache-control" not in headers and not path.startswith(CACHEABLE_PREFIXES):
            # authenticated pages and tokens must never sit in a shared or back-button cache
            headers["Cache-Control"] = "no-store"
