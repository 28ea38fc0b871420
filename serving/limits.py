"""uvicorn's fast parser (httptools) with the limits a production server has.

httptools sets no bound on a request head, and uvicorn none on how long a head or a body may take,
how many connections a process holds, how many pipelined requests it queues, or how long a client
may leave a response unread. This protocol adds them:

- the head: its bytes and lines are counted *before* they reach the parser; past MAX_HEAD_BYTES
  (16 KiB in all, Node's limit) or MAX_HEADERS header lines the answer is 431 and the connection
  is closed: the app, and so any session lookup, never runs (a single header of a hundred
  megabytes would otherwise stall the event loop for seconds and hold that much memory); the
  parser's own callbacks count the fields too, so a head that follows another in the same read
  is held to the same limits;
- the head's time: a connection that has not sent a whole head `header_timeout` seconds after it
  opened, or after its last response, is closed (slowloris); idle keep-alive is uvicorn's own
  `timeout_keep_alive`, which is shorter;
- the body's time: the whole body must arrive within `body_timeout` seconds of the head's end
  (however it trickles; another `body_timeout` if the server itself has stopped reading then,
  because the app has not read what came), or the answer is 408 and the connection is closed;
  the app's receive() sees the client gone, so it answers nobody and logs nothing;
- the body's bytes on the wire, framing and chunk extensions included: past MAX_BODY_BYTES (twice
  the largest body an app accepts) 413 and the connection is closed. Content-Length bodies are
  refused by the apps themselves as soon as the head declares too much; this bounds what no app
  sees (an endless chunk extension, a body an endpoint never reads);
- a request answered before its body has arrived is answered with `Connection: close` and the
  connection is closed after the answer: the rest of the body is never read (uvicorn would read
  and discard gigabytes behind an early 413, and after a 100-continue the client's next request
  would be taken for the body);
- pipelining: once a request has arrived whole and its answer is pending, nothing more is parsed
  until the answer is out (at most FEED_SLICE bytes are parsed past it), and reading stops;
  uvicorn queued every pipelined request of every read (resuming reads after each answer):
  16 MiB of pipelined GETs from clients that read no answer cost it 150-250 MiB;
- the answer's time: a response the client does not take (the write buffer stays above its high
  mark) for `send_timeout` seconds, or a closing connection whose last bytes are not taken within
  it, is aborted: a client that never reads cannot hold a connection (and its descriptor) forever;
- the connections: past `max_connections` open in this process, the connection that has waited
  longest for its client (a head or a body still to come, an idle keep-alive) is closed to make
  room (a body cut short gets 503), so idle and slow connections cannot keep real requests out;
  only when every connection is busy with a request is the new one answered 503 and closed at
  once, before it sends anything, so the process never runs out of file descriptors (where accept
  would fail with EMFILE and every client would wait);
- shutdown: a body still coming is answered 503 at once (uvicorn cancels its request after the
  graceful timeout: a 500 and a traceback);
- quiet: a malformed request is 400 in the apps' format, an Upgrade header is ignored, and
  neither is logged (uvicorn writes one warning per malformed request and two per Upgrade, lines
  anyone could have written by the thousand a second).

`LimitedConfig` carries the `Limits` to each worker (uvicorn pickles the config into them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import weakref
from dataclasses import dataclass
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

PROTOCOL = "serving.limits:LimitedHttpToolsProtocol"  # uvicorn's --http value
MAX_HEAD_BYTES = 16 * 1024  # request line and headers together
MAX_HEADERS = 100
MAX_BODY_BYTES = 2 * 1024 * 1024  # on the wire: the proxy accepts 1 MiB, the other bodies less
HEAD_END = b"\r\n\r\n"
HEADER_TIMEOUT = 10.0  # seconds to send a whole head
BODY_TIMEOUT = 30.0  # seconds to send a whole body, from the head's end
SEND_TIMEOUT = 30.0  # seconds a client may leave a response untaken
MAX_CONNECTIONS = 1024  # per process, when nothing else is said
TOO_LARGE = "payload_too_large"  # the error code of a 413, when the app's is not said
FEED_SLICE = 1024  # bytes handed to the parser at a time (see _feed)
NO_LINGER = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() resets


@dataclass(frozen=True, kw_only=True)
class Limits:
    """The limits that can be tuned; the sizes are fixed."""

    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    send_timeout: float = SEND_TIMEOUT
    max_connections: int = MAX_CONNECTIONS


class LimitedConfig(Config):
    """A uvicorn Config that also carries our `Limits`, and the app's own error code for a body
    too large (the server's 413 reads like the app's)."""

    def __init__(
        self, app: Any, *, limits: Limits, too_large: str = TOO_LARGE, **options: Any
    ) -> None:
        super().__init__(app, http=LimitedHttpToolsProtocol, **options)
        self.limits = limits
        self.too_large = too_large


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


class WaitingRoom:
    """A process's connections that wait for their client (a head or a body still to come),
    the longest-waiting first: the ones to close when a new connection needs room."""

    def __init__(self) -> None:
        self._waiting: dict[LimitedHttpToolsProtocol, None] = {}  # in the order they began

    def enter(self, connection: LimitedHttpToolsProtocol) -> None:
        self._waiting.pop(connection, None)
        self._waiting[connection] = None

    def leave(self, connection: LimitedHttpToolsProtocol) -> None:
        self._waiting.pop(connection, None)

    def longest(self) -> LimitedHttpToolsProtocol | None:
        return next(iter(self._waiting), None)

    def __len__(self) -> int:
        return len(self._waiting)


# one room per server (so per worker process); a server's state outlives its connections
_ROOMS: weakref.WeakKeyDictionary[ServerState, WaitingRoom] = weakref.WeakKeyDictionary()


def waiting_room(server_state: ServerState) -> WaitingRoom:
    room = _ROOMS.get(server_state)
    if room is None:
        room = _ROOMS[server_state] = WaitingRoom()
    return room


class HoldingFlowControl(FlowControl):
    """uvicorn's flow control, except that reading stays paused while the protocol holds bytes
    back from the parser (uvicorn resumes reading at every receive() and every answer)."""

    def __init__(self, transport: asyncio.Transport, protocol: LimitedHttpToolsProtocol) -> None:
        super().__init__(transport)
        self._protocol = protocol

    def resume_reading(self) -> None:
        if self.read_paused and not self._protocol.holding():
            super().resume_reading()


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
        if isinstance(config, LimitedConfig):
            self._limits, self._too_large = config.limits, config.too_large
        else:
            self._limits, self._too_large = Limits(), TOO_LARGE
        self._room = waiting_room(server_state)
        self._refused = False  # nothing more is read from this connection
        self._shutting_down = False
        # the request being read: in its head (or between requests), else in its body
        self._in_head = True
        self._meter = HeadMeter()
        self._fields = 0  # the head's fields and bytes, as the parser reports them
        self._field_bytes = 0
        self._head_ended = 0.0  # the loop's time at the end of the head
        self._body_bytes = 0
        self._keep_alive_after_body = False
        # bytes read but not parsed while a complete request's answer is pending
        self._held: bytes | memoryview = b""
        self._deferred = b""  # the refusal of a pipelined request, sent after the answers before it
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._send_timer: asyncio.TimerHandle | None = None

    # the connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.flow = HoldingFlowControl(transport, self)
        # this connection is counted already: make room, or refuse it before it costs more
        if len(self.connections) > self._limits.max_connections:
            longest = self._room.longest()
            if longest is None:
                self._refuse(503, "temporarily_unavailable", "too many connections, retry shortly")
                return
            longest.make_room()
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._room.leave(self)
        for timer in (self._head_timer, self._body_timer, self._send_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = self._send_timer = None
        super().connection_lost(exc)

    def make_room(self) -> None:
        """Closed for a new connection: a waiting head is dropped, a body cut short is 503."""
        if self._body_pending():
            self._refuse_body(503, "temporarily_unavailable", "too many connections, retry shortly")
        else:
            self._hang_up()

    def shutdown(self) -> None:
        self._shutting_down = True
        if self._body_pending():
            # answered now, so the app sees the client gone instead of being cancelled mid-body
            self._refuse_body(503, "temporarily_unavailable", "the server is shutting down")
            return
        super().shutdown()
        self._abort_if_untaken()

    def timeout_keep_alive_handler(self) -> None:
        self._hang_up()

    # what the client sends

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._held:  # not expected: reading is paused while bytes are held
            self._held = bytes(self._held) + data
            self.flow.pause_reading()
            return
        self._feed(data)

    def _feed(self, data: bytes | memoryview) -> None:
        """Parse `data` FEED_SLICE bytes at a time, each counted first (head or body), and hold
        the rest once a complete request's answer is pending: the parser would otherwise queue
        every pipelined request in `data` (a read is up to 256 KiB: thousands of requests)."""
        view = memoryview(data) if len(data) > FEED_SLICE else data  # one piece: no copy
        start = 0
        while start < len(view):
            if self._answer_pending():
                self._held = view[start:]
                self.flow.pause_reading()
                break
            piece = view[start : start + FEED_SLICE]
            start += len(piece)
            if self._in_head:
                if not self._meter.add(bytes(piece)):  # bytes of bytes is the same object
                    self._refuse_head()
                    return
            else:
                self._body_bytes += len(piece)
                if self._body_bytes > MAX_BODY_BYTES:
                    description = f"the request body is limited to {MAX_BODY_BYTES} bytes"
                    self._refuse_body(413, self._too_large, description)
                    return
            self._parse(piece)
            if self._refused or self.transport.is_closing():
                return
        if not self._in_head and self._body_timer is None:
            when = self._head_ended + self._limits.body_timeout
            self._body_timer = self.loop.call_at(when, self._body_timed_out)

    def _parse(self, piece: bytes | memoryview) -> None:
        """uvicorn's data_received, but quiet: it logs a warning for each malformed request and
        two for each Upgrade header, lines anyone can have written by the thousand a second."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserUpgrade:
            pass  # neither app has a WebSocket: the request is served as any other
        except httptools.HttpParserError:
            self.logger.debug("invalid HTTP request refused")
            self._refuse(400, "invalid_request", "the request is not valid HTTP/1.1")

    def _answer_pending(self) -> bool:
        """A request has arrived whole and its answer is not complete yet."""
        return self._in_head and self.cycle is not None and not self.cycle.response_complete

    def holding(self) -> bool:
        return bool(self._held)

    def _release_held(self) -> None:
        data, self._held = self._held, b""
        if not data or self._refused or self.transport.is_closing():
            return
        self._feed(data)
        if not self._held:
            self.flow.resume_reading()

    # the parser's callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        self._fields += 1
        self._field_bytes += len(name) + len(value) + 4  # ": " and CRLF
        if self._fields > MAX_HEADERS or self._field_bytes > MAX_HEAD_BYTES:
            self._refuse_head()
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._in_head = False
        self._head_ended = self.loop.time()
        self._body_bytes = 0
        self._disarm_head_timer()
        super().on_headers_complete()
        # answered before its body is in, a request is answered with Connection: close (uvicorn
        # reads keep_alive when the answer starts); on_message_complete gives it back
        self._keep_alive_after_body = self.cycle.keep_alive
        self.cycle.keep_alive = False

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._in_head, self._meter = True, HeadMeter()
        self._fields = self._field_bytes = 0
        self._room.leave(self)
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        if not self.cycle.response_started and not self._shutting_down:
            self.cycle.keep_alive = self._keep_alive_after_body
        super().on_message_complete()

    def on_response_complete(self) -> None:
        # with no pipelined request waiting, the connection now waits for a head: time it
        waiting = not self.pipeline
        super().on_response_complete()
        if self.transport.is_closing():
            self._abort_if_untaken()
            return
        if self._deferred and self.cycle.response_complete:
            # the refusal of a pipelined request, now that every answer before it is out
            self.transport.write(self._deferred)
            self._hang_up()
            return
        if self._refused:
            return
        if waiting:
            self._await_head()
        if self._held and not self._answer_pending():
            self.loop.call_soon(self._release_held)

    # what the server sends

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(self._limits.send_timeout, self._abort)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        self._abort_if_untaken()  # the client took some: a closing connection starts again

    def _abort_if_untaken(self) -> None:
        """A closing connection with bytes its client has not taken: send_timeout to take
        them (the event loop would wait for ever)."""
        closing = self.transport.is_closing()
        if closing and self.transport.get_write_buffer_size() and self._send_timer is None:
            self._send_timer = self.loop.call_later(self._limits.send_timeout, self._abort)

    def _abort(self) -> None:
        """Reset the connection: with no linger, the kernel drops what it still holds for the
        client too (a plain close would keep megabytes queued for a reader that never comes)."""
        self._send_timer = None
        self._refused = True
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, NO_LINGER)
        self.transport.abort()

    # the deadlines

    def _await_head(self) -> None:
        if self.transport.is_closing():
            return
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self._limits.header_timeout, self._head_timed_out)
        self._room.enter(self)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        self._hang_up()

    def _body_pending(self) -> bool:
        """A request's body is still to come, and nothing has been answered to it."""
        return not self._in_head and self.cycle is not None and not self.cycle.response_started

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self._refused or self._in_head or self.transport.is_closing():
            return
        if self.cycle.response_started:
            return  # answered already: the connection closes after the answer
        if self.flow.read_paused:
            # the server holds the body back (the app has not read what came): not the client
            when = self.loop.time() + self._limits.body_timeout
            self._body_timer = self.loop.call_at(when, self._body_timed_out)
            return
        description = f"the request body did not arrive within {self._limits.body_timeout:g} s"
        self._refuse_body(408, "request_timeout", description)

    # refusals

    def _refuse_head(self) -> None:
        self._refuse(
            431,
            "request_header_fields_too_large",
            f"request headers are limited to {MAX_HEAD_BYTES} bytes and {MAX_HEADERS} fields",
        )

    def _refuse_body(self, status: int, error: str, description: str) -> None:
        """Refuse the request whose body is being read: its app sees the client gone (its
        receive() returns a disconnect, what it sends goes nowhere)."""
        cycle = self.cycle
        cycle.disconnected = True
        cycle.message_event.set()
        self._refused = True
        # answered only where that is the next answer the client reads (not behind a pipelined
        # request's, nor in the middle of its own)
        if not self.pipeline and not cycle.response_started:
            self.transport.write(_error_answer(status, error, description))
        self._hang_up()

    def _refuse(self, status: int, error: str, description: str) -> None:
        """Refuse a request the app has not seen, and close: nothing more is parsed. One that
        came pipelined behind requests still being answered is answered after them."""
        self._refused = True
        earlier = self.cycle
        if earlier is not None and not earlier.response_complete:
            if not earlier.disconnected:
                self._deferred = _error_answer(status, error, description)
                self._room.leave(self)
                self._disarm_head_timer()
                return
        else:
            self.transport.write(_error_answer(status, error, description))
        self._hang_up()

    def _hang_up(self) -> None:
        self._room.leave(self)
        self._disarm_head_timer()
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        if not self.transport.is_closing():
            self.transport.close()
        self._abort_if_untaken()


def _error_answer(status: int, error: str, description: str) -> bytes:
    """A whole response in the apps' error format, closing the connection."""
    body = json.dumps({"error": error, "error_description": description}).encode()
    return b"".join(
        [
            STATUS_LINE[status],
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )
