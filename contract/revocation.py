"""Revocation events and their server-sent event framing on `GET /internal/revocations`.

An event says that every token carrying `kind`=`value` is dead (for `sub`: those issued at or
before `at`), and stays worth remembering until `until`, when the last such token has expired.
The stream is: `retry:`, the live events replayed as `event: revoke` frames (each with an `id:`
to resume from with Last-Event-ID), one `event: ready`, then new events as they happen and a
comment line as a heartbeat. The feed credential is a shared secret, read from the file
`REVOCATION_SECRET_FILE` in each app's var dir unless it is set in the environment.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final, Literal, cast

Kind = Literal["sid", "jti", "family", "sub"]
KINDS: Final[tuple[Kind, ...]] = ("sid", "jti", "family", "sub")

REVOCATION_PATH: Final = "/internal/revocations"
REVOCATION_SECRET_FILE: Final = "revocation_secret"

MEDIA_TYPE: Final = "text/event-stream"
HEARTBEAT_SECONDS: Final = 1.0
RETRY_FRAME: Final = "retry: 1000\n\n"
READY_FRAME: Final = "event: ready\ndata: {}\n\n"
HEARTBEAT_FRAME: Final = ": ping\n\n"
MAX_LINE: Final = 4096  # a follower refuses longer lines: no event comes near it
MAX_VALUE_LENGTH: Final = 256


class MalformedEvent(ValueError):
    """An event's JSON does not follow the contract."""


@dataclass(frozen=True, kw_only=True)
class RevocationEvent:
    """Tokens carrying `kind`=`value` are dead. `until` is when the last such token expires: after
    it the event no longer matters and may be forgotten. `at` is when it was revoked (for `sub`:
    tokens issued at or before `at` are dead). `id` is the feed's position, filled by the feed."""

    kind: Kind
    value: str
    at: float
    until: float
    id: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {"kind": self.kind, "value": self.value, "at": self.at, "until": self.until},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, data: str, *, id: str = "") -> RevocationEvent:
        """Decode one event's data; MalformedEvent for anything the contract does not allow."""
        try:
            fields = json.loads(data)
        except (ValueError, RecursionError):
            raise MalformedEvent("not JSON") from None
        if not isinstance(fields, dict):
            raise MalformedEvent("not a JSON object")
        kind, value = fields.get("kind"), fields.get("value")
        if kind not in KINDS:
            raise MalformedEvent("unknown kind")
        if not isinstance(value, str) or not 0 < len(value) <= MAX_VALUE_LENGTH:
            raise MalformedEvent("value must be a short non-empty string")
        return cls(
            kind=cast(Kind, kind),
            value=value,
            at=_time(fields.get("at")),
            until=_time(fields.get("until")),
            id=id,
        )


def _time(value: object) -> float:
    # JSON numbers only (bool is an int in Python), finite
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedEvent("at and until must be numbers")
    return float(value)


def revoke_frame(event: RevocationEvent) -> str:
    return f"id: {event.id}\nevent: revoke\ndata: {event.to_json()}\n\n"


@dataclass(frozen=True)
class Message:
    """One message of the stream: `revoke` with its event's data, or `ready` after the replay."""

    type: str
    id: str = ""
    data: str = ""


async def parse_sse(lines: AsyncIterator[str]) -> AsyncIterator[Message]:
    """The messages of a server-sent event stream, from its lines (without line endings)."""
    kind, event_id, data = "message", "", list[str]()
    async for line in lines:
        if len(line) > MAX_LINE:
            raise ValueError("revocation feed line too long")
        if not line:
            if data or kind == "ready":
                yield Message(type=kind, id=event_id, data="\n".join(data))
            kind, event_id, data = "message", "", list[str]()
            continue
        if line.startswith(":"):
            continue  # heartbeat
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            kind = value
        elif field == "id":
            event_id = value
        elif field == "data":
            data.append(value)
