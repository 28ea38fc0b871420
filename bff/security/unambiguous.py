"""Refuse ambiguous requests: a value the security checks read must be sent once.

When a cookie, a header or a parameter comes twice, two parsers along the way (a proxy, a WAF,
this app) may each pick a different one, and a check passes on a value that is not the one used.
So the request is refused (400), never settled by picking the first or the last.
"""

from __future__ import annotations

from starlette.requests import Request

from bff.errors import BadRequest


def one_header(request: Request, name: str) -> str | None:
    values = request.headers.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"the {name} header was sent more than once")
    return values[0] if values else None


def one_cookie(request: Request, name: str) -> str | None:
    """The cookie's value across every Cookie header (HTTP/2 may split them), parsed as Starlette
    does; None when absent."""
    values = [
        value.strip()
        for header in request.headers.getlist("cookie")
        for key, _, value in (chunk.partition("=") for chunk in header.split(";"))
        if key.strip() == name
    ]
    if len(values) > 1:
        raise BadRequest(f"the {name} cookie was sent more than once")
    return values[0] if values else None


def one_param(request: Request, name: str) -> str | None:
    if not request.scope.get("query_string"):
        return None  # no query at all: nothing to parse
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise BadRequest(f"the {name} parameter was sent more than once")
    return values[0] if values else None
