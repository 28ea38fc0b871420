"""Revocations pushed by the BFF: the API follows its server-sent event stream and refuses any
token whose session (`sid`), `jti` or subject was revoked, without a call per request.

Fail closed: until the stream has replayed (the `ready` event), and once it has been down for
longer than `max_lag`, tokens cannot be checked against revocations, so none is accepted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import httpx

from api.clock import Clock
from api.errors import InvalidToken, RevocationsUnavailable
from contract.revocation import MalformedEvent, Message, RevocationEvent, parse_sse

log = logging.getLogger("api.revocation")

MAX_ENTRIES = 1_000_000
READ_TIMEOUT = 2.5  # heartbeats come every second: the BFF is gone even if the socket is not
BACKOFF = (0.1, 0.2, 0.5, 1.0, 2.0)


class RevocationSource(Protocol):
    def messages(self, *, last_event_id: str | None) -> AsyncIterator[Message]:
        """The feed's messages from `last_event_id` on; ends or raises when the feed drops."""
        ...


class RevocationList:
    """What has been revoked and is still worth remembering (until the last token it covers
    has expired)."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._revoked: dict[tuple[str, str], tuple[float, float]] = {}

    def __len__(self) -> int:
        return len(self._revoked)

    def apply(self, data: str) -> None:
        try:
            event = RevocationEvent.from_json(data)
        except MalformedEvent:
            log.warning("ignored a malformed revocation event")
            return
        self._revoked[(event.kind, event.value)] = (event.at, event.until)
        if len(self._revoked) > MAX_ENTRIES:
            self.prune()

    def prune(self) -> None:
        now = self._clock.now()
        self._revoked = {k: v for k, v in self._revoked.items() if v[1] > now}

    def is_revoked(
        self, *, sid: str | None, jti: str, sub: str, iat: int, family: str | None = None
    ) -> bool:
        if sid is not None and ("sid", sid) in self._revoked:
            return True
        if family is not None and ("family", family) in self._revoked:
            return True
        if ("jti", jti) in self._revoked:
            return True
        # a subject-wide revocation kills the tokens issued before it
        entry = self._revoked.get(("sub", sub))
        return entry is not None and iat <= entry[0]


class RevocationListener:
    def __init__(
        self,
        *,
        source: RevocationSource,
        revocations: RevocationList,
        clock: Clock,
        max_lag: float,
    ) -> None:
        self._source = source
        self.revocations = revocations
        self._clock = clock
        self._max_lag = max_lag
        self._ready = False
        self._down_since: float | None = None  # None once up; before the first ready: refuse
        self._last_id: str | None = None
        self._became_ready = asyncio.Event()

    @property
    def ready(self) -> bool:
        return self._ready

    async def wait_ready(self, *, timeout: float) -> bool:
        """Wait (bounded) for the first replay; the API still answers 503 until then."""
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            async with asyncio.timeout(timeout):
                await self._became_ready.wait()
        except TimeoutError:
            return False
        return True

    def check(
        self, *, sid: str | None, jti: str, sub: str, iat: int, family: str | None = None
    ) -> None:
        if not self._ready:
            down = self._down_since
            if down is None or self._clock.now() - down > self._max_lag:
                raise RevocationsUnavailable("revocations cannot be checked right now")
        if self.revocations.is_revoked(sid=sid, jti=jti, sub=sub, iat=iat, family=family):
            raise InvalidToken("the token has been revoked")

    async def run(self) -> None:
        attempt = 0
        while True:
            try:
                async for message in self._source.messages(last_event_id=self._last_id):
                    self._handle(message)
                    attempt = 0
            except (httpx.HTTPError, OSError, ValueError) as exc:
                log.warning("revocation feed dropped: %s", type(exc).__name__)
            self._went_down()
            await asyncio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            attempt += 1

    def _handle(self, message: Message) -> None:
        if message.type == "revoke":
            self.revocations.apply(message.data)
            self._last_id = message.id or self._last_id
        elif message.type == "ready":
            self._ready = True
            self._down_since = None
            self.revocations.prune()
            self._became_ready.set()

    def _went_down(self) -> None:
        if self._ready:
            self._down_since = self._clock.now()
        self._ready = False


class SseRevocationSource:
    """The BFF's `GET /internal/revocations` stream, read with httpx."""

    def __init__(self, *, url: str, secret: Callable[[], str], client: httpx.AsyncClient) -> None:
        self._url = url
        self._secret = secret
        self._client = client

    async def messages(self, *, last_event_id: str | None) -> AsyncIterator[Message]:
        headers = {"Authorization": f"Bearer {self._secret()}", "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(5.0, read=READ_TIMEOUT)
        async with self._client.stream(
            "GET", self._url, headers=headers, timeout=timeout, follow_redirects=False
        ) as response:
            if response.status_code != 200:
                raise ValueError(f"revocation feed answered {response.status_code}")
            async for message in parse_sse(response.aiter_lines()):
                yield message
