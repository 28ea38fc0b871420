"""The OAuth endpoints for separate API consumers: POST /oauth/token (RFC 6749), /oauth/revoke
(RFC 7009), /oauth/introspect (RFC 7662) and /oauth/device_authorization (RFC 8628).

Each takes a form body (no JSON: RFC 6749 §4), authenticates the client first, and answers JSON
that is never cached. Errors are RFC 6749 §5.2's: `invalid_client` is a 401 with a challenge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.audit import Audit
from bff.clock import Clock
from bff.endpoints.bodies import read_form
from bff.errors import HTTPProblem, PayloadTooLarge
from bff.oauth import scopes as scope_rules
from bff.oauth.accesstokens import AccessTokenReader
from bff.oauth.clientauth import ClientAuthenticator
from bff.oauth.clients import DEVICE_CODE
from bff.oauth.devices import DeviceGrants
from bff.oauth.errors import NO_STORE, InvalidRequest, OAuthError, UnauthorizedClient
from bff.oauth.families import RefreshFamilies
from bff.oauth.grants import TokenGrants, grant_type_of
from bff.records import RecordStore
from bff.revocation import Revoker
from bff.security.ratelimit import RateLimit, client_network
from bff.sessions.base import SessionStore
from contract.tokens import FAMILY_CLAIM, SESSION_CLAIM

MAX_FORM_BYTES = 8192
REVOKED_JTI = "revoked-jti"


class Forbidden(OAuthError):
    status = 403
    code = "unauthorized_client"


async def oauth_form(request: Request) -> dict[str, str]:
    """The form body, with every failure an RFC 6749 §5.2 error (a body too large stays 413)."""
    try:
        return await read_form(request, MAX_FORM_BYTES)
    except PayloadTooLarge:
        raise
    except HTTPProblem as exc:
        raise InvalidRequest(exc.description) from None


@dataclass(frozen=True, kw_only=True)
class OAuthEndpoints:
    authenticator: ClientAuthenticator
    grants: TokenGrants
    devices: DeviceGrants
    families: RefreshFamilies
    sessions: SessionStore
    records: RecordStore
    access_tokens: AccessTokenReader
    device_starts: RateLimit  # per client network: each start stores a grant for 20 minutes
    revoker: Revoker
    audit: Audit
    clock: Clock
    issuer: str

    def routes(self) -> list[Route]:
        return [
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/oauth/revoke", self.revoke, methods=["POST"]),
            Route("/oauth/introspect", self.introspect, methods=["POST"]),
            Route("/oauth/device_authorization", self.device_authorization, methods=["POST"]),
        ]

    async def token(self, request: Request) -> Response:
        form = await oauth_form(request)
        grant_type = grant_type_of(form)
        client = await self.authenticator.authenticate(request, form)
        return _json(await self.grants.grant(grant_type, client, form, request))

    async def device_authorization(self, request: Request) -> Response:
        form = await oauth_form(request)
        client = await self.authenticator.authenticate(request, form)
        network = client_network(request.state.client_ip)
        await self.device_starts.enforce(network, "too many device sign-ins started: slow down")
        if DEVICE_CODE not in client.grants:
            raise UnauthorizedClient("this client may not use the device authorization grant")
        scopes = scope_rules.requested(form.get("scope"), client.scopes)
        started = await self.devices.start(client_id=client.client_id, scopes=scopes)
        verification = f"{self.issuer}/device"
        return _json(
            {
                "device_code": started.device_code,
                "user_code": started.user_code,
                "verification_uri": verification,
                "verification_uri_complete": f"{verification}?user_code={started.user_code}",
                "expires_in": started.expires_in,
                "interval": started.interval,
            }
        )

    async def revoke(self, request: Request) -> Response:
        """RFC 7009: 200 whatever the token was, so the endpoint tells nobody anything; only the
        client a token was issued to can revoke it."""
        form = await oauth_form(request)
        client = await self.authenticator.authenticate(request, form)
        token = form.get("token", "")
        if not token:
            raise InvalidRequest("token is required")
        found = await self.families.find(token)
        if found is not None:
            family, _ = found
            if family.client_id == client.client_id:
                await self.revoker.end_family(
                    family.family_id, event="family.revoked", request=request
                )
            return Response(status_code=200, headers=NO_STORE)
        claims = self.access_tokens.claims(token)
        if claims is not None and claims.get("client_id") == client.client_id:
            await self._revoke_access_token(claims)
        return Response(status_code=200, headers=NO_STORE)

    async def introspect(self, request: Request) -> Response:
        """RFC 7662, for clients registered as resource servers."""
        form = await oauth_form(request)
        client = await self.authenticator.authenticate(request, form)
        if not client.resource_server:
            raise Forbidden("only a client registered as a resource server may introspect")
        token = form.get("token", "")
        if not token:
            raise InvalidRequest("token is required")
        return _json(await self._describe(token))

    async def _describe(self, token: str) -> dict[str, Any]:
        found = await self.families.find(token)
        now = self.clock.now()
        if found is not None:
            family, live = found
            if not live or not family.live(now):
                return {"active": False}
            return {
                "active": True,
                "token_type": "refresh_token",
                "client_id": family.client_id,
                "sub": family.user_id,
                "scope": " ".join(family.scopes),
                "exp": int(min(family.idle_expires_at, family.absolute_expires_at)),
                "iss": self.issuer,
            }
        claims = self.access_tokens.claims(token)
        if claims is None or not await self._still_valid(claims):
            return {"active": False}
        described = {"active": True, "token_type": "Bearer"}
        for name in ("scope", "client_id", "sub", "exp", "iat", "iss", "aud", "jti"):
            described[name] = claims[name]
        return described

    async def _still_valid(self, claims: dict[str, Any]) -> bool:
        now = self.clock.now()
        if await self.records.get(REVOKED_JTI, str(claims["jti"]), now=now) is not None:
            return False
        family = claims.get(FAMILY_CLAIM)
        if isinstance(family, str):
            held = await self.families.get(family)
            if held is None or not held.live(now):
                return False
        sid = claims.get(SESSION_CLAIM)
        if isinstance(sid, str):
            live = await self.sessions.list_user(str(claims["sub"]))
            if not any(s.sid == sid and s.is_live(now) for s in live):
                return False
        return True

    async def _revoke_access_token(self, claims: dict[str, Any]) -> None:
        now = self.clock.now()
        jti, exp = str(claims["jti"]), float(claims["exp"])
        await self.records.insert(REVOKED_JTI, jti, {}, expires_at=exp + 60, now=now)
        await self.revoker.end_token(jti)


def _json(body: dict[str, Any]) -> Response:
    return JSONResponse(body, headers=NO_STORE)
