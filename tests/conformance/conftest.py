"""The conformance suites' stack: the BFF and the API as real uvicorn processes on loopback (one
stack per module), a user, and clients registered through the real `python -m bff clients add`.
Clients nobody here wrote then drive it over HTTP, as they would drive any authorization server.

When a module's stack stops, its servers' logs are searched for every secret the run has handled
(the user's password, client secrets, cookies, tokens): one found there fails the module.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bff.cli.accounts import NOTES_CLI_ID
from bff.testing.launcher import ProcessGroup
from bff.testing.stack import LocalStack, local_stack
from tests.conformance.browser import Browser
from tests.secretwatch import WATCH

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "conformance@example.com"
WEB_REDIRECT = "https://app.example/callback"  # nothing serves it: the browser stops there
NATIVE_REDIRECT = "http://127.0.0.1/callback"  # RFC 8252 loopback: any port matches
START_TIMEOUT = 15.0
# uvicorn's access log stays on: a token in a logged URL is a leak the watch must see
UVICORN_OPTIONS = ("--access-log",)


@dataclass(frozen=True)
class Registered:
    client_id: str
    secret: str | None  # None: a public client


@dataclass(frozen=True, kw_only=True)
class Stack:
    bff_url: str
    api_url: str
    email: str
    password: str
    user_id: str
    service: Registered  # client_credentials, confidential
    web_app: Registered  # authorization_code + refresh_token, confidential
    native_app: Registered  # authorization_code + refresh_token, public (PKCE only)
    resource_server: Registered  # may introspect
    device_app: Registered  # the device-flow CLI that `bff init` registers, public

    @property
    def issuer(self) -> str:
        return self.bff_url

    def browser(self) -> Browser:
        return Browser(self.bff_url, email=self.email, password=self.password)


def register(
    stack: LocalStack,
    name: str,
    *,
    grants: tuple[str, ...],
    scope: str,
    redirect_uri: str | None = None,
    public: bool = False,
    resource_server: bool = False,
) -> Registered:
    """`python -m bff clients add …`, and the id and secret it printed."""
    options = [*(f"--grant={grant}" for grant in grants), f"--scope={scope}"]
    options += [f"--redirect-uri={redirect_uri}"] if redirect_uri else []
    options += ["--public"] if public else []
    options += ["--resource-server"] if resource_server else []
    printed = stack.cli("clients", "add", name, *options)
    lines = dict(line.split(": ", 1) for line in printed.splitlines() if ": " in line)
    secret = lines.get("client_secret")
    if secret is not None:
        WATCH.remember(secret)
    return Registered(lines["client_id"], secret)


def _clients(stack: LocalStack) -> dict[str, Registered]:
    service = ("client_credentials",)
    code = ("authorization_code", "refresh_token")
    return {
        "service": register(stack, "Conformance service", grants=service, scope="notes:read"),
        "web_app": register(
            stack,
            "Conformance web app",
            grants=code,
            scope="notes:read notes:write",
            redirect_uri=WEB_REDIRECT,
        ),
        "native_app": register(
            stack,
            "Conformance native app",
            grants=code,
            scope="notes:read",
            redirect_uri=NATIVE_REDIRECT,
            public=True,
        ),
        "resource_server": register(
            stack,
            "Conformance resource server",
            grants=service,
            scope="notes:read",
            resource_server=True,
        ),
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("conformance")
    local = local_stack(tmp, root=ROOT)
    password = secrets.token_urlsafe(15)  # 20 characters
    WATCH.remember(password)
    local.cli("init")
    # on standard input: argv is readable by every local user
    added = local.cli("users", "add", EMAIL, stdin=f"{password}\n")
    user_id = added.split()[-1]  # "added EMAIL (user) as u_…"
    stack = Stack(
        bff_url=local.bff_url,
        api_url=local.api_url,
        email=EMAIL,
        password=password,
        user_id=user_id,
        device_app=Registered(NOTES_CLI_ID, None),
        **_clients(local),
    )
    with ProcessGroup(log_dir=tmp / "logs") as servers:
        local.start(servers, timeout=START_TIMEOUT, options=UVICORN_OPTIONS)
        yield stack
    logs = {path.name: path.read_text(errors="replace") for path in (tmp / "logs").glob("*.log")}
    leaks = [(name, s[:6]) for name, text in logs.items() for s in WATCH.secrets if s in text]
    assert not leaks, f"a secret in a server log (log, its first characters): {leaks}"


@pytest.fixture
def user(stack: Stack) -> Iterator[Browser]:
    """The user at a fresh browser, for each test: it signs in when the BFF asks it to."""
    browser = stack.browser()
    yield browser
    browser.close()


def remember_tokens(body: dict[str, Any]) -> None:
    """Every token in a token response: none may show up in a server log."""
    for name in ("access_token", "refresh_token", "device_code"):
        if isinstance(body.get(name), str):
            WATCH.remember(body[name])


def api_me(stack: Stack, access_token: str) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        return client.get(
            f"{stack.api_url}/me", headers={"Authorization": f"Bearer {access_token}"}
        )
