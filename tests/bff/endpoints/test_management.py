from __future__ import annotations

from typing import Any

import jwt
import pytest

from bff.wiring import TOKENS_PER_MINUTE
from contract.tokens import CLOCK_SKEW
from tests.conftest import API_URL, BFF_URL, JSON, System, login

pytestmark = pytest.mark.anyio


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def test_user_is_401_when_anonymous(system: System) -> None:
    response = await system.bff.get("/bff/user", headers=JSON)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


async def test_user_describes_the_session(system: System, user_id: str) -> None:
    await login(system.bff)
    response = await system.bff.get("/bff/user", headers=JSON)
    assert response.status_code == 200
    body = response.json()
    assert body["sub"] == user_id
    assert body["email"] == "alice@example.com"
    assert body["role"] == "user"
    assert body["sid"] and body["sid"] != system.bff.cookies["__Host-sid"]
    assert set(body["session"]) == {"expires_at", "idle_expires_at", "now"}
    # the BFF's clock, which a page counts its deadlines from whatever its own clock says
    assert body["session"]["now"] == int(system.clock.now())
    assert body["session"]["idle_expires_at"] == body["session"]["now"] + 1800
    assert response.headers["cache-control"] == "no-store"


async def test_user_needs_the_csrf_header(system: System, user_id: str) -> None:
    await login(system.bff)
    assert (await system.bff.get("/bff/user")).status_code == 403


