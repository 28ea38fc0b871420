"""Authorization codes (RFC 6749 §4.1, PKCE RFC 7636): 60 seconds, one use, bound to their client,
redirect URI and S256 challenge.

A code is opaque (256 bits) and stored only as its SHA-256. Its family handle is chosen when the
code is issued, so a second use can revoke what the first one produced (RFC 6749 §4.1.2): the
family, and with it every token minted from the code. A code is spent before it is checked, so a
guess at the verifier burns it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass

from bff.clock import Clock
from bff.oauth.errors import InvalidGrant
from bff.oauth.families import hash_token, new_family_id
from bff.records import RecordStore, Value

CODE = "code"
CODE_SECONDS = 60
# after its 60 s a used code is still remembered a while, so a late second use is still caught
REMEMBER_SECONDS = 600
PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1 (verifier), §4.2 (challenge)


@dataclass(frozen=True, kw_only=True)
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    redirect_uri_given: bool  # the request named it, so the token request must too
    code_challenge: str
    user_id: str
    role: str
    scopes: tuple[str, ...]
    family_id: str
    issued_at: float
    expires_at: float
    used: bool = False


class CodeReused(InvalidGrant):
    """A second use of a code: what the first use produced must be revoked."""

    def __init__(self, family_id: str) -> None:
        super().__init__("the authorization code was already used")
        self.family_id = family_id


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class AuthorizationCodes:
    def __init__(self, *, records: RecordStore, clock: Clock) -> None:
        self._records = records
        self._clock = clock

    async def issue(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        redirect_uri_given: bool,
        code_challenge: str,
        user_id: str,
        role: str,
        scopes: tuple[str, ...],
    ) -> str:
        now = self._clock.now()
        code = secrets.token_urlsafe(32)
        value = AuthorizationCode(
            client_id=client_id,
            redirect_uri=redirect_uri,
            redirect_uri_given=redirect_uri_given,
            code_challenge=code_challenge,
            user_id=user_id,
            role=role,
            scopes=scopes,
            family_id=new_family_id(),
            issued_at=now,
            expires_at=now + CODE_SECONDS,
        )
        await self._records.insert(
            CODE, hash_token(code), asdict(value), expires_at=now + REMEMBER_SECONDS, now=now
        )
        return code

    async def redeem(
        self, code: str, *, client_id: str, redirect_uri: str | None, code_verifier: str | None
    ) -> AuthorizationCode:
        """The code's grant, once; InvalidGrant for anything else, CodeReused on a second use."""
        now = self._clock.now()
        key = hash_token(code)
        held = await self._records.get(CODE, key, now=now)
        if held is None:
            raise InvalidGrant("the authorization code is unknown or has expired")
        grant = _code(held.value)
        if grant.used or not await self._records.replace(
            CODE,
            key,
            {**held.value, "used": True},
            version=held.version,
            expires_at=held.expires_at,
            now=now,
        ):
            raise CodeReused(grant.family_id)
        if now >= grant.expires_at:
            raise InvalidGrant("the authorization code has expired")
        if not hmac.compare_digest(grant.client_id, client_id):
            raise InvalidGrant("the authorization code is unknown or has expired")
        if grant.redirect_uri_given or redirect_uri is not None:
            if redirect_uri is None or not hmac.compare_digest(grant.redirect_uri, redirect_uri):
                raise InvalidGrant("redirect_uri does not match the authorization request")
        if code_verifier is None or not PKCE_VALUE.fullmatch(code_verifier):
            raise InvalidGrant("a code_verifier of 43 to 128 unreserved characters is required")
        if not hmac.compare_digest(s256(code_verifier), grant.code_challenge):
            raise InvalidGrant("the code_verifier does not match the code_challenge")
        return grant


def _code(value: Value) -> AuthorizationCode:
    fields = dict(value)
    fields["scopes"] = tuple(fields["scopes"])  # stored as a JSON list
    return AuthorizationCode(**fields)
