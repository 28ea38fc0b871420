"""Public documents: the JWKS, the authorization server metadata, liveness and readiness."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.errors import StoreUnavailable
from bff.security.keys import KeyRing
from contract.tokens import JWKS_PATH, SCOPES

Probe = Callable[[], Awaitable[object]]


@dataclass(frozen=True, kw_only=True)
class WellKnownEndpoints:
    keys: KeyRing
    issuer: str
    jwks_max_age: int
    probes: tuple[Probe, ...]  # each raises StoreUnavailable when its store is down

    def routes(self) -> list[Route]:
        return [
            Route(JWKS_PATH, self.jwks, methods=["GET"]),
            Route("/.well-known/oauth-authorization-server", self.metadata, methods=["GET"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
        ]

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(
            self.keys.jwks(), headers={"Cache-Control": f"public, max-age={self.jwks_max_age}"}
        )

    async def metadata(self, request: Request) -> Response:
        """RFC 8414 authorization server metadata."""
        return JSONResponse(
            {
                "issuer": self.issuer,
                "jwks_uri": f"{self.issuer}{JWKS_PATH}",
                "token_endpoint": f"{self.issuer}/oauth/token",
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
            for probe in self.probes:
                await probe()
        except StoreUnavailable:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})
