"""`sessions revoke --user`: an administrator ends a user's sessions and app grants everywhere."""

from __future__ import annotations

import argparse
from typing import Any

from bff.errors import BffError
from bff.settings import Settings
from bff.users import normalize_email
from bff.wiring import Components, opened


def add_commands(commands: Any) -> None:
    sessions = commands.add_parser("sessions", help="sessions").add_subparsers(required=True)
    revoke = sessions.add_parser("revoke", help="end every session and app grant of a user")
    revoke.add_argument("--user", required=True, metavar="EMAIL")
    revoke.set_defaults(handler=_sessions_revoke)


async def _sessions_revoke(settings: Settings, args: argparse.Namespace) -> int:
    components = Components(settings)
    async with opened(
        components.users,
        components.session_store,
        components.records,
        components.consents,
        components.feed,
    ):
        user = await components.users.by_email(normalize_email(args.user))
        if user is None:
            raise BffError(f"no user {args.user}")
        # through the revoker: the running BFF and every API learn it from the shared feed
        apps = await components.families.of_user(user.id)
        ended = await components.revoker.end_user(user.id, apps=True, event="session.revoked")
    print(f"ended {len(ended)} session(s) and {len(apps)} app grant(s) of {user.email}")
    return 0
