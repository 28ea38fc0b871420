"""One error hierarchy for the API, mapped to RFC 6750 / JSON responses in api.app."""

from __future__ import annotations


class ApiError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class ConfigError(ApiError):
    """A setting is missing or invalid; the message names the variable."""


class InvalidToken(ApiError):
    status = 401
    code = "invalid_token"


class InsufficientScope(ApiError):
    status = 403
    code = "insufficient_scope"

    def __init__(self, description: str, *, scope: str) -> None:
        super().__init__(description)
        self.scope = scope


class NotFound(ApiError):
    status = 404
    code = "not_found"


class ValidationFailed(ApiError):
    status = 422
    code = "invalid_request"


class KeysUnavailable(ApiError):
    """No verified key set could be had: tokens cannot be checked, so none is accepted."""

    status = 503
    code = "temporarily_unavailable"
