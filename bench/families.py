"""Refresh-token families for the rotation benchmark, started as the running BFF starts them:
through its composition root built from the stack's own environment (its grant records, its
lifetimes), for the benchmark user read from the stack's user store and the public client read
from its registry (a family is bound to the client's registration). Each family's first refresh
token is live and is spent once: a second use would be reuse."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path

from bench.errors import HarnessError
from bench.stack import BENCH_EMAIL
from bench.tokens import write_token_file
from bff.oauth.clients import Client
from bff.oauth.families import new_family_id
from bff.settings import Settings
from bff.users import User
from bff.wiring import Components, opened

BATCH = 64  # families started concurrently: Redis round trips overlap (its pool holds 64)


def start_families(
    env: Mapping[str, str], client_id: str, scopes: tuple[str, ...], count: int
) -> list[str]:
    """`count` new families of the benchmark user for `client_id`: their refresh tokens."""
    return asyncio.run(_start(Components(Settings.from_env(env)), client_id, scopes, count))


async def _start(
    components: Components, client_id: str, scopes: tuple[str, ...], count: int
) -> list[str]:
    async with opened(components.users, components.clients, components.records):
        user = await components.users.by_email(BENCH_EMAIL)
        client = await components.clients.get(client_id)
        if user is None or client is None:
            raise HarnessError(f"{BENCH_EMAIL} or client {client_id} is not in the stack's store")
        tokens: list[str] = []
        while len(tokens) < count:
            batch = min(BATCH, count - len(tokens))
            tokens += await asyncio.gather(
                *(_one(components, client, user, scopes) for _ in range(batch))
            )
        return tokens


async def _one(components: Components, client: Client, user: User, scopes: tuple[str, ...]) -> str:
    _, token = await components.families.start(
        family_id=new_family_id(),
        client_id=client.client_id,
        client_registered_at=client.created_at,
        user_id=user.id,
        role=user.role,
        scopes=scopes,
        ip="bench",
        refreshable=True,
    )
    if token is None:
        raise HarnessError("a refreshable family started without a refresh token")
    return token


class RefreshSupply:
    """Refresh tokens for wrk's runs, started on demand, each written to one file only; it counts
    the families it started and the time that took."""

    def __init__(
        self, env: Mapping[str, str], client_id: str, scopes: tuple[str, ...], scratch: Path
    ) -> None:
        self._env = env
        self._client_id = client_id
        self._scopes = scopes
        self._scratch = scratch
        self.started = 0
        self.seconds = 0.0

    def take(self, count: int) -> list[str]:
        started_at = time.monotonic()
        tokens = start_families(self._env, self._client_id, self._scopes, count)
        self.seconds += time.monotonic() - started_at
        self.started += count
        return tokens

    def file(self, name: str, count: int) -> Path:
        path = self._scratch / f"{name}.txt"
        write_token_file(path, self.take(count))
        return path
