"""uvicorn's fast parser (httptools) with the limits a production server has.

httptools sets no bound on a request head: a single unauthenticated request carrying a header of
a hundred megabytes stalls the event loop for seconds (the parser joins a value piece by piece)
and holds that much memory. This protocol counts the head's bytes and lines *before* they reach
the parser and answers 431 once the head passes MAX_HEAD_BYTES (16 KiB in all, Node's limit) or
MAX_HEADERS header lines, closing the connection: the app, and so any session lookup, never runs.

Run with `uvicorn --http serving.limits:LimitedHttpToolsProtocol` (`PROTOCOL`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

PROTOCOL = "serving.limits:LimitedHttpToolsProtocol"  # uvicorn's --http value
MAX_HEAD_BYTES = 16 * 1024  # request line and headers together
MAX_HEADERS = 100
HEAD_END = b"\r\n\r\n"


class HeadMeter:
    """Counts a request head's bytes and lines as they arrive, whatever the reads' boundaries:
    only the bytes up to the empty line that ends the head count, never a body sent with it."""

    def __init__(self) -> None:
        self.bytes = 0
        self.lines = 0
        self.complete = False
        self._tail = b""  # the last bytes seen, so a head end split across reads is found

    def add(self, data: bytes) -> bool:
        """Count the part of `data` that belongs to the head; False once it is over a limit."""
        if self.complete:
            return True
        window = self._tail + data
        end = window.find(HEAD_END)
        head = data if end < 0 else window[len(self._tail) : end + len(HEAD_END)]
        self.complete = end >= 0
        self._tail = window[-(len(HEAD_END) - 1) :]
        self.bytes += len(head)
        self.lines += head.count(b"\n")
        # the request line, the headers, and the empty line that ends them
        return self.bytes <= MAX_HEAD_BYTES and self.lines <= MAX_HEADERS + 2


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._refused = False
        self._in_head = True  # a connection starts with a head; so does each next request
        self._meter = HeadMeter()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head and not self._meter.add(data):
            self._refuse_head()
            return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head, self._meter = True, HeadMeter()
        super().on_message_complete()

    def _refuse_head(self) -> None:
        body = json.dumps(
            {
                "error": "request_header_fields_too_large",
                "error_description": (
                    f"request headers are limited to {MAX_HEAD_BYTES} bytes "
                    f"and {MAX_HEADERS} fields"
                ),
            }
        ).encode()
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[431],
                    b"content-type: application/json\r\n",
                    b"content-length: " + str(len(body)).encode() + b"\r\n",
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self.transport.close()
        self._refused = True  # nothing more is read from this connection
