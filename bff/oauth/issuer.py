"""Token responses for API consumers (RFC 6749 §5.1): a JWT access token, and for a user's grant
to a client registered for it, a rotating refresh token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from bff.audit import Audit
from bff.oauth.clients import REFRESH_TOKEN, Client
from bff.oauth.families import Family, RefreshFamilies
from bff.security.tokens import TokenMinter

TokenResponse = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class TokenIssuer:
    minter: TokenMinter
    families: RefreshFamilies
    ttl: int
    audit: Audit

    def for_client(
        self, client: Client, scopes: tuple[str, ...], request: Request
    ) -> TokenResponse:
        """client_credentials: the client is the subject; no refresh token (RFC 6749 §4.4.3)."""
        minted = self.minter.mint(
            sub=client.client_id, scopes=scopes, client_id=client.client_id, ttl=self.ttl
        )
        self.audit.event(
            "token.minted", request, client_id=client.client_id, jti=minted.jti, scope=minted.scope
        )
        return _response(minted.token, minted.expires_in, minted.scope)

    async def for_user(
        self,
        client: Client,
        *,
        family_id: str,
        user_id: str,
        role: str,
        scopes: tuple[str, ...],
        request: Request,
    ) -> TokenResponse:
        """A user's grant to `client` (a code or a device approval): its family starts here."""
        family, refresh_token = await self.families.start(
            family_id=family_id,
            client_id=client.client_id,
            client_registered_at=client.created_at,
            user_id=user_id,
            role=role,
            scopes=scopes,
            ip=request.state.client_ip,
            refreshable=REFRESH_TOKEN in client.grants,
        )
        return self.from_family(family, scopes, refresh_token, request, role=role)

    def from_family(
        self,
        family: Family,
        scopes: tuple[str, ...],
        refresh_token: str | None,
        request: Request,
        *,
        role: str,
    ) -> TokenResponse:
        minted = self.minter.mint(
            sub=family.user_id,
            scopes=scopes,
            client_id=family.client_id,
            ttl=self.ttl,
            family=family.family_id,
            role=role,
        )
        self.audit.event(
            "token.minted",
            request,
            user_id=family.user_id,
            client_id=family.client_id,
            family=family.family_id,
            jti=minted.jti,
            scope=minted.scope,
        )
        response = _response(minted.token, minted.expires_in, minted.scope)
        if refresh_token is not None:
            response["refresh_token"] = refresh_token
        return response


def _response(token: str, expires_in: int, scope: str) -> TokenResponse:
    return {"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": scope}
