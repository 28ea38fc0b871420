"""The API's routes: /me and health."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.authentication import TokenVerifier


class MeEndpoints:
    def __init__(self, verifier: TokenVerifier) -> None:
        self._verifier = verifier

    async def me(self, request: Request) -> Response:
        principal = await self._verifier.authenticate(request)
        return JSONResponse(
            {
                "sub": principal.sub,
                "role": principal.role,
                "scope": principal.scope,
                "client_id": principal.client_id,
            },
            headers={"Cache-Control": "no-store"},
        )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def routes(verifier: TokenVerifier) -> list[Route]:
    me = MeEndpoints(verifier)
    return [
        Route("/me", me.me, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
