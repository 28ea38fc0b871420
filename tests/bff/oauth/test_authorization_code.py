"""authorization_code with PKCE S256, from /oauth/authorize and its consent page."""

from __future__ import annotations

import jwt
import pytest

from tests.bff.oauth.conftest import (
    CLICKED,
    REDIRECT,
    SCRIPTED,
    Registered,
    authorize_url,
    code_for,
    consent,
    me,
    pkce,
    query_of,
    register,
    token,
    tokens_by_code,
)
from tests.conftest import System, csrf_from, login

pytestmark = pytest.mark.anyio


async def _app(system: System, *, public: bool = False) -> Registered:
    return await register(
        system,
        grants=("authorization_code", "refresh_token"),
        redirect_uris=(REDIRECT, "http://127.0.0.1/cb"),
        public=public,
    )


async def test_the_whole_flow_gives_tokens_for_the_user(system: System, signed_in: str) -> None:
    app = await _app(system)
    verifier = pkce()
    page = await system.bff.get(authorize_url(app, verifier.challenge))
    assert page.status_code == 200
    assert "Test app" in page.text and "Read your notes" in page.text
    response = await consent(system, authorize_url(app, verifier.challenge))
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    query = query_of(location)
    assert query["state"] == "st-123" and query["iss"] == "https://bff.test"
    tokens = await token(
        system,
        app,
        grant_type="authorization_code",
        code=query["code"],
        redirect_uri=REDIRECT,
        code_verifier=verifier.verifier,
    )
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["refresh_token"] and body["scope"] == "notes:read"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == signed_in and claims["client_id"] == app.client_id
    assert claims["family"].startswith("f_") and "sid" not in claims
    assert (await me(system, body["access_token"])).json()["sub"] == signed_in


async def test_an_anonymous_user_signs_in_first_and_comes_back(
    system: System, user_id: str
) -> None:
    app = await _app(system)
    url = authorize_url(app, pkce().challenge)
    response = await system.bff.get(url)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2Foauth%2Fauthorize%3F")
    back = await login(system.bff, next_url=url)
    assert back.headers["location"] == url


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://evil.example/callback", REDIRECT + "/", REDIRECT + "?x=1", "https://app.example"],
)
async def test_an_unregistered_redirect_uri_gets_a_page_never_a_redirect(
    system: System, signed_in: str, redirect_uri: str
) -> None:
    app = await _app(system)
    response = await system.bff.get(authorize_url(app, pkce().challenge, redirect_uri=redirect_uri))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "did not register" in response.text


async def test_an_unknown_client_gets_a_page(system: System, signed_in: str) -> None:
    ghost = Registered("c_unknown", None)
    response = await system.bff.get(authorize_url(ghost, pkce().challenge))
    assert response.status_code == 400 and "location" not in response.headers


async def test_a_loopback_redirect_matches_on_any_port(system: System, signed_in: str) -> None:
    app = await _app(system)
    verifier = pkce()
    native = "http://127.0.0.1:53682/cb"
    response = await consent(system, authorize_url(app, verifier.challenge, redirect_uri=native))
    assert response.headers["location"].startswith(native + "?")
    code = query_of(response.headers["location"])["code"]
    tokens = await token(
        system,
        app,
        grant_type="authorization_code",
        code=code,
        redirect_uri=native,
        code_verifier=verifier.verifier,
    )
    assert tokens.status_code == 200
    other_path = await system.bff.get(
        authorize_url(app, verifier.challenge, redirect_uri="http://127.0.0.1:53682/other")
    )
    assert other_path.status_code == 400


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "admin"}, "invalid_scope"),
    ],
)
async def test_refused_requests_go_back_with_the_error_state_and_iss(
    system: System, signed_in: str, extra: dict[str, str], error: str
) -> None:
    app = await _app(system)
    response = await system.bff.get(authorize_url(app, pkce().challenge, **extra))
    assert response.status_code == 303
    query = query_of(response.headers["location"])
    assert query["error"] == error and query["state"] == "st-123"
    assert query["iss"] == "https://bff.test" and "code" not in query


