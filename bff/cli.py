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

from bff.app import revocation_secret
from bff.audit import Audit
from bff.clock import SystemClock
from bff.errors import BffError
from bff.revocation import Revoker, feed_from_url
from bff.secrets import read_or_create_secret, write_private
from bff.security.keys import KeyRing
from bff.security.passwords import Argon2Passwords, check_new_password
from bff.sessions import store_from_url
from bff.settings import Settings
from bff.users import ROLES, SqliteUserStore, normalize_email
from contract.tokens import ACCEPTANCE_BOUND

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


def _passwords(settings: Settings) -> Argon2Passwords:
    return Argon2Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        workers=1,
    )


def _key_ring(settings: Settings) -> KeyRing:
    return KeyRing(
        path=settings.var_dir / "keys.json",
        alg=settings.signing_alg,
        clock=SystemClock(),
        publish_lead=settings.jwks_cache_seconds,
        retain_seconds=ACCEPTANCE_BOUND,
    )


async def _init(settings: Settings, args: argparse.Namespace) -> int:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    if not settings.secret_key:
        read_or_create_secret(settings.var_dir / "secret_key")
    revocation_secret(settings)
    _key_ring(settings).load_or_create()
    users = SqliteUserStore(path=settings.database_path)
    await users.open()
    try:
        demo_file = settings.var_dir / "demo-login.txt"
        if await users.by_email(DEMO_EMAIL) is None or not demo_file.exists():
            password = secrets.token_urlsafe(12)
            passwords = _passwords(settings)
            try:
                hashed = await passwords.hash(password)
            finally:
                passwords.close()
            existing = await users.by_email(DEMO_EMAIL)
            if existing is None:
                await users.add(email=DEMO_EMAIL, password_hash=hashed, role="user", now=_now())
            else:
                await users.set_password_hash(existing.id, hashed)
            # a throwaway development login, kept owner-only so `make run` can show it again
            write_private(demo_file, f"{DEMO_EMAIL} {password}\n")
        email, password = demo_file.read_text().split()
    finally:
        await users.close()
    print(f"Demo login: {email} / {password}  (http://127.0.0.1:8000/login)")
    return 0


async def _users_add(settings: Settings, args: argparse.Namespace) -> int:
    password = args.password if args.password is not None else _read_password()
    check_new_password(password)
    users = SqliteUserStore(path=settings.database_path)
    passwords = _passwords(settings)
    await users.open()
    try:
        user = await users.add(
            email=normalize_email(args.email),
            password_hash=await passwords.hash(password),
            role=args.role,
            now=_now(),
        )
    finally:
        passwords.close()
        await users.close()
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
    ring = _key_ring(settings)
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
    ring = _key_ring(settings)
    ring.load_or_create()
    key = ring.rotate()
    Audit(clock=SystemClock()).event("key.rotated", kid=key.kid, sign_from=key.sign_from)
    starts = datetime.fromtimestamp(key.sign_from, UTC).isoformat(timespec="seconds")
    print(f"published {key.kid}; it signs from {starts} (after the JWKS cache time)")
    return 0


async def _sessions_revoke(settings: Settings, args: argparse.Namespace) -> int:
    users = SqliteUserStore(path=settings.database_path)
    store = store_from_url(settings.session_store_url)
    feed = feed_from_url(settings.session_store_url)
    clock = SystemClock()
    revoker = Revoker(
        store=store,
        feed=feed,
        token_cache=None,
        clock=clock,
        audit=Audit(clock=clock),
        token_lifetime=ACCEPTANCE_BOUND,
    )
    await users.open()
    await store.open()
    await feed.open()
    try:
        user = await users.by_email(normalize_email(args.user))
        if user is None:
            raise BffError(f"no user {args.user}")
        # through the revoker: the running BFF and every API learn it from the shared feed
        ended = await revoker.end_user(user.id, event="session.revoked")
    finally:
        await feed.close()
        await store.close()
        await users.close()
    print(f"ended {len(ended)} session(s) of {user.email}")
    return 0


def _now() -> float:
    return SystemClock().now()
