"""uvicorn's fast parser (httptools) with the limits a production server has.

httptools sets no bound on a request head, and uvicorn none on how long a head may take or how many
connections a process holds. This protocol adds the three:

- the head: its bytes and lines are counted *before* they reach the parser; past MAX_HEAD_BYTES
  (16 KiB in all, Node's limit) or MAX_HEADERS header lines the answer is 431 and the connection
  is closed: the app, and so any session lookup, never runs (a single header of a hundred
  megabytes would otherwise stall the event loop for seconds and hold that much memory);
- the head's time: a connection that has not sent a whole head `header_timeout` seconds after it
  opened, or after its last response, is closed (slowloris); idle keep-alive is uvicorn's own
  `timeout_keep_alive`, which is shorter;
- the connections: past `max_connections` open in this process, a new one is answered 503 and
  closed at once, before it sends anything, so idle connections cannot run the process out of
  file descriptors (where accept would fail with EMFILE and every client would wait).

`LimitedConfig` carries the `Limits` to each worker (uvicorn pickles the config into them).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

PROTOCOL = "serving.limits:LimitedHttpToolsProtocol"  # uvicorn's --http value
MAX_HEAD_BYTES = 16 * 1024  # request line and headers together
MAX_HEADERS = 100
HEAD_END = b"\r\n\r\n"
HEADER_TIMEOUT = 10.0  # seconds to send a whole head
MAX_CONNECTIONS = 1024  # per process, when nothing else is said


@dataclass(frozen=True, kw_only=True)
class Limits:
    """The limits that can be tuned; the head's size limits are fixed."""

    header_timeout: float = HEADER_TIMEOUT
    max_connections: int = MAX_CONNECTIONS


class LimitedConfig(Config):
    """A uvicorn Config that also carries our `Limits`."""

    def __init__(self, app: Any, *, limits: Limits, **options: Any) -> None:
        super().__init__(app, http=LimitedHttpToolsProtocol, **options)
        self.limits = limits


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
        # uvicorn's own `--http serving.limits:…` has no Limits to give: the defaults
        self._limits = config.limits if isinstance(config, LimitedConfig) else Limits()
        self._refused = False
        self._in_head = True  # a connection starts with a head; so does each next request
        self._meter = HeadMeter()
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # this connection is counted already: refuse it before it costs more than its socket
        if len(self.connections) > self._limits.max_connections:
            self._refuse(503, "temporarily_unavailable", "too many connections, retry shortly")
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head and not self._meter.add(data):
            self._refuse(
                431,
                "request_header_fields_too_large",
                f"request headers are limited to {MAX_HEAD_BYTES} bytes and {MAX_HEADERS} fields",
            )
            return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head, self._meter = True, HeadMeter()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        # with no pipelined request waiting, the connection now waits for a head: time it
        waiting = not self.pipeline
        super().on_response_complete()
        if waiting and not self.transport.is_closing():
            self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self._limits.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, status: int, error: str, description: str) -> None:
        body = json.dumps({"error": error, "error_description": description}).encode()
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[status],
                    b"content-type: application/json\r\n",
                    b"content-length: " + str(len(body)).encode() + b"\r\n",
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self.transport.close()
        self._disarm_head_timer()
        self._refused = True  # nothing more is read from this connection
