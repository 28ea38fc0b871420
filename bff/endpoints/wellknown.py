"""Public documents: the JWKS, liveness and readiness."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.errors import StoreUnavailable
from bff.services import Services
from contract.tokens import JWKS_PATH, SCOPES


class WellKnownEndpoints:
    def __init__(self, services: Services) -> None:
        self.s = services

    async def jwks(self, request: Request) -> Response:
        max_age = self.s.settings.jwks_cache_seconds
        return JSONResponse(
            self.s.keys.jwks(),
            headers={"Cache-Control": f"public, max-age={max_age}"},
        )

    async def metadata(self, request: Request) -> Response:
        """RFC 8414 authorization server metadata."""
        issuer = self.s.settings.issuer
        return JSONResponse(
            {
                "issuer": issuer,
                "jwks_uri": f"{issuer}{JWKS_PATH}",
                "token_endpoint": f"{issuer}/oauth/token",
                "scopes_supported": list(SCOPES),
                # only what is served today: the grants arrive with the OAuth issue
                "response_types_supported": [],
                "grant_types_supported": [],
            },
            headers={"Cache-Control": "public, max-age=3600"},
        )

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        try:
            await self.s.sessions.store.ping()
            await self.s.users.by_id("readiness-probe")
        except StoreUnavailable:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})


def routes(services: Services) -> list[Route]:
    endpoints = WellKnownEndpoints(services)
    return [
        Route(JWKS_PATH, endpoints.jwks, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", endpoints.metadata, methods=["GET"]),
        Route("/healthz", endpoints.healthz, methods=["GET"]),
        Route("/readyz", endpoints.readyz, methods=["GET"]),
    ]
