from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ApiHarness

pytestmark = pytest.mark.anyio


async def test_me_answers_with_the_token_claims(harness: ApiHarness) -> None:
    response = await harness.me(harness.token())
    assert response.status_code == 200
    assert response.json() == {
        "sub": "u_alice",
        "role": "user",
        "scope": "notes:read notes:write",
        "client_id": "bff",
    }


async def test_me_without_a_token_is_401_with_bearer_challenge(harness: ApiHarness) -> None:
    response = await harness.client.get("/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert response.json()["error"] == "invalid_token"


async def test_expired_token_is_401_after_the_leeway(harness: ApiHarness) -> None:
    token = harness.token()
    harness.clock.advance(300 + 29)
    assert (await harness.me(token)).status_code == 200
    harness.clock.advance(2)
    response = await harness.me(token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("value", ["garbage", "a.b", "a.b.c.d", "Basic Zm9vOmJhcg=="])
async def test_malformed_tokens_are_401(harness: ApiHarness, value: str) -> None:
    response = await harness.client.get("/me", headers={"Authorization": f"Bearer {value}"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


async def test_wrong_audience_is_401(harness: ApiHarness) -> None:
    assert (await harness.me(harness.token(aud="https://other.test"))).status_code == 401


async def test_cors_allows_exactly_the_bff_origin(harness: ApiHarness) -> None:
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    ok = await harness.client.options("/me", headers={"Origin": "https://bff.test", **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://bff.test"
    bad = await harness.client.options("/me", headers={"Origin": "https://evil.test", **preflight})
    assert bad.status_code == 400
    assert "access-control-allow-origin" not in bad.headers


async def test_healthz(harness: ApiHarness) -> None:
    assert (await harness.client.get("/healthz")).json() == {"status": "ok"}


async def test_a_refused_preflight_answers_in_the_documented_error_format(
    harness: ApiHarness,
) -> None:
    preflight = {"Origin": "https://evil.test", "Access-Control-Request-Method": "GET"}
    bad = await harness.client.options("/me", headers=preflight)
    assert bad.status_code == 400
    assert bad.json() == {"error": "invalid_request", "error_description": "disallowed cors origin"}


async def test_every_api_answer_forbids_content_sniffing(harness: ApiHarness) -> None:
    for response in (
        await harness.client.get("/healthz"),
        await harness.client.get("/me"),
        await harness.client.get("/nope"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("claim", ["sid", "family", "role"])
async def test_a_handle_claim_that_is_not_a_string_is_refused(
    harness: ApiHarness, claim: str
) -> None:
    overrides: dict[str, Any] = {claim: 5}
    response = await harness.me(harness.token(**overrides))
    assert response.status_code == 401
    assert "must be a string" in response.headers["www-authenticate"]


async def test_a_token_from_a_refresh_family_is_accepted_with_its_handle(
    harness: ApiHarness,
) -> None:
    response = await harness.me(harness.token(family="f_abc", client_id="c_app"))
    assert response.status_code == 200 and response.json()["client_id"] == "c_app"