async def test_a_missing_challenge_method_is_plain_and_refused(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    url = authorize_url(app, pkce().challenge).replace("&code_challenge_method=S256", "")
    query = query_of((await system.bff.get(url)).headers["location"])
    assert query["error"] == "invalid_request"


async def test_denying_sends_access_denied(system: System, signed_in: str) -> None:
    app = await _app(system)
    response = await consent(system, authorize_url(app, pkce().challenge), decision="deny")
    query = query_of(response.headers["location"])
    assert query["error"] == "access_denied" and "code" not in query


async def test_a_consent_is_remembered_per_client_and_scope_set(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    await code_for(system, app, pkce())
    again = await system.bff.get(authorize_url(app, pkce().challenge))
    assert again.status_code == 303 and "code" in query_of(again.headers["location"])
    wider = await system.bff.get(
        authorize_url(app, pkce().challenge, scope="notes:read notes:write")
    )
    assert wider.status_code == 200 and "Create, change and delete" in wider.text


async def test_the_consent_form_is_protected_like_every_form(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    verifier = pkce()
    page = await system.bff.get(authorize_url(app, verifier.challenge))
    forged = await system.bff.post(
        "/oauth/authorize",
        data={
            "client_id": app.client_id,
            "redirect_uri": REDIRECT,
            "decision": "allow",
            "response_type": "code",
            "code_challenge": verifier.challenge,
            "code_challenge_method": "S256",
            "csrf_token": "forged",
        },
    )
    assert forged.status_code == 403
    assert page.status_code == 200


async def _redeem(
    system: System, app: Registered, code: str, verifier: str, **extra: str
) -> dict[str, object]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        **extra,
    }
    response = await token(system, app, **form)
    return {"status": response.status_code, **response.json()}


async def test_a_code_works_once_and_a_second_use_revokes_what_the_first_produced(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    verifier = pkce()
    code = await code_for(system, app, verifier)
    first = await _redeem(system, app, code, verifier.verifier)
    assert first["status"] == 200
    second = await _redeem(system, app, code, verifier.verifier)
    assert second["status"] == 400 and second["error"] == "invalid_grant"
    assert (await system.me_once_pushed(str(first["access_token"]))).status_code == 401
    refreshed = await token(
        system, app, grant_type="refresh_token", refresh_token=str(first["refresh_token"])
    )
    assert refreshed.json()["error"] == "invalid_grant"


async def test_a_code_lives_sixty_seconds(system: System, signed_in: str) -> None:
    app = await _app(system)
    verifier = pkce()
    code = await code_for(system, app, verifier)
    system.clock.advance(60)
    late = await _redeem(system, app, code, verifier.verifier)
    assert late["status"] == 400 and late["error"] == "invalid_grant"


async def test_a_code_is_bound_to_its_client_redirect_uri_and_challenge(
    system: System, signed_in: str
) -> None:
    app, other = await _app(system), await _app(system)
    for who, extra, verifier_ok in (
        (other, {}, True),
        (app, {"redirect_uri": "http://127.0.0.1/cb"}, True),
        (app, {}, False),
    ):
        verifier = pkce()
        code = await code_for(system, app, verifier)
        presented = verifier.verifier if verifier_ok else pkce().verifier
        refused = await _redeem(system, who, code, presented, **extra)
        assert refused["status"] == 400 and refused["error"] == "invalid_grant", (who, extra)


async def test_a_code_needs_its_verifier(system: System, signed_in: str) -> None:
    app = await _app(system)
    code = await code_for(system, app, pkce())
    response = await token(
        system, app, grant_type="authorization_code", code=code, redirect_uri=REDIRECT
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_a_public_client_uses_pkce_without_a_secret(system: System, signed_in: str) -> None:
    app = await _app(system, public=True)
    body = await tokens_by_code(system, app)
    assert body["access_token"] and body["refresh_token"]


async def test_duplicate_authorization_parameters_are_refused(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    url = authorize_url(app, pkce().challenge) + "&redirect_uri=https://evil.example/cb"
    response = await system.bff.get(url)
    assert response.status_code == 400 and "location" not in response.headers


async def test_the_consent_page_lets_its_form_answer_redirect_to_the_client(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    native = "http://127.0.0.1:53682/cb"
    page = await system.bff.get(authorize_url(app, pkce().challenge, redirect_uri=native))
    csp = page.headers["content-security-policy"]
    assert "form-action 'self' http://127.0.0.1:53682;" in csp
    other = await system.bff.get("/sessions")
    assert "form-action 'self';" in other.headers["content-security-policy"]


def test_only_a_safe_csp_source_is_written_for_a_redirect_uri() -> None:
    from bff.endpoints.authorize import form_action_source

    assert form_action_source("https://app.example/cb?x=1") == "https://app.example"
    assert form_action_source("http://[::1]:8080/cb") == "http://[::1]:8080"
    assert form_action_source("com.example.app:/oauth") == "com.example.app:"
    assert form_action_source("https://a;script-src *@x/cb") == ""


async def test_a_public_client_is_asked_every_time(system: System, signed_in: str) -> None:
    app = await _app(system, public=True)
    await code_for(system, app, pkce())
    again = await system.bff.get(authorize_url(app, pkce().challenge))
    assert again.status_code == 200 and "Allow" in again.text


async def test_a_missing_response_type_is_invalid_request(system: System, signed_in: str) -> None:
    app = await _app(system)
    url = authorize_url(app, pkce().challenge).replace("response_type=code&", "")
    query = query_of((await system.bff.get(url)).headers["location"])
    assert query["error"] == "invalid_request"


async def test_signing_out_everywhere_burns_a_code_not_yet_redeemed(
    system: System, signed_in: str
) -> None:
    app = await _app(system)
    verifier = pkce()
    code = await code_for(system, app, verifier)
    system.clock.advance(1)
    page = await system.bff.get("/sessions")
    await system.bff.post("/sessions/revoke-all", data={"csrf_token": csrf_from(page.text)})
    late = await _redeem(system, app, code, verifier.verifier)
    assert late["status"] == 400 and late["error"] == "invalid_grant"


@pytest.mark.parametrize("sent_by", SCRIPTED)
async def test_a_script_in_the_page_cannot_allow_a_consent(
    system: System, signed_in: str, sent_by: str
) -> None:
    app = await _app(system)
    url = authorize_url(app, pkce().challenge)
    refused = await consent(system, url, headers=SCRIPTED[sent_by])
    assert refused.status_code == 403
    assert "location" not in refused.headers  # no code went anywhere
    clicked = await consent(system, url, headers=CLICKED)
    assert clicked.status_code == 303 and "code" in query_of(clicked.headers["location"])
