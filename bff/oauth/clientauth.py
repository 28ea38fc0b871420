"""Client authentication at the OAuth endpoints (RFC 6749 §2.3): `client_secret_basic`,
`client_secret_post`, and `none` for public clients (which name themselves with `client_id`).

One method per request: a secret both in the header and in the body is refused. Failures are
counted in the shared counters per client id and per client network before any secret is
compared, so a guesser is slowed at once on every instance; every failure answers the same
`invalid_client`, known client or not.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus

from starlette.requests import Request

from bff.audit import Audit
from bff.oauth.clients import Client, ClientStore
from bff.oauth.errors import InvalidClient, InvalidRequest
from bff.security.ratelimit import RateLimit, client_network
from bff.security.unambiguous import one_header

MAX_CLIENT_ID = 128
MAX_SECRET = 256
THROTTLED = "too many failed client authentications: try again later"


@dataclass(frozen=True, kw_only=True)
class ClientAuthenticator:
    clients: ClientStore
    failures_per_client: RateLimit
    failures_per_network: RateLimit
    audit: Audit

    async def authenticate(self, request: Request, form: dict[str, str]) -> Client:
        client_id, secret = _credentials(request, form)
        network = client_network(request.state.client_ip)
        # per client *from a network*: client ids are public, so a count per id alone would let
        # anyone lock a client out; refused before any comparison once a count is used up
        pair = f"{len(client_id)}:{client_id}:{network}"
        await RateLimit.refuse_if_any_over(
            [(self.failures_per_client, pair), (self.failures_per_network, network)],
            THROTTLED,
            at_limit=True,
        )
        client = await self.clients.get(client_id)
        if client is None or not _proves(client, secret):
            await self.failures_per_client.hit(pair)
            await self.failures_per_network.hit(network)
            self.audit.event("client.auth_failed", request, client_id=client_id[:MAX_CLIENT_ID])
            raise InvalidClient()
        return client


def _proves(client: Client, secret: str | None) -> bool:
    if client.public:
        return not secret  # a public client has nothing to present (some send an empty one)
    return secret is not None and client.secret_matches(secret)


def _credentials(request: Request, form: dict[str, str]) -> tuple[str, str | None]:
    header = one_header(request, "authorization")
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    if header is not None:
        if form_secret is not None:
            raise InvalidRequest("use one client authentication method, not two")
        client_id, secret = _basic(header)
        if form_id is not None and form_id != client_id:
            raise InvalidClient()
        return client_id, secret
    if not form_id or len(form_id) > MAX_CLIENT_ID:
        raise InvalidClient()
    if form_secret is not None and len(form_secret) > MAX_SECRET:
        raise InvalidClient()
    return form_id, form_secret or None  # an empty secret is no secret, as in a Basic header


def _basic(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or len(encoded) > 4 * (MAX_CLIENT_ID + MAX_SECRET):
        raise InvalidClient()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient() from None
    raw_id, colon, raw_secret = decoded.partition(":")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined
    client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
    if not colon or not client_id or len(client_id) > MAX_CLIENT_ID or len(secret) > MAX_SECRET:
        raise InvalidClient()
    return client_id, secret
