"""pydantic or msgspec for the API's bodies: the numbers behind the choice (api/schemas.py).

Times what POST /notes does with a body, per call, with no I/O: decode and validate it, build the
note, encode the response; once for a valid body (201) and once for an invalid one (422 naming
every wrong field). The pydantic side is the API's own code; the msgspec side states the same
rules in msgspec, and both sides are first checked to give the same answers.

Both sides parse with the standard library first, as the API must: neither library refuses
duplicate keys (both keep the last), and two parsers disagreeing on which one wins is how
request smuggling starts. The last table shows what each library costs on its own.

    .venv/bin/python bench/schema_choice.py
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import tempfile
import time
import timeit
from collections.abc import AsyncIterator, Callable
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import httpx
import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from starlette.responses import JSONResponse, Response
from starlette.types import Message as AsgiMessage
from starlette.types import Scope

from api.app import create_app, error_response
from api.errors import InvalidFields
from api.notes import Note
from api.notes_endpoints import NEW_NOTE
from api.schemas import PATTERN_PROBLEMS
from api.settings import Settings
from api.validation import parse_object
from contract.revocation import Message

VALID = json.dumps({"title": "Groceries", "body": "milk\neggs\nbread\n" * 8}).encode()
INVALID = json.dumps({"title": 5, "body": None, "owner": "u_bob"}).encode()
CONTROL = json.dumps({"title": "a\u0000b", "body": "\u001b[2J"}).encode()  # answers checked only
HEADERS = {"Cache-Control": "no-store"}


def stored(title: str, body: str) -> Note:
    # what the store hands back: the same for both sides
    return Note(
        id=secrets.token_urlsafe(12), owner="u", title=title, body=body, created_at=1, updated_at=1
    )


# --- pydantic: the API's own path (api.validation, api.notes_endpoints) ----------------------


def with_pydantic(raw: bytes) -> Response:
    try:
        new = NEW_NOTE.validate(parse_object(raw))
    except InvalidFields as exc:
        return error_response(exc.status, exc.code, exc.description, fields=exc.fields)
    note = stored(new["title"], new.get("body", ""))
    return JSONResponse(note.public(), status_code=201, headers=HEADERS)


# --- msgspec: the same rules --------------------------------------------------------------------

# msgspec matches with Python's re.search, whose $ also matches before a final newline: \Z
TITLE = r"\A[^\x00-\x1f\x7f-\x9f]*\Z"
TEXT = r"\A[^\x00-\x08\x0b\x0c\x0e-\x1f]*\Z"
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=TITLE)]
Text = Annotated[str, msgspec.Meta(min_length=0, max_length=10_000, pattern=TEXT)]
RULES = {
    "title": "must be a string of 1 to 200 characters",
    "body": "must be a string of 0 to 10000 characters",
}
CONTROLS = dict(zip(RULES, PATTERN_PROBLEMS.values(), strict=True))


class NewNote(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    body: Text = ""


class PublicNote(msgspec.Struct):
    id: str
    title: str
    body: str
    created_at: int
    updated_at: int


FIELDS = {field.encode_name: field for field in msgspec.structs.fields(NewNote)}
ENCODER = msgspec.json.Encoder()


def with_msgspec(raw: bytes) -> Response:
    try:
        data = parse_object(raw)
        new = msgspec.convert(data, NewNote)
    except InvalidFields as exc:
        return error_response(exc.status, exc.code, exc.description, fields=exc.fields)
    except msgspec.ValidationError:
        # msgspec stops at the first error: a second pass names every field, as the API must
        fields = msgspec_problems(data)
        return error_response(422, "invalid_request", "some fields are invalid", fields=fields)
    note = stored(new.title, new.body)
    public = PublicNote(note.id, note.title, note.body, note.created_at, note.updated_at)
    return Response(ENCODER.encode(public), 201, HEADERS, media_type="application/json")


def msgspec_problems(data: dict[str, object]) -> dict[str, str]:
    problems = {name: "unknown field" for name in data if name not in FIELDS}
    for name, field in FIELDS.items():
        if name not in data:
            if field.required:
                problems[name] = "is required"
            continue
        try:
            text = msgspec.convert(data[name], field.type)
        except msgspec.ValidationError as exc:
            problems[name] = CONTROLS[name] if "matching regex" in str(exc) else RULES[name]
            continue
        if not is_encodable(text):  # from a Python dict, msgspec lets lone surrogates through
            problems[name] = "must be valid Unicode text (no lone surrogates)"
    return problems


def is_encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


# --- the libraries alone: from bytes, no duplicate-key check -----------------------------------

MSGSPEC_DECODER = msgspec.json.Decoder(NewNote)


def pydantic_alone(raw: bytes) -> object:
    return NEW_NOTE.adapter.validate_json(raw)


def msgspec_alone(raw: bytes) -> object:
    return MSGSPEC_DECODER.decode(raw)


# --- for scale: one whole POST /notes, through the API's ASGI app, SQLite included ----------


class QuietFeed:
    async def messages(self, *, last_event_id: str | None) -> AsyncIterator[Message]:
        yield Message(type="ready")
        await asyncio.Event().wait()


async def whole_request(calls: int = 1000) -> float:
    """Microseconds per POST /notes with the valid body (the best of 3 runs of `calls`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k", "alg": "ES256"}
    jwks = httpx.MockTransport(lambda request: httpx.Response(200, json={"keys": [jwk]}))
    settings = Settings(var_dir=Path(tempfile.mkdtemp(prefix="schema-choice-")))
    app = create_app(settings, jwks_transport=jwks, revocation_source=QuietFeed())
    now = int(time.time())
    claims = {"iss": settings.issuer, "aud": settings.audience, "sub": "u", "iat": now}
    claims |= {"exp": now + 300, "jti": "j", "client_id": "bench", "scope": "notes:write"}
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k", "typ": "at+jwt"})
    headers = [
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
    ]
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/notes",
        "headers": headers,
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("127.0.0.1", 8001),
    }

    async def receive() -> AsgiMessage:
        return {"type": "http.request", "body": VALID, "more_body": False}

    async def send(message: AsgiMessage) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 201, message

    best = float("inf")
    async with app.router.lifespan_context(app):
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(calls):
                await app(dict(scope), receive, send)
            best = min(best, (time.perf_counter() - start) / calls * 1e6)
    return best


