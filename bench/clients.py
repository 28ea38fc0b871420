"""The OAuth clients of the token-endpoint benchmark, registered as an operator registers them:
`python -m bff clients add` with the stack's environment, its `client_id:` and `client_secret:`
lines read back. A confidential service for client credentials (`client_secret_basic`), a
public app for refresh rotation (it names itself with `client_id`, no secret)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx

from bench.errors import HarnessError
from bench.stack import Stack, run_cli

SCOPE = "notes:read"
TOKEN_PATH = "/oauth/token"
CLIENT_CREDENTIALS = {"grant_type": "client_credentials", "scope": SCOPE}


@dataclass(frozen=True, kw_only=True)
class BenchClients:
    service_id: str
    service_secret: str
    app_id: str  # public

    @property
    def service_basic(self) -> str:
        """The service's Authorization header value (RFC 6749 §2.3.1: each part urlencoded)."""
        pair = f"{quote_plus(self.service_id)}:{quote_plus(self.service_secret)}"
        return f"Basic {base64.b64encode(pair.encode()).decode()}"

    @property
    def service_headers(self) -> dict[str, str]:
        return {"Authorization": self.service_basic}

    def refresh_form(self, token: str) -> dict[str, str]:
        return {"grant_type": "refresh_token", "client_id": self.app_id, "refresh_token": token}


def register_clients(st: Stack) -> BenchClients:
    service = _add(st, "Bench service", "--grant", "client_credentials")
    app = _add(st, "Bench app", "--grant", "device_code", "--grant", "refresh_token", "--public")
    if "client_secret" not in service or "client_secret" in app:
        raise HarnessError("clients add: no secret for the service, or one for the public app")
    return BenchClients(
        service_id=service["client_id"],
        service_secret=service["client_secret"],
        app_id=app["client_id"],
    )


def _add(st: Stack, name: str, *options: str) -> dict[str, str]:
    """The `name: value` lines that `clients add` printed."""
    output = run_cli(st.env, "clients", "add", name, *options, "--scope", SCOPE)
    lines = (line.partition(": ") for line in output.splitlines())
    fields = {key: value.strip() for key, sep, value in lines if sep}
    if not fields.get("client_id"):
        raise HarnessError(f"python -m bff clients add printed no client_id:\n{output}")
    return fields


def request_token(st: Stack, form: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
    """A precondition: `POST /oauth/token` answers 200 with an access token; its JSON."""
    with httpx.Client(base_url=st.bff_url, timeout=10.0) as client:
        response = client.post(TOKEN_PATH, data=form, headers=headers)
    body = response.json() if response.status_code == 200 else {}
    if "access_token" not in body:
        raise HarnessError(
            f"precondition: POST {TOKEN_PATH} ({form['grant_type']}) answered "
            f"{response.status_code}: {response.text[:300]}"
        )
    return dict(body)
