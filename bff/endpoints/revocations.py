"""GET /internal/revocations: the revocation events as a server-sent event stream.

APIs hold one connection each and learn every revocation within a second, with no call per
request. On connect (or reconnect with Last-Event-ID) the live events are replayed, then an
`event: ready` marks that the API is up to date; comment lines keep the connection visibly alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from bff.clock import Clock
from bff.endpoints.responses import NO_STORE
from bff.errors import FeedUnauthorized, StoreUnavailable
from bff.revocation import RevocationFeed, follow
from contract.revocation import (
    HEARTBEAT_FRAME,
    HEARTBEAT_SECONDS,
    MEDIA_TYPE,
    READY_FRAME,
    RETRY_FRAME,
    REVOCATION_PATH,
    RevocationEvent,
    revoke_frame,
)

QUEUE_SIZE = 10_000
MAX_EVENT_ID = 64
# a stream ends after this long and the API resumes it with Last-Event-ID: a BFF shutting down
# never waits on a stream for ever
MAX_STREAM_SECONDS = 60.0


class RevocationStream:
    def __init__(self, *, feed: RevocationFeed, clock: Clock, secret: str) -> None:
        self._feed = feed
        self._clock = clock
        self._secret = secret.encode()

    def routes(self) -> list[Route]:
        return [Route(REVOCATION_PATH, self.stream, methods=["GET"])]

    async def stream(self, request: Request) -> Response:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        valid = scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), self._secret)
        if not self._secret or not valid:
            raise FeedUnauthorized("a valid feed credential is required")
        after = request.headers.get("last-event-id", "")[:MAX_EVENT_ID] or None
        return StreamingResponse(
            await self.frames(after),
            media_type=MEDIA_TYPE,
            headers={**NO_STORE, "X-Accel-Buffering": "no"},
        )

    async def frames(self, after: str | None) -> AsyncIterator[str]:
        """The stream's text: the replay is read now (a store failure is a 503 before any byte),
        the live part as it is consumed."""
        replay, position = await self._replay(after)
        return self._events(replay, position)

    async def _replay(self, after: str | None) -> tuple[list[RevocationEvent], str | None]:
        events: list[RevocationEvent] = []
        position = after
        while batch := await self._feed.since(position):
            position = batch[-1].id
            now = self._clock.now()
            events.extend(event for event in batch if event.until > now)
        return events, position

    async def _events(
        self, replay: list[RevocationEvent], position: str | None
    ) -> AsyncIterator[str]:
        yield RETRY_FRAME
        for replayed in replay:
            yield revoke_frame(replayed)
        yield READY_FRAME
        queue: asyncio.Queue[RevocationEvent | None] = asyncio.Queue(QUEUE_SIZE)
        pump = asyncio.create_task(self._pump(position, queue))
        loop = asyncio.get_running_loop()
        ends = loop.time() + MAX_STREAM_SECONDS
        try:
            while loop.time() < ends:
                try:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                    async with asyncio.timeout(HEARTBEAT_SECONDS):
                        event = await queue.get()
                except TimeoutError:
                    yield HEARTBEAT_FRAME
                    continue
                if event is None:
                    return  # the feed failed: end the stream, the API reconnects (fail closed)
                yield revoke_frame(event)
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def _pump(
        self, position: str | None, queue: asyncio.Queue[RevocationEvent | None]
    ) -> None:
        try:
            async for event in follow(self._feed, after=position, clock=self._clock):
                await queue.put(event)
        except StoreUnavailable:
            await queue.put(None)
