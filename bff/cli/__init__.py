"""`python -m bff`: set up var/, manage users, OAuth clients, keys and sessions. Every command
builds what it needs through the composition root (bff.wiring), as the app does."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from bff.cli import accounts, clients, keys, sessions
from bff.errors import BffError
from bff.settings import Settings


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
    for module in (accounts, clients, keys, sessions):
        module.add_commands(commands)
    return parser
