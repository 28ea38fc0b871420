"""The API's routes: /me, health, and the notes, admin and OpenAPI routes of their modules."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import notes_endpoints, schemas
from api.authentication import TokenVerifier
from api.notes import NoteStore
from api.openapi import OpenApiEndpoint
from api.responses import FastJSONResponse

HEALTHY = b'{"status":"ok"}'  # what JSONResponse(schemas.Health) sends, encoded once
NO_STORE = {"Cache-Control": "no-store"}


class MeEndpoints:
    def __init__(self, verifier: TokenVerifier) -> None:
        self._verifier = verifier

    async def me(self, request: Request) -> Response:
        principal = await self._verifier.authenticate(request)
        me: schemas.Me = {
            "sub": principal.sub,
            "role": principal.role,
            "scope": principal.scope,
            "client_id": principal.client_id,
        }
        return FastJSONResponse(me, headers=NO_STORE)


async def healthz(request: Request) -> Response:
    return Response(HEALTHY, media_type=JSONResponse.media_type)


def routes(verifier: TokenVerifier, notes: NoteStore, *, public_url: str) -> list[Route]:
    me = MeEndpoints(verifier)
    openapi = OpenApiEndpoint(server_url=public_url)
    return [
        Route("/me", me.me, methods=["GET"]),
        *notes_endpoints.routes(verifier, notes),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi.openapi, methods=["GET"]),
    ]
