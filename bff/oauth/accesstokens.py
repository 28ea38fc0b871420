"""Reading back an access token this BFF signed, for revocation and introspection: the signature
with a key still published, our issuer and audience, `at+jwt`, and not expired. Anything else is
not ours, and an endpoint treats it as an unknown token."""

from __future__ import annotations

from typing import Any

import jwt

from bff.clock import Clock
from bff.security.keys import KeyRing
from contract.tokens import ACCEPTED_TYPS, MAX_ACCESS_TOKEN_TTL, REQUIRED_CLAIMS

MAX_TOKEN_LENGTH = 4096


class AccessTokenReader:
    def __init__(self, *, keys: KeyRing, issuer: str, audience: str, clock: Clock) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        self._public: dict[str, Any] = {}

    def claims(self, token: str) -> dict[str, Any] | None:
        """The verified claims of a live token we minted, or None."""
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            return None
        try:
            header = jwt.get_unverified_header(token)
            key = self._key(header)
            if key is None or str(header.get("typ", "")).lower() not in ACCEPTED_TYPS:
                return None
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[str(header["alg"])],
                issuer=self._issuer,
                audience=self._audience,
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            return None
        now = self._clock.now()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int) or not isinstance(iat, int) or exp <= now:
            return None
        return claims if exp - iat <= MAX_ACCESS_TOKEN_TTL else None

    def _key(self, header: dict[str, Any]) -> Any:
        kid = header.get("kid")
        for signing in self._keys.published():
            if signing.kid == kid and signing.alg == header.get("alg"):
                if kid not in self._public:
                    self._public[kid] = jwt.PyJWK(signing.public_jwk()).key
                return self._public[kid]
        return None
