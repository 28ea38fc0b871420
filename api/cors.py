"""CORS for the BFF's origin only; a refused preflight answers in the API's error format.

A request without an `Origin` header (the BFF's proxy, a CLI, any server-side client) is not a
CORS request: Starlette would only add `Vary: Origin` to its answer, which `vary_on_origin` does
on the raw headers (api/headers.py uses it), with no header parsing.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

ORIGIN = b"origin"
VARY = b"vary"
RawHeaders = list[tuple[bytes, bytes]]


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with its plain-text 400 for a refused preflight turned into the
    documented JSON error (the CORS headers themselves are Starlette's)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = bytes(response.body).decode(errors="replace")
        body = {"error": "invalid_request", "error_description": refused.lower()}
        headers = {k: v for k, v in response.headers.items() if k.startswith("access-control-")}
        return JSONResponse(
            body, status_code=response.status_code, headers={**headers, "Cache-Control": "no-store"}
        )


def is_cors(scope: Scope) -> bool:
    """Whether the request names an origin: only then has CORS anything to decide."""
    return any(name == ORIGIN for name, _ in scope["headers"])


def vary_on_origin(raw: RawHeaders) -> RawHeaders:
    """What Starlette's CORS does to an answer without an Origin: `Origin` added to its Vary (the
    answer may differ for a request that names one), as one Vary line, earlier values first."""
    varies = [value for name, value in raw if name == VARY]
    if not varies:
        return [*raw, (VARY, b"Origin")]
    kept = [(name, value) for name, value in raw if name != VARY]
    return [*kept, (VARY, b", ".join([*varies, b"Origin"]))]
