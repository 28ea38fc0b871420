from __future__ import annotations

import pytest

from bff.clock import FrozenClock
from bff.security.csrf import LOGIN_TOKEN_MAX_AGE, CsrfTokens
from tests.conftest import PASSWORD, System, csrf_from

pytestmark = pytest.mark.anyio


def _tokens(secret: str = "secret", clock: FrozenClock | None = None) -> CsrfTokens:
    return CsrfTokens(secret, clock=clock or FrozenClock())


def test_session_token_is_bound_to_its_session() -> None:
    tokens = _tokens()
    token = tokens.for_session("sid-a")
    assert tokens.check_session(token, "sid-a")
    assert not tokens.check_session(token, "sid-b")
    assert not tokens.check_session("forged", "sid-a")


def test_token_signed_with_another_key_is_refused() -> None:
    assert not _tokens("secret").check_session(_tokens("other").for_session("s"), "s")


def test_login_and_session_tokens_do_not_substitute() -> None:
    tokens = _tokens()
    assert not tokens.check_session(tokens.for_login("nonce"), "nonce")
    assert not tokens.check_login(tokens.for_session("nonce"), "nonce")
    assert tokens.check_login(tokens.for_login("nonce"), "nonce")
    assert not tokens.check_login(tokens.for_login("nonce"), "other")


def test_a_login_token_expires_by_the_injected_clock() -> None:
    clock = FrozenClock()
    tokens = _tokens(clock=clock)
    token = tokens.for_login("nonce")
    clock.advance(LOGIN_TOKEN_MAX_AGE)
    assert tokens.check_login(token, "nonce")
    clock.advance(1)
    assert not tokens.check_login(token, "nonce")


async def test_an_expired_sign_in_form_is_refused(system: System, user_id: str) -> None:
    page = await system.bff.get("/login")
    system.clock.advance(LOGIN_TOKEN_MAX_AGE + 1)
    response = await system.bff.post(
        "/login",
        data={
            "csrf_token": csrf_from(page.text),
            "email": "alice@example.com",
            "password": PASSWORD,
            "next": "/dashboard",
        },
    )
    assert response.status_code == 403
    assert "The sign-in form expired" in response.text
    assert "__Host-sid" not in response.cookies
