"""`init` (var/ and the demo login) and `users add`."""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from typing import Any

from bff.errors import BffError
from bff.oauth.clients import DEVICE_CODE, REFRESH_TOKEN, new_client
from bff.security.passwords import check_new_password
from bff.settings import Settings
from bff.users import ROLES, normalize_email
from bff.varfiles import private_dir, write_private
from bff.wiring import Components, opened

DEMO_EMAIL = "demo@example.com"
# the example device-flow CLI (examples/notes_cli.py): a public client with a well-known id, as
# native apps have (it holds no secret, so the id is no secret either)
NOTES_CLI_ID = "notes-cli"


def add_commands(commands: Any) -> None:
    init = commands.add_parser("init", help="create var/ (secrets, keys) and the demo user")
    init.set_defaults(handler=_init)
    users = commands.add_parser("users", help="manage accounts").add_subparsers(required=True)
    add = users.add_parser("add", help="add an account")
    add.add_argument("email")
    add.add_argument("--role", choices=ROLES, default="user")
    add.add_argument("--password", help="read from standard input when omitted")
    add.set_defaults(handler=_users_add)


async def _init(settings: Settings, args: argparse.Namespace) -> int:
    components = Components(settings)
    private_dir(settings.var_dir)
    _ = components.secret_key, components.revocation_secret  # created when not set
    components.key_ring.load_or_create()
    users = components.users
    async with opened(users):
        demo_file = settings.var_dir / "demo-login.txt"
        if await users.by_email(DEMO_EMAIL) is None or not demo_file.exists():
            password = secrets.token_urlsafe(12)
            try:
                hashed = await components.passwords.hash(password)
            finally:
                components.passwords.close()
            existing = await users.by_email(DEMO_EMAIL)
            if existing is None:
                now = components.clock.now()
                await users.add(email=DEMO_EMAIL, password_hash=hashed, role="user", now=now)
            else:
                await users.set_password_hash(existing.id, hashed)
            # a throwaway development login, kept owner-only so `make run` can show it again
            write_private(demo_file, f"{DEMO_EMAIL} {password}\n")
        email, password = demo_file.read_text().split()
    async with opened(components.clients):
        if await components.clients.get(NOTES_CLI_ID) is None:
            client, _ = new_client(
                name="Notes CLI",
                grants=[DEVICE_CODE, REFRESH_TOKEN],
                scopes=["notes:read notes:write"],
                public=True,
                client_id=NOTES_CLI_ID,
                now=components.clock.now(),
            )
            await components.clients.add(client)
    print(f"Demo login: {email} / {password}  ({settings.public_url}/login)")
    print(f"Device-flow client for examples/notes_cli.py: {NOTES_CLI_ID}")
    return 0


async def _users_add(settings: Settings, args: argparse.Namespace) -> int:
    password = args.password if args.password is not None else _read_password()
    check_new_password(password)
    components = Components(settings)
    async with opened(components.users):
        try:
            hashed = await components.passwords.hash(password)
        finally:
            components.passwords.close()
        user = await components.users.add(
            email=normalize_email(args.email),
            password_hash=hashed,
            role=args.role,
            now=components.clock.now(),
        )
    print(f"added {user.email} ({user.role}) as {user.id}")
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise BffError("the passwords do not match")
        return first
    return sys.stdin.readline().rstrip("\r\n")
