"""The OAuth client registry, in the BFF's database (beside the users).

A confidential client holds a 256-bit random secret, shown once at registration and stored only
as its SHA-256: the secret is high-entropy, so a fast hash is as safe as a slow one and keeps a
grant at microseconds, not the tens of milliseconds argon2 would cost. A public client (a native
or browser app that cannot keep a secret) has none and must use PKCE. Each client lists the
grants it may use, the scopes it may be given and its exact redirect URIs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from bff.errors import BadRequest, StoreUnavailable
from bff.stores import SqliteStore
from contract.tokens import SCOPES

CLIENT_CREDENTIALS = "client_credentials"
AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
GRANTS = (CLIENT_CREDENTIALS, AUTHORIZATION_CODE, DEVICE_CODE, REFRESH_TOKEN)
GRANT_ALIASES = {"device_code": DEVICE_CODE}
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
MAX_NAME_LENGTH = 100
MAX_REDIRECT_LENGTH = 2000
HOSTNAME = re.compile(r"[A-Za-z0-9.\-]{1,253}|[0-9a-fA-F:]{2,39}")


@dataclass(frozen=True, kw_only=True)
class Client:
    client_id: str
    name: str
    secret_hash: str | None  # None: a public client
    grants: frozenset[str]
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    resource_server: bool  # may introspect tokens
    created_at: float

    @property
    def public(self) -> bool:
        return self.secret_hash is None

    def secret_matches(self, secret: str) -> bool:
        return self.secret_hash is not None and hmac.compare_digest(
            self.secret_hash, hash_secret(secret)
        )


class ClientStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def get(self, client_id: str) -> Client | None: ...

    async def all(self) -> list[Client]: ...

    async def add(self, client: Client) -> None: ...

    async def remove(self, client_id: str) -> bool: ...

    async def set_secret_hash(self, client_id: str, secret_hash: str) -> bool: ...


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def new_client(
    *,
    name: str,
    grants: Iterable[str],
    scopes: Iterable[str],
    redirect_uris: Iterable[str] = (),
    public: bool = False,
    resource_server: bool = False,
    client_id: str | None = None,
    now: float,
) -> tuple[Client, str | None]:
    """A validated new client and its secret (None for a public client): BadRequest naming the
    problem for anything the registry must not hold."""
    grant_set = frozenset(GRANT_ALIASES.get(grant, grant) for grant in grants)
    scope_list = tuple(dict.fromkeys(scope for text in scopes for scope in text.split()))
    uris = tuple(dict.fromkeys(redirect_uris))
    _check(name, grant_set, scope_list, uris, public=public)
    secret = None if public else new_secret()
    client = Client(
        client_id=client_id or f"c_{secrets.token_urlsafe(12)}",
        name=name.strip(),
        secret_hash=None if secret is None else hash_secret(secret),
        grants=grant_set,
        scopes=scope_list,
        redirect_uris=uris,
        resource_server=resource_server,
        created_at=now,
    )
    return client, secret


def _check(
    name: str,
    grants: frozenset[str],
    scopes: tuple[str, ...],
    uris: tuple[str, ...],
    *,
    public: bool,
) -> None:
    if not name.strip() or len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise BadRequest(f"the name must be 1 to {MAX_NAME_LENGTH} printable characters")
    unknown = sorted(grants - set(GRANTS))
    if unknown or not grants:
        raise BadRequest(f"grants must be some of {', '.join(GRANTS)}; got {unknown or 'none'}")
    if public and CLIENT_CREDENTIALS in grants:
        raise BadRequest("a public client cannot use client_credentials: it has no secret")
    if grants == {REFRESH_TOKEN}:
        raise BadRequest("refresh_token alone grants nothing: add the grant that starts it")
    extra = [scope for scope in scopes if scope not in SCOPES]
    if extra or not scopes:
        raise BadRequest(f"scopes must be some of {', '.join(SCOPES)}; got {extra or 'none'}")
    if AUTHORIZATION_CODE in grants and not uris:
        raise BadRequest("the authorization_code grant needs at least one --redirect-uri")
    for uri in uris:
        problem = redirect_uri_problem(uri)
        if problem:
            raise BadRequest(f"redirect URI {uri!r}: {problem}")


def redirect_uri_problem(uri: str) -> str | None:
    """What makes `uri` unfit to register (RFC 6749 §3.1.2, RFC 8252 §7), or None."""
    if len(uri) > MAX_REDIRECT_LENGTH or not uri.isprintable() or " " in uri:
        return "too long or not printable"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "not a URL"
    if parts.fragment or "#" in uri:
        return "a redirect URI must not have a fragment"
    if parts.username or parts.password:
        return "a redirect URI must not carry credentials"
    if parts.scheme in ("http", "https") and not HOSTNAME.fullmatch(parts.hostname or ""):
        return "the host must be a DNS name or an IP address"
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return None  # a native app's loopback listener (RFC 8252 §7.3)
    if "." in parts.scheme and parts.scheme.isascii() and not parts.netloc:
        return None  # a native app's private-use scheme, reverse domain (RFC 8252 §7.1)
    return "must be https, http on loopback, or a reverse-domain private-use scheme"


def redirect_uri_matches(registered: str, requested: str) -> bool:
    """Exact match, except that a loopback redirect matches on any port (RFC 8252 §7.3)."""
    if hmac.compare_digest(registered.encode(), requested.encode()):
        return True
    ours, theirs = urlsplit(registered), urlsplit(requested)
    if ours.scheme != "http" or ours.hostname not in LOOPBACK_HOSTS:
        return False
    try:
        _ = theirs.port  # a malformed port is no match
    except ValueError:
        return False
    same = (ours.scheme, ours.hostname, ours.path, ours.query) == (
        theirs.scheme,
        theirs.hostname,
        theirs.path,
        theirs.query,
    )
    return same and not theirs.username and not theirs.password and not theirs.fragment


_SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_clients (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT,
    grants TEXT NOT NULL,
    scopes TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    resource_server INTEGER NOT NULL,
    created_at REAL NOT NULL
);
"""


