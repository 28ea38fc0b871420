"""Scopes for API consumers: what a request may ask, and how a person is told what it means."""

from __future__ import annotations

from collections.abc import Iterable

from bff.oauth.errors import InvalidScope
from bff.security.tokens import MAX_SCOPE_LENGTH, session_scopes

# what the consent and device pages say of each scope
DESCRIPTIONS = {
    "notes:read": "Read your notes",
    "notes:write": "Create, change and delete your notes",
    "admin": "See the service's usage statistics (administrators)",
}


def requested(scope: str | None, allowed: Iterable[str]) -> tuple[str, ...]:
    """The scopes asked for, each allowed; all of `allowed` when none is named. A scope beyond
    `allowed` is refused (invalid_scope), never silently dropped."""
    ceiling = tuple(allowed)
    if scope is None or not scope.strip():
        return ceiling
    if len(scope) > MAX_SCOPE_LENGTH:
        raise InvalidScope("the scope parameter is too long")
    wanted = tuple(dict.fromkeys(scope.split()))
    extra = [name for name in wanted if name not in ceiling]
    if extra:
        raise InvalidScope(f"not allowed here: {' '.join(extra)}")
    return wanted


def for_user(scopes: Iterable[str], role: str) -> tuple[str, ...]:
    """What a user can delegate: never more than their own session holds."""
    held = set(session_scopes(role))
    return tuple(scope for scope in scopes if scope in held)


def described(scopes: Iterable[str]) -> list[tuple[str, str]]:
    return [(scope, DESCRIPTIONS.get(scope, scope)) for scope in scopes]
