"""panva's oauth4webapi (Node), used as its README shows, against the real stack: RFC 8414
discovery, client credentials with both secret methods, the authorization code with PKCE (its
callback checked for state and iss), refresh rotation and reuse, the device flow and revocation;
every access token both used at the API and checked as an RFC 9068 resource server would."""

from __future__ import annotations

from typing import Any

import pytest

from bff.testing.launcher import free_port
from tests.conformance.browser import Browser
from tests.conformance.conftest import WEB_REDIRECT, Registered, Stack, remember_tokens
from tests.conformance.node import NodeClient, installed


@pytest.fixture(scope="module")
def node_client() -> NodeClient:
    """oauth4webapi from the npm registry, installed again only when its lock changed."""
    return installed()


def _config(stack: Stack, client: Registered, **extra: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "issuer": stack.issuer,
        "api_url": stack.api_url,
        "client_id": client.client_id,
        **extra,
    }
    if client.secret is not None:
        config["client_secret"] = client.secret
    return config


def _run(node_client: NodeClient, step: str, config: dict[str, Any]) -> dict[str, Any]:
    answer = node_client.run(step, config)
    for value in answer.values():
        if isinstance(value, dict):
            remember_tokens(value)
    return answer


def _accepted(stack: Stack, api: dict[str, Any], *, sub: str, client: Registered) -> None:
    """The API's answer and oauth4webapi's RFC 9068 check of one access token."""
    assert api["status"] == 200
    assert api["body"]["sub"] == sub and api["body"]["client_id"] == client.client_id
    claims = api["claims"]
    assert claims["iss"] == stack.issuer and claims["aud"] == stack.api_url
    assert claims["client_id"] == client.client_id and claims["sub"] == sub


def test_discovery_finds_every_endpoint_under_the_issuer(
    stack: Stack, node_client: NodeClient
) -> None:
    metadata = _run(node_client, "discover", {"issuer": stack.issuer})["metadata"]
    assert metadata["issuer"] == stack.issuer
    for endpoint, path in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("introspection_endpoint", "/oauth/introspect"),
        ("device_authorization_endpoint", "/oauth/device_authorization"),
        ("jwks_uri", "/.well-known/jwks.json"),
    ]:
        assert metadata[endpoint] == stack.issuer + path
    assert metadata["authorization_response_iss_parameter_supported"] is True


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_client_credentials_gives_an_rfc9068_token_the_api_accepts(
    stack: Stack, node_client: NodeClient, auth: str
) -> None:
    config = _config(stack, stack.service, scope="notes:read", auth=auth)
    answer = _run(node_client, "client-credentials", config)
    tokens = answer["tokens"]
    assert tokens["token_type"] == "bearer"  # oauth4webapi lower-cases it
    assert tokens["expires_in"] == 300 and tokens["scope"] == "notes:read"
    assert "refresh_token" not in tokens
    _accepted(stack, answer["api"], sub=stack.service.client_id, client=stack.service)


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_a_wrong_secret_is_invalid_client_with_a_basic_challenge(
    stack: Stack, node_client: NodeClient, auth: str
) -> None:
    wrong = Registered(stack.service.client_id, secret="not-the-secret-" + "x" * 30)
    config = _config(stack, wrong, scope="notes:read", auth=auth)
    refused = _run(node_client, "client-credentials", config)["refused"]
    assert refused["status"] == 401 and refused["error"] == "invalid_client"
    assert [challenge["scheme"] for challenge in refused["challenges"]] == ["basic"]


def test_authorization_code_with_pkce_then_refresh_rotation_and_reuse(
    stack: Stack, node_client: NodeClient, user: Browser
) -> None:
    config = _config(stack, stack.web_app, redirect_uri=WEB_REDIRECT, scope="notes:read")
    request = _run(node_client, "authorize", config)
    callback = user.authorize(request["url"])
    answer = _run(
        node_client,
        "code",
        {**config, "callback": callback, **{k: request[k] for k in ("state", "code_verifier")}},
    )
    tokens, refreshed = answer["tokens"], answer["refreshed"]
    assert tokens["token_type"] == "bearer" and tokens["scope"] == "notes:read"
    _accepted(stack, answer["api"], sub=stack.user_id, client=stack.web_app)
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    assert answer["reused"]["error"] == "invalid_grant" and answer["reused"]["status"] == 400
    # reuse ends the grant: the refresh token issued last is refused too
    assert answer["after_reuse"]["error"] == "invalid_grant"


def test_a_denied_authorization_comes_back_as_access_denied_with_state_and_iss(
    stack: Stack, node_client: NodeClient, user: Browser
) -> None:
    # the native app on a port of its own (RFC 8252 §7.3), whose consent no other test gives
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    config = _config(stack, stack.native_app, redirect_uri=redirect_uri, scope="notes:read")
    request = _run(node_client, "authorize", config)
    callback = user.authorize(request["url"], decision="deny")
    assert callback.startswith(redirect_uri + "?")
    answer = _run(
        node_client, "callback-error", {**config, "callback": callback, "state": request["state"]}
    )
    assert answer["error"] == "access_denied"


def test_device_flow_for_a_public_client_then_revocation(
    stack: Stack, node_client: NodeClient, user: Browser
) -> None:
    config = _config(stack, stack.device_app, scope="notes:read")
    device = _run(node_client, "device-start", config)["device"]
    assert device["verification_uri"] == f"{stack.issuer}/device"
    assert device["expires_in"] > 0 and device["interval"] >= 1
    polled = _run(node_client, "device-poll", {**config, "device_code": device["device_code"]})
    assert polled["error"] == "authorization_pending" and polled["status"] == 400
    done = user.approve_device(device["verification_uri_complete"])
    assert done.status_code == 200
    answer = _run(node_client, "device-finish", {**config, "device_code": device["device_code"]})
    assert answer["tokens"]["scope"] == "notes:read" and answer["tokens"]["refresh_token"]
    _accepted(stack, answer["api"], sub=stack.user_id, client=stack.device_app)
    assert answer["revoked_status"] == 200
    assert answer["after_revoke"]["error"] == "invalid_grant"
