from __future__ import annotations

from bff.security.csrf import CsrfTokens


def test_session_token_is_bound_to_its_session() -> None:
    tokens = CsrfTokens("secret")
    token = tokens.for_session("sid-a")
    assert tokens.check_session(token, "sid-a")
    assert not tokens.check_session(token, "sid-b")
    assert not tokens.check_session("forged", "sid-a")


def test_token_signed_with_another_key_is_refused() -> None:
    assert not CsrfTokens("secret").check_session(CsrfTokens("other").for_session("s"), "s")


def test_login_and_session_tokens_do_not_substitute() -> None:
    tokens = CsrfTokens("secret")
    assert not tokens.check_session(tokens.for_login("nonce"), "nonce")
    assert not tokens.check_login(tokens.for_session("nonce"), "nonce")
    assert tokens.check_login(tokens.for_login("nonce"), "nonce")
    assert not tokens.check_login(tokens.for_login("nonce"), "other")
