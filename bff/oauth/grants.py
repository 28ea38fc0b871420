"""The token endpoint's grants (RFC 6749 §4, RFC 8628 §3.4, RFC 9700): client credentials,
authorization code with PKCE, device code, refresh-token rotation. The resource owner password
grant is refused for good: no user's password reaches anything but our own sign-in page."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from bff.audit import Audit
from bff.oauth import scopes as scope_rules
from bff.oauth.clients import (
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    DEVICE_CODE,
    GRANTS,
    Client,
)
from bff.oauth.codes import AuthorizationCodes, CodeReused
from bff.oauth.devices import DeviceGrants
from bff.oauth.errors import (
    InvalidGrant,
    InvalidRequest,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from bff.oauth.families import RefreshFamilies
from bff.oauth.issuer import TokenIssuer, TokenResponse
from bff.revocation import Revoker
from bff.users import UserStore

MAX_PARAM = 4096


@dataclass(frozen=True, kw_only=True)
class TokenGrants:
    issuer: TokenIssuer
    codes: AuthorizationCodes
    devices: DeviceGrants
    families: RefreshFamilies
    users: UserStore
    revoker: Revoker
    audit: Audit

    async def grant(
        self, grant_type: str, client: Client, form: dict[str, str], request: Request
    ) -> TokenResponse:
        if grant_type not in client.grants:
            raise UnauthorizedClient(f"this client may not use the {grant_type} grant")
        if grant_type == CLIENT_CREDENTIALS:
            scopes = scope_rules.requested(form.get("scope"), client.scopes)
            return self.issuer.for_client(client, scopes, request)
        if grant_type == AUTHORIZATION_CODE:
            return await self._authorization_code(client, form, request)
        if grant_type == DEVICE_CODE:
            return await self._device_code(client, form, request)
        return await self._refresh(client, form, request)

    async def _authorization_code(
        self, client: Client, form: dict[str, str], request: Request
    ) -> TokenResponse:
        try:
            code = await self.codes.redeem(
                _required(form, "code"),
                client_id=client.client_id,
                redirect_uri=form.get("redirect_uri"),
                code_verifier=form.get("code_verifier"),
            )
        except CodeReused as reused:
            # RFC 6749 §4.1.2: what the first use produced is revoked
            await self.revoker.end_family(reused.family_id, event="code.reused", request=request)
            raise
        return await self._for_user(
            client,
            family_id=code.family_id,
            user_id=code.user_id,
            scopes=code.scopes,
            given_at=code.issued_at,
            request=request,
        )

    async def _device_code(
        self, client: Client, form: dict[str, str], request: Request
    ) -> TokenResponse:
        approved = await self.devices.poll(
            _required(form, "device_code"), client_id=client.client_id
        )
        return await self._for_user(
            client,
            family_id=approved.family_id,
            user_id=approved.user_id,
            scopes=approved.scopes,
            given_at=approved.decided_at,
            request=request,
        )

    async def _for_user(
        self,
        client: Client,
        *,
        family_id: str,
        user_id: str,
        scopes: tuple[str, ...],
        given_at: float,
        request: Request,
    ) -> TokenResponse:
        if given_at <= await self.families.closed_since(user_id):
            raise InvalidGrant("the user has signed out everywhere since granting this")
        user = await self.users.by_id(user_id)
        if user is None:
            raise InvalidGrant("the user who granted this no longer exists")
        # the user's current role: a demotion since the consent narrows what is delegated
        granted = scope_rules.for_user(scopes, user.role)
        if not granted:
            raise InvalidGrant("the user no longer holds any of the granted scopes")
        return await self.issuer.for_user(
            client,
            family_id=family_id,
            user_id=user.id,
            role=user.role,
            scopes=granted,
            request=request,
        )

    async def _refresh(
        self, client: Client, form: dict[str, str], request: Request
    ) -> TokenResponse:
        scope = form.get("scope")
        rotation = await self.families.rotate(
            _required(form, "refresh_token"),
            client_id=client.client_id,
            registered_at=client.created_at,
            ip=request.state.client_ip,
            # a request refused for its scope changes nothing: checked before the token is spent
            check=lambda family: scope_rules.requested(scope, family.scopes),
        )
        family = rotation.family
        if rotation.outcome == "reused" and family is not None:
            await self.revoker.end_family(family.family_id, event="refresh.reused", request=request)
            raise InvalidGrant("the refresh token was already used: the grant is revoked")
        if rotation.outcome not in ("rotated", "repeated") or family is None:
            raise InvalidGrant("the refresh token is invalid, expired or revoked")
        user = await self.users.by_id(family.user_id)
        if user is None:
            raise InvalidGrant("the user who granted this no longer exists")
        # scope can only narrow (RFC 6749 §6), and never past what the user holds today
        scopes = scope_rules.for_user(
            scope_rules.requested(form.get("scope"), family.scopes), user.role
        )
        if not scopes:
            raise InvalidGrant("the user no longer holds any of the granted scopes")
        if rotation.outcome == "repeated":
            self.audit.event(
                "refresh.repeated", request, user_id=family.user_id, family=family.family_id
            )
        return self.issuer.from_family(
            family, scopes, rotation.refresh_token, request, role=user.role
        )


def grant_type_of(form: dict[str, str]) -> str:
    grant_type = form.get("grant_type", "")
    if not grant_type:
        raise InvalidRequest("grant_type is required")
    if grant_type == "password":
        raise UnsupportedGrantType(
            "the resource owner password grant is not supported (RFC 9700 section 2.4)"
        )
    if grant_type not in GRANTS:
        raise UnsupportedGrantType("this grant type is not supported")
    return grant_type


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value or len(value) > MAX_PARAM:
        raise InvalidRequest(f"{name} is required")
    return value
