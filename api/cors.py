"""CORS for the BFF's origin only; a refused preflight answers in the API's error format."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response


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
