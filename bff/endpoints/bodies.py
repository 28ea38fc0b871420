"""Request bodies, read bounded: a size cap counted while streaming, a field cap, strict
encodings, and every field or JSON key at most once (a duplicate is an ambiguity, refused)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.requests import ClientDisconnect, Request

from bff.clock import Deadline
from bff.errors import BadRequest, PayloadTooLarge, RequestTimeout, UnsupportedMediaType

MAX_FIELDS = 32


async def read_body(request: Request, max_bytes: int, *, deadline: Deadline | None = None) -> bytes:
    """The whole body, at most `max_bytes`; with a deadline, RequestTimeout unless the last
    byte has arrived before it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("invalid Content-Length")
        if int(declared) > max_bytes:
            raise PayloadTooLarge(f"the body must not exceed {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    stream = request.stream()
    try:
        while (chunk := await _next_chunk(stream, deadline)) is not None:
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"the body must not exceed {max_bytes} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise BadRequest("the client went away before the body was complete") from None
    return b"".join(chunks)


async def _next_chunk(stream: AsyncIterator[bytes], deadline: Deadline | None) -> bytes | None:
    if deadline is None:
        return await anext(stream, None)
    # each wait gets only what is left of the whole body's time: trickling buys nothing
    with anyio.move_on_after(deadline.remaining()) as wait:
        chunk = await anext(stream, None)
    if wait.cancelled_caught or deadline.passed:
        raise RequestTimeout("the request body did not arrive in time")
    return chunk


async def read_form(request: Request, max_bytes: int) -> dict[str, str]:
    """An urlencoded form, bounded in size and field count; a field sent twice is refused."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("expected application/x-www-form-urlencoded")
    return _parse_urlencoded(await read_body(request, max_bytes))


async def read_params(request: Request, max_bytes: int) -> dict[str, Any]:
    """A small JSON object or urlencoded form; an empty body is an empty dict."""
    body = await read_body(request, max_bytes)
    if not body.strip():
        return {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            value = json.loads(body, object_pairs_hook=_unique_keys)
        except (ValueError, RecursionError):
            raise BadRequest("the body is not valid JSON") from None
        if not isinstance(value, dict):
            raise BadRequest("the body must be a JSON object")
        return value
    if content_type == "application/x-www-form-urlencoded":
        return _parse_urlencoded(body)
    raise UnsupportedMediaType("expected application/json or application/x-www-form-urlencoded")


def _parse_urlencoded(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the form is not valid application/x-www-form-urlencoded") from None
    form = dict(pairs)
    if len(form) != len(pairs):
        raise BadRequest("a form field was sent more than once")
    return form


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise BadRequest("a JSON key was sent more than once")
    return value


def optional_text(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value
