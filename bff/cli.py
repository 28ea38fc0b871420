"""`python -m bff`: set up var/, manage users, keys and sessions."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import secrets
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from bff.errors import BffError
from bff.security.passwords import check_new_password
from bff.settings import Settings
from bff.users import ROLES, normalize_email
from bff.varfiles import private_dir, write_private
from bff.wiring import Components, opened

DEMO_EMAIL = "demo@example.com"


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ if env is None else env)
        return int(asyncio.run(args.handler(settings, args)))
    except BffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bff")
    commands = parser.add_subparsers(required=True)
    init = commands.add_parser("init", help="create var/ (secrets, keys) and the demo user")
    init.set_defaults(handler=_init)
    users = commands.add_parser("users", help="manage accounts").add_subparsers(required=True)
    add = users.add_parser("add", help="add an account")
    add.add_argument("email")
    add.add_argument("--role", choices=ROLES, default="user")
    add.add_argument("--password", help="read from standard input when omitted")
    add.set_defaults(handler=_users_add)
    keys = commands.add_parser("keys", help="the signing key ring").add_subparsers(required=True)
    keys.add_parser("list", help="list keys and their state").set_defaults(handler=_keys_list)
    keys.add_parser("rotate", help="publish a new key").set_defaults(handler=_keys_rotate)
    sessions = commands.add_parser("sessions", help="sessions").add_subparsers(required=True)
    revoke = sessions.add_parser("revoke", help="end every session of a user")
    revoke.add_argument("--user", required=True, metavar="EMAIL")
    revoke.set_defaults(handler=_sessions_revoke)
    return parser


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
    print(f"Demo login: {email} / {password}  ({settings.public_url}/login)")
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


async def _keys_list(settings: Settings, args: argparse.Namespace) -> int:
    ring = Components(settings).key_ring
    ring.load_or_create()
    signer, _ = ring.signer()
    published = {key.kid for key in ring.published()}
    for key in ring.keys():
        state = (
            "signing"
            if key.kid == signer.kid
            else ("published" if key.kid in published else "expired")
        )
        starts = datetime.fromtimestamp(key.sign_from, UTC).isoformat(timespec="seconds")
        print(f"{key.kid}  {key.alg}  {state:<9}  signs from {starts}")
    return 0


async def _keys_rotate(settings: Settings, args: argparse.Namespace) -> int:
    components = Components(settings)
    components.key_ring.load_or_create()
    key = components.key_ring.rotate()
    components.audit.event("key.rotated", kid=key.kid, sign_from=key.sign_from)
    starts = datetime.fromtimestamp(key.sign_from, UTC).isoformat(timespec="seconds")
    print(f"published {key.kid}; it signs from {starts} (after the JWKS cache time)")
    return 0


async def _sessions_revoke(settings: Settings, args: argparse.Namespace) -> int:
    components = Components(settings)
    async with opened(components.users, components.session_store, components.feed):
        user = await components.users.by_email(normalize_email(args.user))
        if user is None:
            raise BffError(f"no user {args.user}")
        # through the revoker: the running BFF and every API learn it from the shared feed
        ended = await components.revoker.end_user(user.id, event="session.revoked")
    print(f"ended {len(ended)} session(s) of {user.email}")
    return 0
