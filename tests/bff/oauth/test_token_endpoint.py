"""The token endpoint's contract (RFC 6749 §3.2, §5.2): form bodies only, every error in its
JSON shape, invalid_client as 401 with a challenge, one authentication method, throttled
failures."""

from __future__ import annotations

import base64

import pytest

from tests.bff.oauth.conftest import register, token
from tests.conftest import System

pytestmark = pytest.mark.anyio


async def test_json_bodies_are_refused_as_invalid_request(system: System) -> None:
    service = await register(system, grants=("client_credentials",))
    response = await system.bff.post(
        "/oauth/token", json={"grant_type": "client_credentials", **service.post_auth()}
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "auth",
    [
        {"client_id": "c_unknown", "client_secret": "x"},
        {"client_id": "WRONG", "client_secret": "WRONG"},
        {},
    ],
)
async def test_failed_client_authentication_is_401_with_a_challenge(
    system: System, auth: dict[str, str]
) -> None:
    service = await register(system, grants=("client_credentials",))
    form = {"grant_type": "client_credentials", **auth}
    if auth.get("client_id") == "WRONG":
        form |= {"client_id": service.client_id, "client_secret": "not the secret"}
    response = await system.bff.post("/oauth/token", data=form)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["cache-control"] == "no-store"


async def test_a_confidential_client_without_its_secret_is_refused(system: System) -> None:
    service = await register(system, grants=("client_credentials",))
    response = await system.bff.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": service.client_id}
    )
    assert response.status_code == 401


async def test_two_authentication_methods_at_once_are_refused(system: System) -> None:
    service = await register(system, grants=("client_credentials",))
    response = await system.bff.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_secret": service.secret or ""},
        headers=service.basic(),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_basic_credentials_are_form_decoded_first(system: System) -> None:
    service = await register(system, grants=("client_credentials",))
    assert service.secret is not None
    encoded = service.secret.replace("-", "%2D").replace("_", "%5F")
    raw = f"{service.client_id}:{encoded}".encode()
    headers = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    response = await system.bff.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=headers
    )
    assert response.status_code == 200


async def test_a_grant_the_client_is_not_registered_for_is_unauthorized_client(
    system: System,
) -> None:
    service = await register(system, grants=("client_credentials",))
    response = await token(system, service, grant_type="refresh_token", refresh_token="x" * 43)
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"


async def test_password_and_unknown_grants_are_unsupported(system: System) -> None:
    service = await register(system, grants=("client_credentials",))
    for grant in ("password", "implicit", "urn:example:custom"):
        response = await token(system, service, grant_type=grant, username="a", password="b")
        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_grant_type"


async def test_a_parameter_sent_twice_is_invalid_request(system: System) -> None:
    service = await register(system, grants=("client_credentials",))
    body = f"grant_type=client_credentials&client_id={service.client_id}"
    body += f"&client_secret={service.secret}&scope=notes:read&scope=admin"
    response = await system.bff.post(
        "/oauth/token",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_failed_authentication_is_throttled_even_for_the_right_secret(
    system: System,
) -> None:
    service = await register(system, grants=("client_credentials",))
    for _ in range(11):  # ten failures are checked; the eleventh attempt is refused unchecked
        wrong = await system.bff.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": service.client_id,
                "client_secret": "a wrong guess",
            },
        )
    assert wrong.status_code == 429 and "retry-after" in wrong.headers
    right = await token(system, service, grant_type="client_credentials")
    assert right.status_code == 429
    system.clock.advance(5 * 60)
    assert (await token(system, service, grant_type="client_credentials")).status_code == 200


async def test_the_metadata_lists_everything_that_is_served(system: System) -> None:
    body = (await system.bff.get("/.well-known/oauth-authorization-server")).json()
    endpoints = {
        "authorization": "authorize",
        "token": "token",
        "device_authorization": "device_authorization",
        "revocation": "revoke",
        "introspection": "introspect",
    }
    for name, path in endpoints.items():
        assert body[f"{name}_endpoint"] == f"https://bff.test/oauth/{path}"
    assert body["response_types_supported"] == ["code"]
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert set(body["grant_types_supported"]) == {
        "client_credentials",
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    }
    assert set(body["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "none",
    }
    assert body["authorization_response_iss_parameter_supported"] is True


async def test_failures_from_one_network_do_not_lock_the_client_out_elsewhere(
    system: System,
) -> None:
    import httpx

    service = await register(system, grants=("client_credentials",))
    wrong = {
        "grant_type": "client_credentials",
        "client_id": service.client_id,
        "client_secret": "a wrong guess",
    }
    for _ in range(11):
        await system.bff.post("/oauth/token", data=wrong)
    assert (await token(system, service, grant_type="client_credentials")).status_code == 429
    elsewhere = httpx.ASGITransport(app=system.bff_app, client=("198.51.100.7", 4000))
    async with httpx.AsyncClient(transport=elsewhere, base_url="https://bff.test") as other:
        response = await other.post(
            "/oauth/token", data={"grant_type": "client_credentials", **service.post_auth()}
        )
    assert response.status_code == 200


async def test_every_oauth_error_is_uncached(system: System) -> None:
    response = await system.bff.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers=[("authorization", "Basic eDp5"), ("authorization", "Basic eDp5")],
    )
    assert response.status_code == 400
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["cache-control"] == "no-store"


async def test_a_public_clients_empty_secret_is_no_secret(system: System) -> None:
    cli = await register(system, grants=("device_code",), public=True)
    response = await system.bff.post(
        "/oauth/device_authorization", data={"client_id": cli.client_id, "client_secret": ""}
    )
    assert response.status_code == 200
