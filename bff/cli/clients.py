"""`clients add | list | remove | rotate-secret`: the OAuth client registry. A new secret is shown
once, on a line of its own, and never again (only its SHA-256 is kept)."""

from __future__ import annotations

import argparse
from typing import Any

from bff.errors import BffError
from bff.oauth.clients import GRANT_ALIASES, GRANTS, hash_secret, new_client, new_secret
from bff.settings import Settings
from bff.wiring import Components, opened


def add_commands(commands: Any) -> None:
    clients = commands.add_parser("clients", help="OAuth clients").add_subparsers(required=True)
    add = clients.add_parser("add", help="register a client")
    add.add_argument("name")
    grants = sorted({*GRANTS, *GRANT_ALIASES})
    add.add_argument("--grant", action="append", required=True, choices=grants, dest="grants")
    add.add_argument("--scope", required=True, help='the scopes it may get, e.g. "notes:read"')
    add.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
    add.add_argument("--public", action="store_true", help="no secret (native apps): PKCE only")
    add.add_argument(
        "--resource-server", action="store_true", help="may introspect tokens (RFC 7662)"
    )
    add.set_defaults(handler=_add)
    clients.add_parser("list", help="list the clients").set_defaults(handler=_list)
    remove = clients.add_parser("remove", help="remove a client")
    remove.add_argument("client_id")
    remove.set_defaults(handler=_remove)
    rotate = clients.add_parser("rotate-secret", help="replace a client's secret")
    rotate.add_argument("client_id")
    rotate.set_defaults(handler=_rotate)


async def _add(settings: Settings, args: argparse.Namespace) -> int:
    components = Components(settings)
    client, secret = new_client(
        name=args.name,
        grants=args.grants,
        scopes=[args.scope],
        redirect_uris=args.redirect_uris,
        public=args.public,
        resource_server=args.resource_server,
        now=components.clock.now(),
    )
    async with opened(components.clients):
        await components.clients.add(client)
    components.audit.event("client.registered", client_id=client.client_id)
    print(f"client_id: {client.client_id}")
    if secret is not None:
        print(f"client_secret: {secret}")
        print("(the secret is shown once: store it now)")
    return 0


async def _list(settings: Settings, args: argparse.Namespace) -> int:
    components = Components(settings)
    async with opened(components.clients):
        clients = await components.clients.all()
    for client in clients:
        kind = "public" if client.public else "confidential"
        if client.resource_server:
            kind += ", resource server"
        grants = " ".join(sorted(client.grants))
        print(f"{client.client_id}  {client.name}  ({kind})  grants: {grants}")
        print(f"    scopes: {' '.join(client.scopes)}")
        for uri in client.redirect_uris:
            print(f"    redirect: {uri}")
    return 0


async def _remove(settings: Settings, args: argparse.Namespace) -> int:
    """Remove a client and end what it holds: its grants (refresh families, and through the feed
    their access tokens at every API) and its consents."""
    components = Components(settings)
    async with opened(components.clients, components.consents, components.records, components.feed):
        if not await components.clients.remove(args.client_id):
            raise BffError(f"no client {args.client_id}")
        ended = await components.revoker.end_client(args.client_id)
    components.audit.event("client.removed", client_id=args.client_id)
    print(f"removed {args.client_id}; ended {ended} grant(s)")
    return 0


async def _rotate(settings: Settings, args: argparse.Namespace) -> int:
    components = Components(settings)
    secret = new_secret()
    async with opened(components.clients):
        if not await components.clients.set_secret_hash(args.client_id, hash_secret(secret)):
            raise BffError(f"no confidential client {args.client_id}")
    components.audit.event("client.secret_rotated", client_id=args.client_id)
    print(f"client_id: {args.client_id}")
    print(f"client_secret: {secret}")
    print("(the old secret no longer works; the new one is shown once)")
    return 0
