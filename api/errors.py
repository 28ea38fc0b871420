"""One error hierarchy for the API; HTTPProblem and its subclasses are mapped to RFC 6750 / JSON
responses in one place (api.app). Anything else raised while answering is a bug: a 500."""

from __future__ import annotations

from collections.abc import Mapping


class ApiError(Exception):
    """Base of every error the API raises on purpose."""


class ConfigError(ApiError):
    """A setting is missing or invalid; the message names the variable. Raised at start, never
    answered: it has no status."""


class HTTPProblem(ApiError):
    """An error with a status, an OAuth-style code and a description safe to show."""

    status = 400
    code = "invalid_request"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class BadRequest(HTTPProblem):
    status = 400
    code = "invalid_request"


class InvalidToken(HTTPProblem):
    status = 401
    code = "invalid_token"


class InsufficientScope(HTTPProblem):
    status = 403
    code = "insufficient_scope"

    def __init__(self, description: str, *, scope: str) -> None:
        super().__init__(description)
        self.scope = scope


class NotFound(HTTPProblem):
    status = 404
    code = "not_found"


class BodyTooLarge(HTTPProblem):
    status = 413
    code = "request_too_large"


class UnsupportedMediaType(HTTPProblem):
    status = 415
    code = "unsupported_media_type"


class InvalidFields(HTTPProblem):
    """A 422 naming each offending body field or query parameter and what it must be."""

    status = 422
    code = "invalid_request"

    def __init__(self, description: str, *, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(description)
        self.fields = dict(fields or {})


class Unavailable(HTTPProblem):
    """Something the answer depends on cannot be had right now: fail closed, maybe later."""

    status = 503
    code = "temporarily_unavailable"


class KeysUnavailable(Unavailable):
    """No verified key set could be had: tokens cannot be checked, so none is accepted."""


class RevocationsUnavailable(Unavailable):
    """The revocation feed has not replayed, or has been down too long: no token is accepted."""


class StoreUnavailable(Unavailable):
    """The notes database cannot answer: the request may succeed later."""
