"""Headers on every API response: its bodies are JSON, never to be sniffed as anything else; and
CORS, by JsonCORSMiddleware for a request that names an origin.

A request without one (every server-side caller, the BFF's proxy among them) takes one pass: the
CORS `Vary: Origin` and `nosniff` added to the raw headers together, with no CORS layer.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.cors import JsonCORSMiddleware, is_cors, vary_on_origin

NOSNIFF = (b"x-content-type-options", b"nosniff")


class ApiHeadersMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        allow_origins: Sequence[str],
        allow_methods: Sequence[str],
        allow_headers: Sequence[str],
        max_age: int,
    ) -> None:
        self.app = app
        self._cors = JsonCORSMiddleware(
            app,
            allow_origins=allow_origins,
            allow_methods=allow_methods,
            allow_headers=allow_headers,
            allow_credentials=False,
            max_age=max_age,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cors = is_cors(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                # a CORS request's headers were set by JsonCORSMiddleware, inside this one
                message["headers"] = [*(headers if cors else vary_on_origin(headers)), NOSNIFF]
            await send(message)

        await (self._cors if cors else self.app)(scope, receive, send_with_headers)
