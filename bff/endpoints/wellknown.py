"""Public documents: the JWKS, the authorization server metadata, liveness and readiness."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.errors import StoreUnavailable
from bff.oauth.clients import GRANTS
from bff.security.keys import KeyRing
from contract.tokens import JWKS_PATH, SCOPES

Probe = Callable[[], Awaitable[object]]
HEALTHY = b'{"status":"ok"}'  # what JSONResponse({"status": "ok"}) sends, encoded once


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
        """RFC 8414 authorization server metadata: everything that is served, nothing else."""
        issuer = self.issuer
        auth_methods = ["client_secret_basic", "client_secret_post", "none"]
        return JSONResponse(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/oauth/authorize",
                "token_endpoint": f"{issuer}/oauth/token",
                "device_authorization_endpoint": f"{issuer}/oauth/device_authorization",
                "revocation_endpoint": f"{issuer}/oauth/revoke",
                "introspection_endpoint": f"{issuer}/oauth/introspect",
                "jwks_uri": f"{issuer}{JWKS_PATH}",
                "scopes_supported": list(SCOPES),
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": list(GRANTS),
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": auth_methods,
                "revocation_endpoint_auth_methods_supported": auth_methods,
                "introspection_endpoint_auth_methods_supported": auth_methods[:2],
                "authorization_response_iss_parameter_supported": True,
            },
            headers={"Cache-Control": "public, max-age=3600"},
        )

    async def healthz(self, request: Request) -> Response:
        return Response(HEALTHY, media_type=JSONResponse.media_type)

    async def readyz(self, request: Request) -> Response:
        try:
            for probe in self.probes:
                await probe()
        except StoreUnavailable:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ready"})
