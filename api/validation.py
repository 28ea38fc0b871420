"""Request parsing that cannot crash: a JSON body checked against its declared type
(api.schemas), and integer query parameters.

Every failure is an HTTPProblem (400, 413, 415 or 422), never a 500: the body is size-capped while
it is read; the standard library parses it, refusing its own failure modes (bad UTF-8, NaN,
duplicate keys, deep nesting, huge integers); pydantic then validates it, and each of its errors
becomes one named field problem, in the words of that field's declared rule.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails
from starlette.requests import ClientDisconnect, Request

from api.errors import BadRequest, BodyTooLarge, InvalidFields, UnsupportedMediaType
from api.schemas import PATTERN_PROBLEMS

MAX_BODY_BYTES = 16 * 1024
_DIGITS = re.compile(r"[0-9]{1,10}")

BodyT = TypeVar("BodyT", bound=Mapping[str, object])
QueryT = TypeVar("QueryT", bound=BaseModel)
# what a 422 says for these pydantic errors; any other is the field's rule (api.schemas)
PROBLEMS = {
    "missing": "is required",
    "extra_forbidden": "unknown field",
    "string_unicode": "must be valid Unicode text (no lone surrogates)",
}


class BodyValidator(Generic[BodyT]):
    """A request body type of api.schemas: what it accepts, and what its 422s say."""

    def __init__(self, body_type: type[BodyT]) -> None:
        self.adapter = TypeAdapter(body_type)
        schema = self.adapter.json_schema()
        self._properties: dict[str, Any] = schema["properties"]
        self._min_properties: int = schema.get("minProperties", 0)

    def validate(self, data: dict[str, object]) -> BodyT:
        try:
            values = self.adapter.validate_python(data)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            problems = dict(_problem(error, self._properties) for error in errors)
            raise InvalidFields("some fields are invalid", fields=problems) from None
        if len(values) < self._min_properties:
            raise InvalidFields(f"give at least one of: {', '.join(self._properties)}")
        return values


async def json_body(request: Request, validator: BodyValidator[BodyT]) -> BodyT:
    """The request's body as `validator` accepts it: 415 unless application/json (UTF-8), 413
    past MAX_BODY_BYTES, 400 if the client leaves before its end, else 422 naming each problem."""
    _require_json(request.headers.get("content-type", ""))
    return validator.validate(parse_object(await _read_capped(request, MAX_BODY_BYTES)))


def parse_object(raw: bytes) -> dict[str, object]:
    """The JSON object in `raw`, else 422: refuses bad UTF-8, NaN and Infinity, duplicate keys,
    nesting too deep for the parser and integers too long to convert."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse, object_pairs_hook=_unique)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidFields("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidFields("the body must be a JSON object")
    return data


def query(request: Request, model: type[QueryT]) -> QueryT:
    """The query parameters as `model`, whose fields are integers. Unknown names are refused, so
    a typo (`?limt=5`) is an error, not ignored; each value is given at most once, in digits."""
    properties = _properties(model)
    unknown = {name: "unknown parameter" for name in request.query_params if name not in properties}
    if unknown:
        raise InvalidFields("unknown query parameters", fields=unknown)
    given = {name: request.query_params.getlist(name) for name in properties}
    # ASCII digits only: int() would accept "+1", " 1", "1_0" and non-ASCII digits; anything else
    # goes to the strict model as it came, and is refused there
    values = {
        name: int(texts[0]) if len(texts) == 1 and _DIGITS.fullmatch(texts[0]) else texts
        for name, texts in given.items()
        if texts
    }
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        name = str(exc.errors()[0]["loc"][0])
        rule = _rule(properties[name])
        raise InvalidFields(f"{name} {rule}", fields={name: rule}) from None


@functools.cache
def _properties(model: type[BaseModel]) -> dict[str, Any]:
    return dict(model.model_json_schema()["properties"])


def _problem(error: ErrorDetails, properties: Mapping[str, Any]) -> tuple[str, str]:
    name = str(error["loc"][0])
    if error["type"] == "string_pattern_mismatch":
        return name, PATTERN_PROBLEMS[error.get("ctx", {})["pattern"]]
    return name, PROBLEMS.get(error["type"]) or _rule(properties[name])


def _rule(field: Mapping[str, Any]) -> str:
    # every request field is bounded: an integer by its range, a string by its length
    if field["type"] == "integer":
        return f"must be an integer from {field['minimum']} to {field['maximum']}"
    return f"must be a string of {field['minLength']} to {field['maxLength']} characters"


def _require_json(content_type: str) -> None:
    media_type, *params = (part.strip().lower() for part in content_type.split(";"))
    pairs = (param.partition("=") for param in params)
    charsets = [value.strip('" ') for name, _, value in pairs if name.strip() == "charset"]
    if media_type != "application/json" or any(c not in ("utf-8", "utf8") for c in charsets):
        raise UnsupportedMediaType("the body must be application/json (UTF-8)")


async def _read_capped(request: Request, max_bytes: int) -> bytes:
    if _declared_too_large(request.headers.get("content-length", ""), max_bytes):
        raise BodyTooLarge(f"the body must be at most {max_bytes} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            # counted while streaming: a missing or lying Content-Length cannot get past the cap
            if len(body) > max_bytes:
                raise BodyTooLarge(f"the body must be at most {max_bytes} bytes")
    except ClientDisconnect:
        # the client's doing, not a fault of ours: an answer nobody reads, and no traceback
        raise BadRequest("the client went away before the body was complete") from None
    return bytes(body)


def _declared_too_large(content_length: str, max_bytes: int) -> bool:
    digits = content_length.strip().lstrip("0")
    # length first: int() of a huge digit string is slow or refused
    return (
        digits.isascii()
        and digits.isdigit()
        and (len(digits) > len(str(max_bytes)) or int(digits) > max_bytes)
    )


def _refuse(constant: str) -> object:
    raise ValueError(f"{constant} is not JSON")


def _unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # duplicate keys are refused: two parsers could disagree on which one wins
    data = dict(pairs)
    if len(data) != len(pairs):
        raise ValueError("duplicate key")
    for key in data:
        # a lone surrogate has no UTF-8: such a key could not even be named in the answer
        key.encode("utf-8")  # a UnicodeEncodeError is a ValueError
    return data
