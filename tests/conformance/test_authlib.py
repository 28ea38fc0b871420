"""Authlib's OAuth 2 client (its httpx integration), used unchanged through its public API,
against the real stack: the metadata through Authlib's own RFC 8414 validator, client
credentials with both secret methods, the authorization code with PKCE for a confidential and a
public client, refresh rotation and reuse, revocation, and introspection."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from authlib.oauth2 import rfc8414, rfc9207

from bff.testing.launcher import free_port
from tests.conformance.browser import Browser
from tests.conformance.conftest import (
    WEB_REDIRECT,
    Registered,
    Stack,
    api_me,
    remember_tokens,
)

PUSH_TIMEOUT = 5.0  # for a revocation to reach the API through its feed


@pytest.fixture(scope="module")
def metadata(stack: Stack) -> dict[str, Any]:
    url = f"{stack.issuer}/.well-known/oauth-authorization-server"
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        response = client.get(url)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _remember(response: httpx2.Response) -> None:
    if response.headers.get("content-type", "").startswith("application/json"):
        response.read()
        remember_tokens(response.json())


def _client(registered: Registered, metadata: dict[str, Any], **options: Any) -> OAuth2Client:
    """An Authlib client of ours, as an application would configure it from the metadata."""
    hooks = options.pop("event_hooks", {})
    return OAuth2Client(
        client_id=registered.client_id,
        client_secret=registered.secret,
        token_endpoint=metadata["token_endpoint"],
        code_challenge_method="S256",
        trust_env=False,  # loopback: never through a proxy named in the environment
        timeout=10.0,
        event_hooks={"response": [_remember], **hooks},
        **options,
    )


@dataclass(frozen=True)
class CodeFlow:
    token: dict[str, Any]
    state: str  # the one Authlib sent
    callback: str  # where the BFF sent the user back

    @property
    def returned(self) -> dict[str, str]:
        return {name: values[0] for name, values in parse_qs(urlsplit(self.callback).query).items()}


def _signed_in(client: OAuth2Client, user: Browser, metadata: dict[str, Any]) -> CodeFlow:
    """The authorization code flow, from the URL Authlib builds to its token request (which
    checks the state that came back)."""
    verifier = generate_token(48)
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier
    )
    callback = user.authorize(url)
    token = client.fetch_token(authorization_response=callback, state=state, code_verifier=verifier)
    return CodeFlow(token=dict(token), state=state, callback=callback)


def _refused_at_the_api(stack: Stack, access_token: str) -> int:
    """The API's status for the token once the revocation has been pushed to it (or the last
    status seen when PUSH_TIMEOUT passes first)."""
    deadline = time.monotonic() + PUSH_TIMEOUT
    status = api_me(stack, access_token).status_code
    while status == 200 and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for a push over the feed, not for an expiry
        status = api_me(stack, access_token).status_code
    return status


def test_the_metadata_passes_authlibs_rfc8414_and_rfc9207_validation(
    stack: Stack, metadata: dict[str, Any]
) -> None:
    document = rfc8414.AuthorizationServerMetadata(metadata)
    document.validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])
    assert document.issuer == stack.issuer
    assert document.token_endpoint == f"{stack.issuer}/oauth/token"
    assert document.code_challenge_methods_supported == ["S256"]
    assert document["authorization_response_iss_parameter_supported"] is True


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_credentials_gives_a_token_the_api_accepts(
    stack: Stack, metadata: dict[str, Any], method: str
) -> None:
    sent: list[httpx2.Request] = []
    with _client(
        stack.service,
        metadata,
        token_endpoint_auth_method=method,
        event_hooks={"request": [sent.append]},
    ) as client:
        token = client.fetch_token(grant_type="client_credentials")
        assert token["token_type"] == "Bearer" and token["scope"] == "notes:read"
        assert token["expires_in"] == 300 and "refresh_token" not in token
        authorization = sent[0].headers.get("authorization", "")
        in_body = b"client_secret=" in sent[0].content
        assert (authorization.startswith("Basic "), in_body) == (
            (True, False) if method == "client_secret_basic" else (False, True)
        )
        me = client.get(f"{stack.api_url}/me")  # Authlib attaches the token
        assert me.status_code == 200
        assert me.json()["sub"] == me.json()["client_id"] == stack.service.client_id


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_a_wrong_secret_is_invalid_client(
    metadata: dict[str, Any], stack: Stack, method: str
) -> None:
    wrong = Registered(stack.service.client_id, secret="not-the-secret-" + "x" * 30)
    with _client(wrong, metadata, token_endpoint_auth_method=method) as client:
        with pytest.raises(OAuthError) as refused:
            client.fetch_token(grant_type="client_credentials")
    assert refused.value.error == "invalid_client"


@pytest.mark.parametrize(
    ("app", "scope", "auth_method"),
    [
        ("web_app", "notes:read notes:write", "client_secret_basic"),
        ("native_app", "notes:read", "none"),  # public: PKCE is all it has
    ],
)
def test_authorization_code_with_pkce_gives_the_users_token_with_state_and_iss(
    stack: Stack,
    user: Browser,
    metadata: dict[str, Any],
    app: str,
    scope: str,
    auth_method: str,
) -> None:
    registered: Registered = getattr(stack, app)
    # a native app listens on a loopback port of its own (RFC 8252 §7.3)
    redirect_uri = WEB_REDIRECT if app == "web_app" else f"http://127.0.0.1:{free_port()}/callback"
    with _client(
        registered,
        metadata,
        redirect_uri=redirect_uri,
        scope=scope,
        token_endpoint_auth_method=auth_method,
    ) as client:
        flow = _signed_in(client, user, metadata)
        assert flow.callback.startswith(redirect_uri + "?")
        assert flow.returned["state"] == flow.state
        assert flow.returned["iss"] == stack.issuer  # RFC 9207
        token = flow.token
        assert token["token_type"] == "Bearer" and token["scope"] == scope
        assert token["expires_in"] == 300 and token["refresh_token"]
        me = client.get(f"{stack.api_url}/me")
        assert me.status_code == 200
        assert me.json()["sub"] == stack.user_id
        assert me.json()["client_id"] == registered.client_id


@pytest.fixture
def web_app(stack: Stack, metadata: dict[str, Any]) -> Iterator[OAuth2Client]:
    with _client(
        stack.web_app, metadata, redirect_uri=WEB_REDIRECT, scope="notes:read notes:write"
    ) as client:
        yield client


def test_refresh_rotates_and_a_spent_refresh_token_ends_the_grant(
    stack: Stack, user: Browser, metadata: dict[str, Any], web_app: OAuth2Client
) -> None:
    first = _signed_in(web_app, user, metadata).token
    second = dict(web_app.refresh_token())
    third = dict(web_app.refresh_token())
    refresh_tokens = {first["refresh_token"], second["refresh_token"], third["refresh_token"]}
    access_tokens = {first["access_token"], second["access_token"], third["access_token"]}
    assert len(refresh_tokens) == len(access_tokens) == 3  # a new one at every refresh
    with pytest.raises(OAuthError) as reused:
        web_app.refresh_token(refresh_token=first["refresh_token"])
    assert reused.value.error == "invalid_grant"
    # reuse revokes the whole grant: the newest refresh token and access token die with it
    with pytest.raises(OAuthError) as newest:
        web_app.refresh_token(refresh_token=third["refresh_token"])
    assert newest.value.error == "invalid_grant"
    assert _refused_at_the_api(stack, third["access_token"]) == 401


def test_a_revoked_refresh_token_cannot_refresh_and_its_access_token_dies(
    stack: Stack, user: Browser, metadata: dict[str, Any], web_app: OAuth2Client
) -> None:
    token = _signed_in(web_app, user, metadata).token
    revoked = web_app.revoke_token(
        metadata["revocation_endpoint"],
        token=token["refresh_token"],
        token_type_hint="refresh_token",
    )
    assert revoked.status_code == 200
    assert revoked.headers["cache-control"] == "no-store"
    with pytest.raises(OAuthError) as refused:
        web_app.refresh_token()
    assert refused.value.error == "invalid_grant"
    assert _refused_at_the_api(stack, token["access_token"]) == 401


def test_introspection_describes_a_token_until_it_is_revoked(
    stack: Stack, metadata: dict[str, Any]
) -> None:
    introspection = metadata["introspection_endpoint"]
    with (
        _client(stack.service, metadata) as service,
        _client(stack.resource_server, metadata) as resource_server,
    ):
        access_token = service.fetch_token(grant_type="client_credentials")["access_token"]
        live = resource_server.introspect_token(introspection, token=access_token)
        assert live.status_code == 200
        assert live.json()["active"] is True
        assert live.json()["client_id"] == stack.service.client_id
        assert live.json()["iss"] == stack.issuer
        revoked = service.revoke_token(
            metadata["revocation_endpoint"], token=access_token, token_type_hint="access_token"
        )
        assert revoked.status_code == 200
        gone = resource_server.introspect_token(introspection, token=access_token)
        assert gone.status_code == 200 and gone.json() == {"active": False}