# --- timing -------------------------------------------------------------------------------------


def per_call(cases: dict[str, Callable[[], object]], rounds: int = 15) -> dict[str, float]:
    """Microseconds per call of each case: the best of `rounds` runs of about 0.1 s each, the
    cases taking turns, so that a busy moment of the machine cannot favour one of them."""
    timers = {name: timeit.Timer(case) for name, case in cases.items()}
    numbers = {name: max(1, timer.autorange()[0] // 2) for name, timer in timers.items()}
    best = dict.fromkeys(cases, float("inf"))
    for _ in range(rounds):
        for name, timer in timers.items():
            best[name] = min(best[name], timer.timeit(numbers[name]) / numbers[name] * 1e6)
    return best


CASES = ("valid", "invalid", "alone")


def same_answers() -> None:
    for raw in (VALID, INVALID, CONTROL):
        a, b = with_pydantic(raw), with_msgspec(raw)
        assert a.status_code == b.status_code, (a.status_code, b.status_code)
        left, right = json.loads(bytes(a.body)), json.loads(bytes(b.body))
        assert left.keys() == right.keys() and left.get("fields") == right.get("fields"), raw


def main() -> None:
    same_answers()
    cost = per_call(
        {
            "pydantic valid": lambda: with_pydantic(VALID),
            "pydantic invalid": lambda: with_pydantic(INVALID),
            "pydantic alone": lambda: pydantic_alone(VALID),
            "msgspec valid": lambda: with_msgspec(VALID),
            "msgspec invalid": lambda: with_msgspec(INVALID),
            "msgspec alone": lambda: msgspec_alone(VALID),
            "parse": lambda: parse_object(VALID),
        }
    )
    whole = asyncio.run(whole_request())
    print(f"POST /notes without I/O, µs per call (Python {sys.version.split()[0]})\n")
    print(f"{'library':<22}{'valid (201)':>12}{'invalid (422)':>15}{'alone':>9}")
    for name in ("pydantic", "msgspec"):
        valid, invalid, alone = (cost[f"{name} {case}"] for case in CASES)
        print(f"{name + ' ' + version(name):<22}{valid:>12.2f}{invalid:>15.2f}{alone:>9.2f}")
    valid, invalid, alone = (cost[f"msgspec {c}"] / cost[f"pydantic {c}"] for c in CASES)
    print(f"{'msgspec / pydantic':<22}{valid:>11.2f}×{invalid:>14.2f}×{alone:>8.2f}×")
    print(f"\nof which the standard-library parse both sides share: {cost['parse']:.2f} µs")
    print(f"a whole POST /notes through the API's ASGI app (token cached, SQLite): {whole:.0f} µs")
    print("alone: the library's own decode and validation of the valid body, from bytes")


if __name__ == "__main__":
    main()
