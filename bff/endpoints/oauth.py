"""POST /oauth/token. The grants for separate API consumers come with their own issue; until then
every grant is refused the way RFC 6749 §5.2 says, and `password` for good (RFC 9700 §2.4)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.endpoints.bodies import read_form
from bff.endpoints.responses import NO_STORE

MAX_FORM_BYTES = 4096


class TokenEndpoint:
    def routes(self) -> list[Route]:
        return [Route("/oauth/token", self.token, methods=["POST"])]

    async def token(self, request: Request) -> Response:
        form = await read_form(request, MAX_FORM_BYTES)
        grant = form.get("grant_type", "")
        if not grant:
            return _error("invalid_request", "grant_type is required")
        if grant == "password":
            return _error(
                "unsupported_grant_type",
                "the resource owner password grant is not supported (RFC 9700 section 2.4)",
            )
        return _error("unsupported_grant_type", "this grant type is not supported")


def _error(code: str, description: str) -> Response:
    body = {"error": code, "error_description": description}
    return JSONResponse(body, status_code=400, headers=NO_STORE)
