"""Fixtures: a fresh BFF and API per test, wired in-process through httpx.ASGITransport."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from api.app import create_app as create_api
from api.settings import Settings as ApiSettings
from bff.app import create_app as create_bff
from bff.clock import FrozenClock
from bff.counters import CounterStore, MemoryCounterStore
from bff.endpoints.revocations import RevocationStream
from bff.records import MemoryRecordStore, RecordStore
from bff.revocation import MemoryRevocationFeed
from bff.security.passwords import Argon2Passwords
from bff.sessions import MemorySessionStore, SessionStore
from bff.settings import Settings as BffSettings
from contract.revocation import Message, parse_sse
from tests.redisserver import RedisServer, running_redis_server
from tests.secretwatch import WATCH

BFF_URL = "https://bff.test"
API_URL = "https://api.test"
PASSWORD = "correct horse battery staple"
ADMIN_PASSWORD = "admin horse battery staple"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log() -> Iterator[None]:
    """Every log record of the whole run, checked at its end against every secret the tests
    handled: a password, a session cookie value or a token in a log line fails the run."""
    root = logging.getLogger()
    previous = root.level
    root.addHandler(WATCH)
    root.setLevel(logging.INFO)
    yield
    root.removeHandler(WATCH)
    root.setLevel(previous)
    leaks = WATCH.leaks()
    assert not leaks, f"{len(leaks)} log line(s) hold a secret, e.g. {leaks[0][:200]}"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(scope="session")
def passwords() -> Argon2Passwords:
    # real argon2id at OWASP's floor: fast enough for tests, same code path as production
    return Argon2Passwords(time_cost=2, memory_kib=19 * 1024, parallelism=1, workers=2)


@pytest.fixture
def bff_settings(tmp_path: Path, request: pytest.FixtureRequest) -> BffSettings:
    marker = request.node.get_closest_marker("bff_settings")
    defaults: dict[str, Any] = {
        "public_url": BFF_URL,
        "api_public_url": API_URL,
        "var_dir": tmp_path / "var",
        "secret_key": "test-secret-key-0123456789",
        "argon2_time_cost": 2,
        "argon2_memory_kib": 19 * 1024,
        "argon2_parallelism": 1,
    }
    return BffSettings(**{**defaults, **(marker.kwargs if marker else {})})


@pytest.fixture
def api_settings() -> ApiSettings:
    return ApiSettings(
        public_url=API_URL, issuer=BFF_URL, jwks_url=f"{BFF_URL}/.well-known/jwks.json"
    )


@pytest.fixture
def store() -> SessionStore:
    return MemorySessionStore()


@pytest.fixture
def counters() -> CounterStore:
    return MemoryCounterStore()


@pytest.fixture
def records() -> RecordStore:
    return MemoryRecordStore()


class InProcessFeed:
    """The API's revocation source wired to the BFF's own SSE frames, in-process:
    httpx.ASGITransport cannot stream a never-ending response, so this feeds the exact text of
    /internal/revocations to the API's SSE parser."""

    def __init__(self, bff: LateApp) -> None:
        self._bff = bff

    async def messages(self, *, last_event_id: str | None) -> AsyncIterator[Message]:
        assert self._bff.app is not None
        stream: RevocationStream = self._bff.app.state.components.revocation_stream()
        async for message in parse_sse(_lines(await stream.frames(last_event_id))):
            yield message


async def _lines(frames: AsyncIterator[str]) -> AsyncIterator[str]:
    async for frame in frames:
        for line in frame.split("\n")[:-1]:
            yield line


class LateApp:
    """An ASGI app that forwards to one set later: the BFF and API point at each other."""

    def __init__(self) -> None:
        self.app: Starlette | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@dataclass