class SqliteClientStore(SqliteStore):
    SCHEMA = _SCHEMA
    NAME = "client store"

    async def get(self, client_id: str) -> Client | None:
        rows = self._run("SELECT * FROM oauth_clients WHERE client_id = ?", (client_id,))
        return _client(rows[0]) if rows else None

    async def all(self) -> list[Client]:
        rows = self._run("SELECT * FROM oauth_clients ORDER BY created_at, client_id")
        return [_client(row) for row in rows]

    async def add(self, client: Client) -> None:
        try:
            self._run(
                "INSERT INTO oauth_clients (client_id, name, secret_hash, grants, scopes, "
                "redirect_uris, resource_server, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    client.client_id,
                    client.name,
                    client.secret_hash,
                    json.dumps(sorted(client.grants)),
                    json.dumps(list(client.scopes)),
                    json.dumps(list(client.redirect_uris)),
                    int(client.resource_server),
                    client.created_at,
                ),
            )
        except StoreUnavailable as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise BadRequest("a client with that id already exists") from None
            raise

    async def remove(self, client_id: str) -> bool:
        rows = self._run(
            "DELETE FROM oauth_clients WHERE client_id = ? RETURNING client_id", (client_id,)
        )
        return bool(rows)

    async def set_secret_hash(self, client_id: str, secret_hash: str) -> bool:
        rows = self._run(
            "UPDATE oauth_clients SET secret_hash = ? WHERE client_id = ? "
            "AND secret_hash IS NOT NULL RETURNING client_id",
            (secret_hash, client_id),
        )
        return bool(rows)


def _client(row: sqlite3.Row) -> Client:
    return Client(
        client_id=row["client_id"],
        name=row["name"],
        secret_hash=row["secret_hash"],
        grants=frozenset(json.loads(row["grants"])),
        scopes=tuple(json.loads(row["scopes"])),
        redirect_uris=tuple(json.loads(row["redirect_uris"])),
        resource_server=bool(row["resource_server"]),
        created_at=float(row["created_at"]),
    )
