"""Fresh access tokens for the cold path, minted as the running BFF mints them: through its
composition root built from the stack's own environment (its key ring in the var dir, its
issuer, audience, lifetime and claims), for the benchmark session read from the stack's store.
`POST /bff/token` allows only so many a minute per session."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path

from bench.errors import HarnessError
from bench.session import BenchSession
from bff.sessions.base import Session, hash_session_id
from bff.settings import Settings
from bff.wiring import Components, opened


def mint_tokens(env: Mapping[str, str], session: BenchSession, count: int) -> list[str]:
    components = Components(Settings.from_env(env))
    stored = asyncio.run(_stored_session(components, session))
    components.key_ring.load_or_create()  # loads the BFF's keys: they exist since it started
    return [components.session_tokens.mint(stored).token for _ in range(count)]


def write_token_file(path: Path, tokens: list[str]) -> None:
    # bearer tokens: owner-only from the first byte written
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(tokens) + "\n")


async def _stored_session(components: Components, session: BenchSession) -> Session:
    store = components.session_store
    async with opened(store):
        stored = await store.get(hash_session_id(session.cookie))
    if stored is None:
        raise HarnessError("the benchmark session is not in the stack's session store")
    return stored
