"""Access tokens as both apps see them: RFC 9068 JWTs, short-lived, with a closed set of scopes.

The BFF mints within these bounds and the API refuses anything outside them, so a value changed
here changes both sides at once.
"""

from __future__ import annotations

from typing import Final, Literal

Algorithm = Literal["ES256", "EdDSA"]
ALGORITHMS: Final[tuple[Algorithm, ...]] = ("ES256", "EdDSA")

TOKEN_TYP: Final = "at+jwt"
# RFC 9068 §4: the media type may also be written in full; compared case-insensitively
ACCEPTED_TYPS: Final = ("at+jwt", "application/at+jwt")
REQUIRED_CLAIMS: Final = ("exp", "iat", "iss", "aud", "sub", "jti")

DEFAULT_ACCESS_TOKEN_TTL: Final = 5 * 60
MAX_ACCESS_TOKEN_TTL: Final = 15 * 60
# the largest clock difference the API forgives on exp and iat; the BFF ends a token that much
# before its session ends, so a token never outlives its session, leeway included
CLOCK_SKEW: Final = 30

SCOPES: Final = ("notes:read", "notes:write", "admin")

JWKS_PATH: Final = "/.well-known/jwks.json"

# how long after its minting any access token may still be accepted, by the minting clock: the
# longest lifetime, the API's leeway, and the clocks' own difference that the leeway covers.
# Keys stay published and revocation events stay live for this long.
ACCEPTANCE_BOUND: Final = MAX_ACCESS_TOKEN_TTL + 2 * CLOCK_SKEW

# the public handles an access token may carry, each revocable through the feed (contract
# .revocation): the browser session it was minted for, or the refresh family (the grant of an API
# consumer) it came from
SESSION_CLAIM: Final = "sid"
FAMILY_CLAIM: Final = "family"
