"""One Redis connection pool per store, and the boundary every Redis call crosses: a timeout,
and every driver error turned into StoreUnavailable (callers fail closed) whose message names the
store, never the URL (it may hold a password) nor the command."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import ClassVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from bff.errors import ConfigError, StoreUnavailable

# a dead Redis must cost a request about a second, not a hung worker
TIMEOUT = 1.0
MAX_CONNECTIONS = 64


class RedisStore:
    """The lifecycle of a store on its own Redis connection pool."""

    NAME: ClassVar[str]

    def __init__(self, *, url: str) -> None:
        self._conn = RedisConnection(url=url, name=self.NAME)

    async def open(self) -> None:
        await self._conn.open()

    async def close(self) -> None:
        await self._conn.close()

    async def ping(self) -> None:
        await self._conn.ping()


class RedisConnection:
    def __init__(self, *, url: str, name: str) -> None:
        self._url = url
        self.name = name
        self._client: Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}

    async def open(self) -> None:
        if self._client is not None:
            return
        try:
            # a burst waits for a pooled connection (within the call's timeout) instead of
            # failing at once when the pool is cold or full
            pool = BlockingConnectionPool.from_url(
                self._url,
                max_connections=MAX_CONNECTIONS,
                timeout=TIMEOUT,
                decode_responses=True,
                # no socket_timeout: redis-py would wrap every send in asyncio.wait_for (a task
                # per command); each call is bounded by guarded()'s asyncio.timeout instead
                socket_connect_timeout=TIMEOUT,
                # one immediate retry on a fresh connection: pooled sockets die when Redis
                # restarts. On the pool's connections: a client given a pool ignores its own
                # `retry`, and with RESP3 redis-py skips its stale-socket check at checkout
                retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            )
            self._client = Redis(connection_pool=pool)
        except ValueError:
            # the URL may hold a password: name the variable, not the value
            raise ConfigError("BFF_SESSION_STORE: invalid redis URL") from None

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            self._scripts.clear()
            with contextlib.suppress(RedisError, OSError):
                await client.aclose(close_connection_pool=True)

    async def ping(self) -> None:
        async with self.guarded():
            await self.client().ping()

    def client(self) -> Redis:
        if self._client is None:
            raise StoreUnavailable(f"{self.name} is not open")
        return self._client

    def script(self, source: str) -> AsyncScript:
        """A Lua script registered on this connection (EVALSHA, loaded again after a restart)."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.client().register_script(source)
        return script

    @contextlib.asynccontextmanager
    async def guarded(self, *, waiting: float = 0.0) -> AsyncIterator[None]:
        """Bound a call by TIMEOUT, plus `waiting`: how long a blocking command (XREAD BLOCK)
        may wait on purpose."""
        try:
            async with asyncio.timeout(TIMEOUT + waiting):
                yield
        except TimeoutError:
            # a cancelled read makes redis-py drop that connection: no reply is ever misread
            raise StoreUnavailable(f"{self.name} timed out") from None
        except (RedisError, OSError) as exc:
            # the type only: a redis error message can echo the URL, and with it a password
            raise StoreUnavailable(f"{self.name} failed: {type(exc).__name__}") from exc
