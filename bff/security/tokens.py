"""Access tokens: RFC 9068 JWTs signed by the key ring."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import jwt

from bff.clock import Clock
from bff.errors import InvalidScope
from bff.security.keys import KeyRing
from contract.tokens import FAMILY_CLAIM, SESSION_CLAIM, TOKEN_TYP

MAX_SCOPE_LENGTH = 512


@dataclass(frozen=True, kw_only=True)
class MintedToken:
    token: str
    jti: str
    expires_at: float
    expires_in: int
    scope: str


def session_scopes(role: str) -> tuple[str, ...]:
    base = ("notes:read", "notes:write")
    return (*base, "admin") if role == "admin" else base


def narrow_scopes(requested: str | None, granted: tuple[str, ...]) -> tuple[str, ...]:
    """The requested scopes when they are a subset of `granted`; a wider request is refused."""
    if requested is None or not requested.strip():
        return granted
    if len(requested) > MAX_SCOPE_LENGTH:
        raise InvalidScope("the scope parameter is too long")
    wanted = tuple(dict.fromkeys(requested.split()))
    extra = [scope for scope in wanted if scope not in granted]
    if extra:
        raise InvalidScope("the requested scope exceeds what this session was granted")
    return wanted


class TokenMinter:
    def __init__(self, *, keys: KeyRing, issuer: str, audience: str, clock: Clock) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._clock = clock

    def mint(
        self,
        *,
        sub: str,
        scopes: tuple[str, ...],
        client_id: str,
        ttl: int,
        sid: str | None = None,
        family: str | None = None,
        role: str | None = None,
    ) -> MintedToken:
        key, private = self._keys.signer()
        now = int(self._clock.now())
        jti = secrets.token_urlsafe(16)
        claims: dict[str, object] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": sub,
            "iat": now,
            "exp": now + ttl,
            "jti": jti,
            "client_id": client_id,
            "scope": " ".join(scopes),
        }
        if sid is not None:
            claims[SESSION_CLAIM] = sid
        if family is not None:
            claims[FAMILY_CLAIM] = family
        if role is not None:
            claims["role"] = role
        token = jwt.encode(
            claims, private, algorithm=key.alg, headers={"kid": key.kid, "typ": TOKEN_TYP}
        )
        return MintedToken(
            token=token, jti=jti, expires_at=now + ttl, expires_in=ttl, scope=" ".join(scopes)
        )