class System:
    bff_app: Starlette
    api_app: Starlette
    bff: httpx.AsyncClient  # a browser-like client of the BFF (keeps cookies)
    api: httpx.AsyncClient
    clock: FrozenClock

    async def add_user(self, email: str, password: str, role: str = "user") -> str:
        components = self.bff_app.state.components
        user = await components.users.add(
            email=email,
            password_hash=await components.passwords.hash(password),
            role=role,
            now=self.clock.now(),
        )
        return str(user.id)

    async def me_once_pushed(self, token: str) -> httpx.Response:
        """The API's /me answer for `token` once pushed revocations have been applied: a few
        event-loop turns (the in-process feed), no clock and no sleep."""
        for _ in range(200):
            response = await self.api.get("/me", headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 200:
                return response
            await anyio.sleep(0)
        return response

    def new_browser(self, base_url: str = BFF_URL) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.bff_app),
            base_url=base_url,
            event_hooks={"response": [WATCH.on_response]},
        )


@pytest.fixture
async def system(
    bff_settings: BffSettings,
    api_settings: ApiSettings,
    store: SessionStore,
    counters: CounterStore,
    records: RecordStore,
    clock: FrozenClock,
    passwords: Argon2Passwords,
) -> AsyncIterator[System]:
    late_bff = LateApp()
    feed = MemoryRevocationFeed()
    api_app = create_api(
        api_settings,
        clock=clock,
        jwks_transport=httpx.ASGITransport(app=late_bff),
        revocation_source=InProcessFeed(late_bff),
    )
    bff_app = create_bff(
        bff_settings,
        store=store,
        counters=counters,
        records=records,
        clock=clock,
        passwords=SharedPasswords(passwords),
        feed=feed,
        api_transport=httpx.ASGITransport(app=api_app),
    )
    late_bff.app = bff_app
    async with AsyncExitStack() as stack:
        # the BFF first: the API's start waits for the revocation replay
        await stack.enter_async_context(bff_app.router.lifespan_context(bff_app))
        await stack.enter_async_context(api_app.router.lifespan_context(api_app))
        browser = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=bff_app),
                base_url=BFF_URL,
                event_hooks={"response": [WATCH.on_response]},
            )
        )
        api = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=api_app), base_url=API_URL)
        )
        yield System(bff_app=bff_app, api_app=api_app, bff=browser, api=api, clock=clock)


class SharedPasswords:
    """The session-wide hasher, protected from the app's shutdown (it is reused by every test)."""

    def __init__(self, inner: Argon2Passwords) -> None:
        self._inner = inner

    async def hash(self, password: str) -> str:
        return await self._inner.hash(password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        return await self._inner.verify(stored_hash, password)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._inner.needs_rehash(stored_hash)

    def close(self) -> None:
        return None


@pytest.fixture
async def user_id(system: System) -> str:
    return await system.add_user("alice@example.com", PASSWORD)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token in the page"
    return match.group(1)


async def login(
    client: httpx.AsyncClient,
    email: str = "alice@example.com",
    password: str = PASSWORD,
    next_url: str = "/dashboard",
) -> httpx.Response:
    WATCH.remember(password)
    page = await client.get("/login")
    return await client.post(
        "/login",
        data={
            "csrf_token": csrf_from(page.text),
            "email": email,
            "password": password,
            "next": next_url,
        },
    )


JSON = {"X-CSRF": "1"}


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server for the whole run (skipped without one, unless CI=true)."""
    yield from running_redis_server()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The shared server with an empty database."""
    redis_server.start()  # a no-op unless an earlier test left it stopped
    redis_server.flush()
    return redis_server.url


class Measurements:
    """Numbers a test measured (a latency, a size), shown in the terminal summary of the run,
    with or without -s."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        print(line)  # at once, under -s
        self.lines.append(line)


MEASUREMENTS = pytest.StashKey[Measurements]()


@pytest.fixture
def measurements(request: pytest.FixtureRequest) -> Measurements:
    return request.config.stash.setdefault(MEASUREMENTS, Measurements())


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    measured = config.stash.get(MEASUREMENTS, None)
    if measured is not None and measured.lines:
        terminalreporter.section("measurements")
        for line in measured.lines:
            terminalreporter.write_line(line)
