"""OAuth 2 errors as RFC 6749 §5.2 (and RFC 8628 §3.5, RFC 7009) name them: a JSON body
`{"error", "error_description"}`, never cached; `invalid_client` is a 401 with a challenge."""

from __future__ import annotations

from bff.errors import HTTPProblem

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(HTTPProblem):
    status = 400
    code = "invalid_request"

    def __init__(self, description: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(description, headers={**NO_STORE, **(headers or {})})


class InvalidRequest(OAuthError):
    code = "invalid_request"


class InvalidClient(OAuthError):
    status = 401
    code = "invalid_client"

    def __init__(self, description: str = "client authentication failed") -> None:
        # RFC 6749 §5.2: a 401 names the scheme the client may authenticate with
        super().__init__(description, headers={"WWW-Authenticate": 'Basic realm="oauth"'})


class InvalidGrant(OAuthError):
    code = "invalid_grant"


class UnauthorizedClient(OAuthError):
    code = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    code = "unsupported_grant_type"


class InvalidScope(OAuthError):
    code = "invalid_scope"


class AuthorizationPending(OAuthError):
    code = "authorization_pending"


class SlowDown(OAuthError):
    code = "slow_down"


class AccessDenied(OAuthError):
    code = "access_denied"


class ExpiredToken(OAuthError):
    code = "expired_token"


class UnsupportedTokenType(OAuthError):
    code = "unsupported_token_type"