async def test_token_is_a_short_lived_es256_at_jwt_bound_to_the_session(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    sid = (await system.bff.get("/bff/user", headers=JSON)).json()["sid"]
    response = await system.bff.post("/bff/token", headers=JSON)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "ES256" and header["typ"] == "at+jwt" and header["kid"]
    claims = _claims(body["access_token"])
    assert claims["iss"] == BFF_URL and claims["aud"] == API_URL
    assert claims["sub"] == user_id and claims["sid"] == sid and claims["role"] == "user"
    assert claims["client_id"] == "bff" and claims["scope"] == "notes:read notes:write"
    assert claims["exp"] - claims["iat"] == 300
    assert {"jti", "iat", "exp"} <= set(claims)
    assert "email" not in claims


async def test_token_never_comes_with_a_refresh_token(system: System, user_id: str) -> None:
    await login(system.bff)
    body = (await system.bff.post("/bff/token", headers=JSON)).json()
    assert "refresh_token" not in body


async def test_token_without_csrf_header_is_refused(system: System, user_id: str) -> None:
    await login(system.bff)
    response = await system.bff.post("/bff/token")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


async def test_token_without_session_is_401(system: System) -> None:
    response = await system.bff.post("/bff/token", headers=JSON)
    assert response.status_code == 401


async def test_token_from_a_cross_site_page_is_refused(system: System, user_id: str) -> None:
    await login(system.bff)
    response = await system.bff.post(
        "/bff/token", headers={**JSON, "Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    response = await system.bff.post("/bff/token", headers={**JSON, "Sec-Fetch-Site": "same-site"})
    assert response.status_code == 403


async def test_token_scope_can_narrow(system: System, user_id: str) -> None:
    await login(system.bff)
    response = await system.bff.post("/bff/token", headers=JSON, json={"scope": "notes:read"})
    assert response.status_code == 200
    assert response.json()["scope"] == "notes:read"
    assert _claims(response.json()["access_token"])["scope"] == "notes:read"


@pytest.mark.parametrize("requested", ["admin", "notes:read admin", "notes:delete"])
async def test_token_scope_never_widens(system: System, user_id: str, requested: str) -> None:
    await login(system.bff)
    response = await system.bff.post("/bff/token", headers=JSON, data={"scope": requested})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_token_scope_of_wrong_type_is_400(system: System, user_id: str) -> None:
    await login(system.bff)
    response = await system.bff.post("/bff/token", headers=JSON, json={"scope": ["admin"]})
    assert response.status_code == 400
    response = await system.bff.post(
        "/bff/token", headers={**JSON, "Content-Type": "application/json"}, content=b"{not json"
    )
    assert response.status_code == 400


async def test_admin_session_token_carries_admin(system: System) -> None:
    await system.add_user("root@example.com", "admin horse battery staple", role="admin")
    await login(system.bff, email="root@example.com", password="admin horse battery staple")
    body = (await system.bff.post("/bff/token", headers=JSON)).json()
    assert body["scope"] == "notes:read notes:write admin"


async def test_token_endpoint_refuses_get(system: System, user_id: str) -> None:
    await login(system.bff)
    assert (await system.bff.get("/bff/token", headers=JSON)).status_code == 405


async def test_token_minting_is_rate_limited_per_session(system: System, user_id: str) -> None:
    await login(system.bff)
    for _ in range(TOKENS_PER_MINUTE):
        assert (await system.bff.post("/bff/token", headers=JSON)).status_code == 200
    response = await system.bff.post("/bff/token", headers=JSON)
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    other = system.new_browser()
    await login(other)
    assert (await other.post("/bff/token", headers=JSON)).status_code == 200
    system.clock.advance(60)
    assert (await system.bff.post("/bff/token", headers=JSON)).status_code == 200


async def test_token_minting_is_audited_without_the_token(
    system: System, user_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    await login(system.bff)
    with caplog.at_level("INFO", logger="bff.audit"):
        token = (await system.bff.post("/bff/token", headers=JSON)).json()["access_token"]
    events = [r.getMessage() for r in caplog.records if r.name == "bff.audit"]
    assert any('"event": "token.minted"' in line for line in events)
    assert all(token not in line for line in events)


async def test_a_token_never_outlives_its_session(system: System, user_id: str) -> None:
    await login(system.bff)
    for _ in range(35):  # keep sliding until 5 minutes before the 12-hour limit
        system.clock.advance(20 * 60)
        await system.bff.get("/bff/user", headers=JSON)
    system.clock.advance(12 * 3600 - 35 * 20 * 60 - 120)
    body = (await system.bff.post("/bff/token", headers=JSON)).json()
    # it ends the API's leeway before the session does, so it dies with it, leeway included
    assert body["expires_in"] == 120 - CLOCK_SKEW
    claims = _claims(body["access_token"])
    assert claims["exp"] - claims["iat"] == 120 - CLOCK_SKEW


async def test_no_token_is_minted_in_a_sessions_last_seconds(system: System, user_id: str) -> None:
    await login(system.bff)
    for _ in range(35):
        system.clock.advance(20 * 60)
        await system.bff.get("/bff/user", headers=JSON)
    system.clock.advance(12 * 3600 - 35 * 20 * 60 - CLOCK_SKEW + 1)
    response = await system.bff.post("/bff/token", headers=JSON)
    assert response.status_code == 401
    assert "access_token" not in response.json()


async def test_the_host_header_does_not_make_an_origin_acceptable(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    response = await system.bff.post(
        "/bff/token", headers={**JSON, "Origin": "https://evil.example", "Host": "evil.example"}
    )
    assert response.status_code == 403
    response = await system.bff.get("/dashboard/", headers={"Host": "evil.example"})
    assert response.status_code == 404  # no slash redirect built from the Host header


async def test_anonymous_calls_are_401_even_without_the_csrf_header(system: System) -> None:
    assert (await system.bff.get("/bff/user")).status_code == 401
    assert (await system.bff.post("/bff/token")).status_code == 401


@pytest.mark.bff_settings(js_tokens=False)
async def test_token_is_refused_in_pure_bff_mode_but_the_proxy_works(
    system: System, user_id: str
) -> None:
    assert (await system.bff.post("/bff/token", headers=JSON)).status_code == 401  # anonymous
    await login(system.bff)
    refused = await system.bff.post("/bff/token", headers=JSON)
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"
    assert "access_token" not in refused.text
    proxied = await system.bff.get("/api/me", headers=JSON)
    assert proxied.status_code == 200 and proxied.json()["sub"] == user_id
