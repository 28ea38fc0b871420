"""Bearer JWT verification, as strict as the contract (DESIGN.md §3) says.

Everything about the token is checked before its signature: size, shape, header, then the key is
looked up only in the cached JWKS. A verified token's claims are kept in a bounded cache keyed by
the whole token string, so the same token's signature is checked once; expiry, and that its key is
still published and fresh, are still checked on every request.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from starlette.requests import Request

from api.clock import Clock
from api.errors import InsufficientScope, InvalidToken
from api.jwks import JwksCache, VerificationKey
from contract.tokens import (
    ACCEPTED_TYPS,
    FAMILY_CLAIM,
    MAX_ACCESS_TOKEN_TTL,
    REQUIRED_CLAIMS,
    SESSION_CLAIM,
)

MAX_TOKEN_BYTES = 4096
# headers that would let a token name its own key: never followed, refused outright
REFUSED_HEADERS = ("jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256", "crit")
# matched with fullmatch: `$` would also accept a trailing newline
_KID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
CACHE_SIZE = 10_000
AUTHORIZATION = b"authorization"


@dataclass(frozen=True, kw_only=True)
class Principal:
    sub: str
    scopes: frozenset[str]
    client_id: str
    jti: str
    exp: int
    iat: int
    role: str | None = None
    sid: str | None = None
    family: str | None = None

    @functools.cached_property  # a cached token's principal answers many requests
    def scope(self) -> str:
        return " ".join(sorted(self.scopes))

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise InsufficientScope(f"this call needs the {scope} scope", scope=scope)


class RevocationCheck(Protocol):
    def check(
        self, *, sid: str | None, jti: str, sub: str, iat: int, family: str | None = None
    ) -> None:
        """Raise InvalidToken for a revoked token, or a 503 error when revocations cannot be
        checked right now."""
        ...


class TokenVerifier:
    def __init__(
        self,
        *,
        jwks: JwksCache,
        revocations: RevocationCheck,
        clock: Clock,
        issuer: str,
        audience: str,
        algorithms: tuple[str, ...],
        leeway: int,
    ) -> None:
        self._jwks = jwks
        self._revocations = revocations
        self._clock = clock
        self._issuer = issuer
        self._audience = audience
        self._algorithms = algorithms
        self._leeway = leeway
        self._verified: OrderedDict[str, tuple[Principal, VerificationKey]] = OrderedDict()

    async def authenticate(self, request: Request) -> Principal:
        return await self.verify(bearer_token(request))

    async def verify(self, token: str) -> Principal:
        principal = await self._verified_principal(token)
        # on every request, cached or not: a revocation reaches tokens already seen
        self._revocations.check(
            sid=principal.sid,
            jti=principal.jti,
            sub=principal.sub,
            iat=principal.iat,
            family=principal.family,
        )
        return principal

    async def _verified_principal(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            principal, key = cached
            self._check_time(principal.exp)
            # a withdrawn key or a too-stale key set must reach tokens already seen, too
            if await self._jwks.key(key.kid) != key:
                raise InvalidToken("unknown signing key")
            return principal
        principal, key = await self._verify_signature_and_claims(token)
        self._verified[token] = (principal, key)
        if len(self._verified) > CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    async def _verify_signature_and_claims(self, token: str) -> tuple[Principal, VerificationKey]:
        if len(token) > MAX_TOKEN_BYTES or not _TOKEN.fullmatch(token):
            raise InvalidToken("malformed token")
        alg, kid = self._check_header(unverified_header(token))
        key = await self._jwks.key(kid)
        if key is None or key.alg != alg:
            raise InvalidToken("unknown signing key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.alg],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "strict_aud": True,
                    # time is checked below with the injected clock
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError:
            raise InvalidToken("the token is invalid") from None
        return self._principal(claims), key

    def _check_header(self, header: dict[str, Any]) -> tuple[str, str]:
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPS:
            raise InvalidToken("the token is not an access token (typ)")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidToken("algorithm not allowed")
        if any(name in header for name in REFUSED_HEADERS):
            raise InvalidToken("unsupported token header")
        kid = header.get("kid")
        if not isinstance(kid, str) or not _KID.fullmatch(kid):
            raise InvalidToken("missing or malformed kid")
        return alg, kid

    def _principal(self, claims: dict[str, Any]) -> Principal:
        # the issuer and audience must match exactly, never by substring or list membership
        if claims.get("iss") != self._issuer or claims.get("aud") != self._audience:
            raise InvalidToken("wrong issuer or audience")
        exp = self._check_times(claims)
        texts = {name: claims.get(name) for name in ("sub", "jti", "client_id", "scope")}
        if not all(isinstance(value, str) and value for value in texts.values()):
            raise InvalidToken("sub, jti, client_id and scope must be non-empty strings")
        role, sid, family = (claims.get(name) for name in ("role", SESSION_CLAIM, FAMILY_CLAIM))
        for name, value in (("role", role), (SESSION_CLAIM, sid), (FAMILY_CLAIM, family)):
            if value is not None and not isinstance(value, str):
                raise InvalidToken(f"{name} must be a string")
        return Principal(
            sub=str(texts["sub"]),
            scopes=frozenset(str(texts["scope"]).split()),
            client_id=str(texts["client_id"]),
            jti=str(texts["jti"]),
            exp=exp,
            iat=_integer(claims, "iat"),
            role=role,
            sid=sid,
            family=family,
        )

    def _check_times(self, claims: dict[str, Any]) -> int:
        exp, iat = _integer(claims, "exp"), _integer(claims, "iat")
        latest = self._clock.now() + self._leeway
        if "nbf" in claims and _integer(claims, "nbf") > latest:
            raise InvalidToken("the token is not valid yet")
        if iat > latest:
            raise InvalidToken("the token was issued in the future")
        self._check_time(exp)
        if exp > latest + MAX_ACCESS_TOKEN_TTL:
            # a longer-lived token is a minting bug or a forgery: bound what a leak can cost
            raise InvalidToken("the token lives longer than any access token may")
        return exp

    def _check_time(self, exp: int) -> None:
        if exp <= self._clock.now() - self._leeway:
            raise InvalidToken("the token has expired")


def unverified_header(token: str) -> dict[str, Any]:
    """The header, read for the checks made before the signature's. Only its segment is decoded
    (jwt.get_unverified_header decodes all three, checking each one's alphabet character by
    character, and jwt.decode does it all again: a third of a cold request); `_TOKEN` has
    checked the alphabet, and jwt.decode reads the same bytes with the same parser again, and
    refuses a segment that is not in canonical base64url."""
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, RecursionError):  # binascii.Error and bad UTF-8 are ValueErrors
        raise InvalidToken("malformed token header") from None
    if not isinstance(header, dict):
        raise InvalidToken("malformed token header")
    return header


def bearer_token(request: Request) -> str:
    # the raw header lines, as Headers.getlist would list them, without building a Headers
    raw: list[tuple[bytes, bytes]] = request.scope["headers"]
    headers = [value.decode("latin-1") for name, value in raw if name == AUTHORIZATION]
    if not headers:
        raise InvalidToken("missing bearer token")
    if len(headers) > 1:
        # a proxy and this API might each read a different one: refuse the ambiguity
        raise InvalidToken("more than one Authorization header")
    header = headers[0]
    if len(header) > MAX_TOKEN_BYTES + 7:
        raise InvalidToken("token too large")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("expected an Authorization: Bearer token")
    return token.strip()


def _integer(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    # JSON integers only: no floats, strings or booleans (bool is an int in Python)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidToken(f"{name} must be an integer")
    return value
