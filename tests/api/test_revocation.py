"""The API's side of revocation: the SSE parser, the list, and failing closed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import anyio
import pytest

from api.errors import InvalidToken, RevocationsUnavailable
from api.revocation import RevocationList, RevocationListener
from bff.clock import FrozenClock
from contract.revocation import Message

pytestmark = pytest.mark.anyio


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


def _revoke(
    kind: str, value: str, *, at: float = 1_800_000_000.0, until: float = 1_800_001_000.0
) -> str:
    return json.dumps({"kind": kind, "value": value, "at": at, "until": until})


def test_list_revokes_by_sid_jti_and_subject_before_a_time() -> None:
    revoked = RevocationList(clock=FrozenClock())
    revoked.apply(_revoke("sid", "s1"))
    revoked.apply(_revoke("jti", "j1"))
    revoked.apply(_revoke("sub", "u1", at=1_800_000_000.0))
    assert revoked.is_revoked(sid="s1", jti="x", sub="u9", iat=0)
    assert revoked.is_revoked(sid=None, jti="j1", sub="u9", iat=0)
    assert revoked.is_revoked(sid=None, jti="x", sub="u1", iat=1_800_000_000)
    assert not revoked.is_revoked(sid=None, jti="x", sub="u1", iat=1_800_000_001)
    assert not revoked.is_revoked(sid="s2", jti="j2", sub="u2", iat=0)


def test_list_ignores_malformed_events_and_forgets_expired_ones() -> None:
    clock = FrozenClock(1_800_000_000.0)
    revoked = RevocationList(clock=clock)
    for bad in (
        "not json",
        "[]",
        '{"kind": "sid"}',
        _revoke("nope", "x"),
        '{"kind":"sid","value":1,"at":1,"until":2}',
    ):
        revoked.apply(bad)
    assert len(revoked) == 0
    revoked.apply(_revoke("sid", "s1", until=1_800_000_100.0))
    clock.advance(100)
    revoked.prune()
    assert len(revoked) == 0


class ScriptedSource:
    """A feed that plays one script per connection and hangs up; after the last script it ends
    (or, with stay_open, stays open). With hold_reconnects, every connection after the first
    waits for `resume` before it plays, so a test can look at the listener while it is down."""

    def __init__(
        self, *scripts: list[Message], stay_open: bool = False, hold_reconnects: bool = False
    ) -> None:
        self.scripts = list(scripts)
        self.stay_open = stay_open
        self.hold_reconnects = hold_reconnects
        self.connections: list[str | None] = []
        self.reconnected = anyio.Event()
        self.resume = anyio.Event()
        self.done = anyio.Event()

    async def messages(self, *, last_event_id: str | None) -> AsyncIterator[Message]:
        self.connections.append(last_event_id)
        if len(self.connections) > 1 and self.hold_reconnects:
            self.reconnected.set()
            await self.resume.wait()
        if self.scripts:
            for message in self.scripts.pop(0):
                yield message
        if not self.scripts:
            self.done.set()
            if self.stay_open:
                await anyio.sleep_forever()


def _listener(source: ScriptedSource, clock: FrozenClock) -> RevocationListener:
    return RevocationListener(
        source=source, revocations=RevocationList(clock=clock), clock=clock, max_lag=1.0
    )


def _check(listener: RevocationListener, sid: str = "s1") -> None:
    listener.check(sid=sid, jti="j", sub="u", iat=1_800_000_000)


async def test_nothing_is_accepted_before_the_feed_is_ready() -> None:
    clock = FrozenClock()
    listener = _listener(ScriptedSource(), clock)
    with pytest.raises(RevocationsUnavailable):
        _check(listener, sid="other")


async def test_revoked_session_is_refused_once_the_feed_has_replayed() -> None:
    clock = FrozenClock()
    source = ScriptedSource(
        [Message(type="revoke", id="1", data=_revoke("sid", "s1")), Message(type="ready")],
        stay_open=True,
    )
    listener = _listener(source, clock)
    async with anyio.create_task_group() as group:
        group.start_soon(listener.run)
        with anyio.fail_after(5):
            await source.done.wait()
        with pytest.raises(InvalidToken):
            _check(listener, sid="s1")
        _check(listener, sid="s2")  # another session is fine
        group.cancel_scope.cancel()


async def test_feed_outage_fails_closed_after_the_lag_and_resumes_from_the_last_id() -> None:
    clock = FrozenClock()
    source = ScriptedSource(
        [Message(type="revoke", id="41", data=_revoke("jti", "j0")), Message(type="ready")],
        [Message(type="ready")],
        stay_open=True,
        hold_reconnects=True,
    )
    listener = _listener(source, clock)
    async with anyio.create_task_group() as group:
        group.start_soon(listener.run)
        with anyio.fail_after(5):
            await source.reconnected.wait()  # up, then the first connection dropped
        _check(listener, sid="s2")  # within the lag: accepted
        clock.advance(1.5)
        with pytest.raises(RevocationsUnavailable):
            _check(listener, sid="s2")
        source.resume.set()
        with anyio.fail_after(5):
            await source.done.wait()
        _check(listener, sid="s2")  # reconnected and replayed: accepted again
        group.cancel_scope.cancel()
    assert source.connections == [None, "41"]


def test_a_revoked_refresh_family_kills_the_tokens_minted_from_it() -> None:
    revoked = RevocationList(clock=FrozenClock())
    revoked.apply(_revoke("family", "f_1"))
    assert revoked.is_revoked(sid=None, jti="x", sub="u", iat=0, family="f_1")
    assert not revoked.is_revoked(sid=None, jti="x", sub="u", iat=0, family="f_2")
    assert not revoked.is_revoked(sid=None, jti="x", sub="u", iat=0)
