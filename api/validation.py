"""Request parsing that cannot crash: JSON bodies, text fields and integer query parameters.

Every failure is an HTTPProblem (415, 413 or 422), never a 500: the body is size-capped before it
is parsed, and the parser's own failure modes (bad UTF-8, NaN, duplicate keys, deep nesting,
huge integers) are all refused as invalid requests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request

from api.errors import BadRequest, BodyTooLarge, InvalidFields, UnsupportedMediaType

MAX_BODY_BYTES = 16 * 1024
_DIGITS = re.compile(r"[0-9]{1,10}")


@dataclass(frozen=True, kw_only=True)
class Text:
    min_length: int
    max_length: int

    @property
    def rule(self) -> str:
        return f"must be a string of {self.min_length} to {self.max_length} characters"

    def problem(self, value: object) -> str | None:
        if not isinstance(value, str) or not self.min_length <= len(value) <= self.max_length:
            return self.rule
        if not _is_encodable(value):
            return "must be valid Unicode text (no lone surrogates)"
        return None


async def json_object(request: Request, *, max_bytes: int = MAX_BODY_BYTES) -> dict[str, object]:
    """The request's JSON object body: 415 unless application/json, 413 past max_bytes, else 422."""
    _require_json(request.headers.get("content-type", ""))
    raw = await _read_capped(request, max_bytes)
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse, object_pairs_hook=_unique)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidFields("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidFields("the body must be a JSON object")
    return data


def fields(
    data: Mapping[str, object], spec: Mapping[str, Text], *, partial: bool = False
) -> dict[str, str]:
    """Checks data against spec: every field (or, when partial, at least one), nothing else."""
    problems = {name: "unknown field" for name in data if name not in spec}
    for name, rule in spec.items():
        if name in data:
            problem = rule.problem(data[name])
            if problem:
                problems[name] = problem
        elif not partial:
            problems[name] = "is required"
    if problems:
        raise InvalidFields("some fields are invalid", fields=problems)
    if not data:
        raise InvalidFields(f"give at least one of: {', '.join(spec)}")
    return {name: str(value) for name, value in data.items()}


def only_params(request: Request, allowed: frozenset[str]) -> None:
    """Refuses unknown query parameters, so a typo (`?limt=5`) is an error, not ignored."""
    unknown = {name: "unknown parameter" for name in request.query_params if name not in allowed}
    if unknown:
        raise InvalidFields("unknown query parameters", fields=unknown)


def query_int(request: Request, name: str, *, default: int, low: int, high: int) -> int:
    values = request.query_params.getlist(name)
    if not values:
        return default
    # ASCII digits only: int() would accept "+1", " 1", "1_0" and non-ASCII digits
    if len(values) > 1 or not _DIGITS.fullmatch(values[0]) or not low <= int(values[0]) <= high:
        rule = f"must be an integer from {low} to {high}"
        raise InvalidFields(f"{name} {rule}", fields={name: rule})
    return int(values[0])


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
    return data


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
