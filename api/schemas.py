"""The API's request and response bodies, declared once (pydantic): the requests are validated
against these types (api.validation) and the OpenAPI document's schemas are generated from them
(api.openapi), so a field rule cannot be written twice and drift.

Bodies are TypedDicts, plain dicts on the wire and in the code, so a PATCH field that was not
sent is absent rather than None. Every body is closed (unknown fields are refused) and strict
(no coercion: 5 is not a title).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, with_config

# pydantic reads TypedDicts from typing_extensions before Python 3.12
from typing_extensions import TypedDict

CLOSED = ConfigDict(extra="forbid", strict=True)

NOTE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# no C0 control, DEL or C1 control in a title: invisible, and NUL cuts strings short downstream
TITLE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
# a body is multi-line text: tab, newline and carriage return stay; NUL and other C0 controls do not
BODY_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
# what a 422 says of a value its pattern refuses
PATTERN_PROBLEMS = {
    TITLE_PATTERN: "must not contain control characters",
    BODY_PATTERN: "must not contain control characters other than tab, newline and carriage return",
}

NoteId = Annotated[str, Field(pattern=f"^{NOTE_ID.pattern}$")]
Title = Annotated[str, Field(min_length=1, max_length=200, pattern=TITLE_PATTERN)]
Body = Annotated[str, Field(min_length=0, max_length=10_000, pattern=BODY_PATTERN)]
Timestamp = Annotated[int, Field(description="Seconds since the epoch.")]
Count = Annotated[int, Field(ge=0)]


@with_config(CLOSED)
class NewNote(TypedDict):
    """A note may be just a title: its body is then empty."""

    title: Title
    body: NotRequired[Body]


# minProperties is enforced too (api.validation), not only documented
@with_config(ConfigDict(extra="forbid", strict=True, json_schema_extra={"minProperties": 1}))
class NotePatch(TypedDict, total=False):
    """At least one field; the others are kept."""

    title: Title
    body: Body


@with_config(CLOSED)
class Note(TypedDict):
    id: NoteId
    title: Title
    body: Body
    created_at: Timestamp
    updated_at: Timestamp


@with_config(CLOSED)
class NoteList(TypedDict):
    notes: list[Note]


class NoteListQuery(BaseModel):
    """GET /notes' query parameters: given at most once each, in ASCII digits."""

    model_config = CLOSED

    limit: Annotated[int, Field(ge=1, le=100)] = 50
    offset: Annotated[int, Field(ge=0, le=1_000_000_000)] = 0


@with_config(CLOSED)
class Me(TypedDict):
    sub: str
    role: str | None
    scope: Annotated[str, Field(description="Space-separated scopes.")]
    client_id: str


@with_config(CLOSED)
class AdminStats(TypedDict):
    users: Annotated[Count, Field(description="Distinct note owners.")]
    notes: Count


@with_config(CLOSED)
class Error(TypedDict):
    error: Annotated[str, Field(description="A machine-readable code.")]
    error_description: NotRequired[str]
    fields: NotRequired[
        Annotated[
            dict[str, str],
            Field(description="Each offending field or query parameter, with what it must be."),
        ]
    ]


@with_config(CLOSED)
class Health(TypedDict):
    status: Literal["ok"]
