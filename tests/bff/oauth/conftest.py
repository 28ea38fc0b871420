"""What the OAuth suites share: clients registered the way the CLI registers them, token
requests, a PKCE pair, and a user who signs in and consents in the browser client."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bff.oauth.clients import new_client
from bff.oauth.codes import s256
from tests.bff.oauth.test_backends import records
from tests.conftest import JSON, System, csrf_from, login
from tests.secretwatch import WATCH

REDIRECT = "https://app.example/callback"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class Registered:
    client_id: str
    secret: str | None

    def basic(self) -> dict[str, str]:
        assert self.secret is not None
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def post_auth(self) -> dict[str, str]:
        if self.secret is None:
            return {"client_id": self.client_id}
        return {"client_id": self.client_id, "client_secret": self.secret}


async def register(
    system: System,
    *,
    grants: tuple[str, ...],
    scopes: str = "notes:read notes:write",
    redirect_uris: tuple[str, ...] = (),
    public: bool = False,
    resource_server: bool = False,
    name: str = "Test app",
) -> Registered:
    client, secret = new_client(
        name=name,
        grants=grants,
        scopes=[scopes],
        redirect_uris=redirect_uris,
        public=public,
        resource_server=resource_server,
        now=system.clock.now(),
    )
    await system.bff_app.state.components.clients.add(client)
    if secret is not None:
        WATCH.remember(secret)
    return Registered(client.client_id, secret)


async def token(system: System, client: Registered, **form: str) -> httpx.Response:
    response = await system.bff.post("/oauth/token", data={**client.post_auth(), **form})
    _remember(response)
    return response


def _remember(response: httpx.Response) -> None:
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        for name in ("access_token", "refresh_token", "device_code"):
            if isinstance(body.get(name), str):
                WATCH.remember(body[name])


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str


def pkce() -> Pkce:
    verifier = secrets.token_urlsafe(48)
    return Pkce(verifier, s256(verifier))


def authorize_url(client: Registered, challenge: str, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT,
        "scope": "notes:read",
        "state": "st-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return "/oauth/authorize?" + str(httpx.QueryParams(params))


# Fetch Metadata of the user's own click on a form, and of what a script in the page can send
CLICKED = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-User": "?1"}
SCRIPTED = {
    "fetch": {"Sec-Fetch-Mode": "same-origin", "Sec-Fetch-Dest": "empty"},
    "form.submit()": {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},
    "an iframe": {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe", "Sec-Fetch-User": "?1"},
}


# Safari (and every iOS browser) sends no Sec-Fetch-User at all: its click is Mode and Dest only
SAFARI = {
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Dest": "document",
    "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.0 Safari/605.1.15",
}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def consent(
    system: System, url: str, *, decision: str = "allow", headers: dict[str, str] | None = None
) -> httpx.Response:
    """Open the authorization URL in the signed-in browser and answer its consent page (or take
    the redirect straight away when the consent is remembered)."""
    page = await system.bff.get(url)
    if page.status_code == 303:
        return page
    assert page.status_code == 200, page.text
    fields = dict(
        (name, value) for name, value in _hidden_fields(page.text) if name != "csrf_token"
    )
    return await system.bff.post(
        "/oauth/authorize",
        data={**fields, "csrf_token": csrf_from(page.text), "decision": decision},
        headers=headers,
    )


def _hidden_fields(html: str) -> list[tuple[str, str]]:
    import html as html_lib
    import re

    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    return [(name, html_lib.unescape(value)) for name, value in found]


async def code_for(system: System, client: Registered, verifier: Pkce, **extra: str) -> str:
    response = await consent(system, authorize_url(client, verifier.challenge, **extra))
    assert response.status_code == 303, response.text
    query = query_of(response.headers["location"])
    assert "code" in query, query
    return query["code"]


async def tokens_by_code(system: System, client: Registered) -> dict[str, Any]:
    verifier = pkce()
    code = await code_for(system, client, verifier)
    response = await token(
        system,
        client,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=verifier.verifier,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def signed_in(system: System, user_id: str) -> str:
    await login(system.bff)
    return user_id


async def me(system: System, access_token: str) -> httpx.Response:
    return await system.api.get("/me", headers={"Authorization": f"Bearer {access_token}"})


__all__ = ["JSON", "records"]
