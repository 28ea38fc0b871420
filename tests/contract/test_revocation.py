"""The wire contract's revocation codec and SSE framing, as both apps use them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from contract.revocation import (
    READY_FRAME,
    RETRY_FRAME,
    MalformedEvent,
    Message,
    RevocationEvent,
    parse_sse,
    revoke_frame,
)

pytestmark = pytest.mark.anyio


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


def _revoke(
    kind: str, value: str, *, at: float = 1_800_000_000.0, until: float = 1_800_001_000.0
) -> str:
    return json.dumps({"kind": kind, "value": value, "at": at, "until": until})


async def test_sse_parser_reads_events_ids_and_skips_heartbeats() -> None:
    stream = _lines(
        "retry: 1000",
        "",
        ": ping",
        "",
        "id: 7",
        "event: revoke",
        f"data: {_revoke('sid', 's1')}",
        "",
        "event: ready",
        "data: {}",
        "",
    )
    messages = [m async for m in parse_sse(stream)]
    assert messages == [
        Message(type="revoke", id="7", data=_revoke("sid", "s1")),
        Message(type="ready", data="{}"),
    ]


async def test_sse_parser_refuses_absurd_lines() -> None:
    with pytest.raises(ValueError):
        _ = [m async for m in parse_sse(_lines("data: " + "x" * 10_000))]


async def test_frames_written_by_one_side_are_read_back_by_the_other() -> None:
    event = RevocationEvent(kind="family", value="f1", at=1.5, until=2.5, id="e.3")
    text = RETRY_FRAME + revoke_frame(event) + READY_FRAME
    messages = [m async for m in parse_sse(_lines(*text.split("\n")[:-1]))]
    assert [m.type for m in messages] == ["revoke", "ready"]
    assert messages[0].id == "e.3"
    assert RevocationEvent.from_json(messages[0].data, id=messages[0].id) == event


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        "[]",
        json.dumps({"kind": "user", "value": "x", "at": 1, "until": 2}),
        json.dumps({"kind": "sid", "value": "", "at": 1, "until": 2}),
        json.dumps({"kind": "sid", "value": 7, "at": 1, "until": 2}),
        json.dumps({"kind": "sid", "value": "x" * 257, "at": 1, "until": 2}),
        json.dumps({"kind": "sid", "value": "x", "at": "1", "until": 2}),
        json.dumps({"kind": "sid", "value": "x", "at": True, "until": 2}),
        json.dumps({"kind": "sid", "value": "x", "at": 1}),
        '{"kind": "sid", "value": "x", "at": 1, "until": Infinity}',
    ],
)
def test_events_outside_the_contract_are_refused(data: str) -> None:
    with pytest.raises(MalformedEvent):
        RevocationEvent.from_json(data)
