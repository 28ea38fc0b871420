"""`keys list` and `keys rotate`: the signing key ring."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from bff.settings import Settings
from bff.wiring import Components


def add_commands(commands: Any) -> None:
    keys = commands.add_parser("keys", help="the signing key ring").add_subparsers(required=True)
    keys.add_parser("list", help="list keys and their state").set_defaults(handler=_keys_list)
    keys.add_parser("rotate", help="publish a new key").set_defaults(handler=_keys_rotate)


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
