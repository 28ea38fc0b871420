"""One error hierarchy for the BFF; mapped to HTTP in one place (bff.app)."""

from __future__ import annotations


class BffError(Exception):
    """Base of every error the BFF raises on purpose."""


class ConfigError(BffError):
    """A setting is missing or invalid; the message names the variable."""


class HTTPProblem(BffError):
    """An error with a status, an OAuth-style code and a description safe to show."""

    status = 400
    code = "invalid_request"

    def __init__(self, description: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.headers = headers or {}


class BadRequest(HTTPProblem):
    status = 400
    code = "invalid_request"


class InvalidScope(HTTPProblem):
    status = 400
    code = "invalid_scope"


class Unauthenticated(HTTPProblem):
    status = 401
    code = "unauthenticated"


class SessionEnding(Unauthenticated):
    """The session ends too soon for a token to die with it: sign in again."""


class Forbidden(HTTPProblem):
    status = 403
    code = "forbidden"


class SessionChanged(HTTPProblem):
    """A page's call for a session that is no longer the browser's (someone signed in again in
    another tab): refused rather than answered for the other session."""

    status = 409
    code = "session_changed"


class RequestTimeout(HTTPProblem):
    """The client took too long to send its body; the connection is not kept for another."""

    status = 408
    code = "request_timeout"

    def __init__(self, description: str) -> None:
        super().__init__(description, headers={"Connection": "close"})


class PayloadTooLarge(HTTPProblem):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(HTTPProblem):
    status = 415
    code = "unsupported_media_type"


class NotFound(HTTPProblem):
    status = 404
    code = "not_found"


class FeedUnauthorized(HTTPProblem):
    status = 401
    code = "unauthorized"


class BadGateway(HTTPProblem):
    status = 502
    code = "bad_gateway"


class GatewayTimeout(HTTPProblem):
    status = 504
    code = "gateway_timeout"


class Throttled(HTTPProblem):
    status = 429
    code = "rate_limited"

    def __init__(self, description: str, *, retry_after: int) -> None:
        super().__init__(description, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class Overloaded(HTTPProblem):
    """Shed load: the work would wait behind too much queued work (the password hasher's)."""

    status = 503
    code = "temporarily_unavailable"

    def __init__(self, description: str, *, retry_after: int) -> None:
        super().__init__(description, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class StoreUnavailable(BffError):
    """A backing store (sessions, users, rate limits) cannot be reached: fail closed with 503."""
