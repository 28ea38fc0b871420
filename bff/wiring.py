"""The composition root: every service of the BFF is built here from Settings, once, on first use.

The app factory, the CLI and the bench all build through `Components`, so no setting is copied
and no wiring is written twice. Tests hand in replacements for the parts a test is not about (a
frozen clock, an in-memory store, a shared password hasher, an in-process transport to the API).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import cached_property
from pathlib import Path
from typing import Protocol

import httpx
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from bff import backends
from bff.audit import Audit
from bff.clock import Clock, SystemClock
from bff.counters import CounterStore
from bff.endpoints.account import DeviceEndpoints, PasswordEndpoints
from bff.endpoints.authorize import AuthorizeEndpoints
from bff.endpoints.device import DeviceCodeEndpoints
from bff.endpoints.guard import SessionGuard
from bff.endpoints.login import LoginEndpoints
from bff.endpoints.management import EmailCache, ManagementEndpoints
from bff.endpoints.oauth import OAuthEndpoints
from bff.endpoints.pages import PageEndpoints
from bff.endpoints.proxy import ProxyEndpoint
from bff.endpoints.rendering import PageRenderer, SessionWatch, add_filters
from bff.endpoints.revocations import RevocationStream
from bff.endpoints.wellknown import WellKnownEndpoints
from bff.oauth.accesstokens import AccessTokenReader
from bff.oauth.clientauth import ClientAuthenticator
from bff.oauth.clients import ClientStore, SqliteClientStore
from bff.oauth.codes import AuthorizationCodes
from bff.oauth.consents import ConsentStore, SqliteConsentStore
from bff.oauth.devices import DeviceGrants
from bff.oauth.families import FamilyPolicy, RefreshFamilies
from bff.oauth.grants import TokenGrants
from bff.oauth.issuer import TokenIssuer
from bff.records import RecordStore
from bff.revocation import RevocationFeed, Revoker
from bff.security.csrf import CsrfTokens
from bff.security.keyfile import KeyFileStore
from bff.security.keys import KeyRing
from bff.security.passwords import Argon2Passwords, Passwords
from bff.security.ratelimit import LoginThrottle, RateLimit, SubjectKeys
from bff.security.tokens import TokenMinter
from bff.sessions import SessionStore
from bff.sessions.cache import CachedSessionStore
from bff.sessions.manager import SessionManager, SessionPolicy
from bff.settings import Settings
from bff.sweeper import Sweeper
from bff.tokencache import SessionTokenCache, SessionTokens
from bff.users import SqliteUserStore, UserStore
from bff.varfiles import private_dir, read_or_create_secret
from contract.revocation import REVOCATION_SECRET_FILE
from contract.tokens import ACCEPTANCE_BOUND

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"
KEY_FILE = "keys.json"
SECRET_KEY_FILE = "secret_key"
TOKENS_PER_MINUTE = 300  # per session: 5 a second, far above any page's need, still a bound
PASSWORD_ATTEMPTS = 5  # wrong current passwords per user…
PASSWORD_WINDOW = 15 * 60  # …in this many seconds
CLIENT_AUTH_FAILURES = (10, 5 * 60)  # per client id: failures, window
NETWORK_AUTH_FAILURES = (100, 5 * 60)  # per client network
DEVICE_GUESSES = (10, 15 * 60)  # user codes tried per user
NETWORK_DEVICE_GUESSES = (30, 15 * 60)  # per client network
DEVICE_STARTS = (60, 10 * 60)  # device authorizations started per client network


class Components:
    """Every service of one BFF process. Each property builds its service on first use."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        session_store: SessionStore | None = None,
        counters: CounterStore | None = None,
        users: UserStore | None = None,
        passwords: Passwords | None = None,
        feed: RevocationFeed | None = None,
        records: RecordStore | None = None,
        api_transport: httpx.AsyncBaseTransport | None = None,
        proxy_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self._given_store = session_store
        self._given_counters = counters
        self._given_users = users
        self._given_passwords = passwords
        self._given_feed = feed
        self._given_records = records
        self._api_transport = api_transport
        self._proxy_transport = proxy_transport or api_transport

    # storage

    @cached_property
    def session_store(self) -> SessionStore:
        if self._given_store is not None:
            return self._given_store
        store = backends.session_store(self.settings.session_store_url)
        if self.settings.session_cache and backends.is_shared(self.settings.session_store_url):
            return CachedSessionStore(store=store, feed=self.feed, clock=self.clock)
        return store

    @cached_property
    def counters(self) -> CounterStore:
        return self._given_counters or backends.counter_store(self.settings.session_store_url)

    @cached_property
    def feed(self) -> RevocationFeed:
        return self._given_feed or backends.revocation_feed(self.settings.session_store_url)

    @cached_property
    def users(self) -> UserStore:
        return self._given_users or SqliteUserStore(path=self.settings.database_path)

    @cached_property
    def records(self) -> RecordStore:
        return self._given_records or backends.record_store(self.settings.session_store_url)

    @cached_property
    def clients(self) -> ClientStore:
        return SqliteClientStore(path=self.settings.database_path)

    @cached_property
    def consents(self) -> ConsentStore:
        return SqliteConsentStore(path=self.settings.database_path)

    # secrets and keys

    @cached_property
    def secret_key(self) -> str:
        return self.settings.secret_key or read_or_create_secret(self._var(SECRET_KEY_FILE))

    @cached_property
    def revocation_secret(self) -> str:
        """The credential APIs present to follow the revocation feed."""
        return self.settings.revocation_secret or read_or_create_secret(
            self._var(REVOCATION_SECRET_FILE)
        )

    @cached_property
    def key_ring(self) -> KeyRing:
        return KeyRing(
            store=KeyFileStore(path=self._var(KEY_FILE)),
            alg=self.settings.signing_alg,
            clock=self.clock,
            publish_lead=self.settings.jwks_cache_seconds,
            retain_seconds=ACCEPTANCE_BOUND,
        )

    @cached_property
    def passwords(self) -> Passwords:
        return self._given_passwords or Argon2Passwords(
            time_cost=self.settings.argon2_time_cost,
            memory_kib=self.settings.argon2_memory_kib,
            parallelism=self.settings.argon2_parallelism,
            workers=self.settings.password_workers,
            max_waiting=self.settings.password_queue_size,
        )

    @cached_property
    def csrf(self) -> CsrfTokens:
        return CsrfTokens(self.secret_key, clock=self.clock)

    # tokens, sessions, revocation

    @cached_property
    def audit(self) -> Audit:
        return Audit(clock=self.clock)

    @cached_property
    def minter(self) -> TokenMinter:
        return TokenMinter(
            keys=self.key_ring,
            issuer=self.settings.issuer,
            audience=self.settings.audience,
            clock=self.clock,
        )

    @cached_property
    def session_tokens(self) -> SessionTokens:
        return SessionTokens(
            minter=self.minter, clock=self.clock, ttl=self.settings.access_token_ttl
        )

    @cached_property
    def token_cache(self) -> SessionTokenCache:
        return SessionTokenCache(tokens=self.session_tokens, clock=self.clock)

    @cached_property
    def families(self) -> RefreshFamilies:
        settings = self.settings
        policy = FamilyPolicy(
            idle_seconds=settings.refresh_idle_seconds,
            absolute_seconds=settings.refresh_absolute_seconds,
            reuse_leeway=settings.refresh_reuse_leeway,
        )
        return RefreshFamilies(records=self.records, clock=self.clock, policy=policy)

    @cached_property
    def codes(self) -> AuthorizationCodes:
        return AuthorizationCodes(records=self.records, clock=self.clock)

    @cached_property
    def devices(self) -> DeviceGrants:
        return DeviceGrants(records=self.records, clock=self.clock)

    @cached_property
    def client_auth(self) -> ClientAuthenticator:
        return ClientAuthenticator(
            clients=self.clients,
            failures_per_client=self.rate_limit("client-auth", *CLIENT_AUTH_FAILURES),
            failures_per_network=self.rate_limit("client-auth-network", *NETWORK_AUTH_FAILURES),
            audit=self.audit,
        )

    @cached_property
    def grants(self) -> TokenGrants:
        issuer = TokenIssuer(
            minter=self.minter,
            families=self.families,
            ttl=self.settings.access_token_ttl,
            audit=self.audit,
        )
        return TokenGrants(
            issuer=issuer,
            codes=self.codes,
            devices=self.devices,
            families=self.families,
            users=self.users,
            revoker=self.revoker,
            audit=self.audit,
        )

    @cached_property
    def revoker(self) -> Revoker:
        return Revoker(
            store=self.session_store,
            families=self.families,
            consents=self.consents,
            feed=self.feed,
            token_cache=self.token_cache,
            clock=self.clock,
            audit=self.audit,
            token_lifetime=ACCEPTANCE_BOUND,
        )

    @cached_property
    def sessions(self) -> SessionManager:
        return SessionManager(
            store=self.session_store,
            clock=self.clock,
            policy=SessionPolicy(
                idle_seconds=self.settings.session_idle_seconds,
                absolute_seconds=self.settings.session_absolute_seconds,
                max_per_user=self.settings.max_sessions_per_user,
            ),
            revoker=self.revoker,
        )

    @cached_property
    def sweeper(self) -> Sweeper:
        purges = (self.session_store.purge, self.counters.purge, self.records.purge)
        return Sweeper(purges=purges, clock=self.clock)

    # rate limits

    @cached_property
    def subject_keys(self) -> SubjectKeys:
        return SubjectKeys(self.secret_key)

    @cached_property
    def login_throttle(self) -> LoginThrottle:
        return LoginThrottle(
            counters=self.counters,
            clock=self.clock,
            keys=self.subject_keys,
            successes=self.settings.logins_per_account,
        )

    def rate_limit(self, name: str, limit: int, window: float) -> RateLimit:
        return RateLimit(
            counters=self.counters,
            clock=self.clock,
            keys=self.subject_keys,
            name=name,
            limit=limit,
            window=window,
        )

    # HTTP

    @cached_property
    def templates(self) -> Jinja2Templates:
        templates = Jinja2Templates(directory=FRONTEND / "templates")
        templates.env.autoescape = True
        add_filters(templates)
        return templates

    @cached_property
    def api_client(self) -> httpx.AsyncClient:
        """The pages' client of the API (the dashboard's server-side calls)."""
        return self._client_of_api(self._api_transport)

    @cached_property
    def proxy_client(self) -> httpx.AsyncClient:
        """The proxy's client: a connection pool of its own, so however the browsers' `/api/*`
        calls fill it, the server-rendered pages still reach the API."""
        return self._client_of_api(self._proxy_transport)

    def _client_of_api(self, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.settings.api_base_url, transport=transport, follow_redirects=False
        )

    @cached_property
    def guard(self) -> SessionGuard:
        return SessionGuard(
            sessions=self.sessions,
            csrf=self.csrf,
            origins=self.settings.trusted_origins,
            max_form_bytes=self.settings.login_max_body,
        )

    @cached_property
    def pages(self) -> PageRenderer:
        return PageRenderer(
            templates=self.templates,
            users=self.users,
            csrf=self.csrf,
            watch=SessionWatch(
                poll_seconds=self.settings.session_poll_seconds,
                # a warning longer than half the idle timeout would show from the start
                warning_seconds=min(
                    self.settings.idle_warning_seconds, self.settings.session_idle_seconds // 2
                ),
            ),
        )

    def routes(self) -> list[BaseRoute]:
        """Every endpoint, each given only the collaborators it uses."""
        settings = self.settings
        endpoints: list[Endpoint] = [
            LoginEndpoints(
                guard=self.guard,
                sessions=self.sessions,
                users=self.users,
                passwords=self.passwords,
                throttle=self.login_throttle,
                revoker=self.revoker,
                csrf=self.csrf,
                templates=self.templates,
                audit=self.audit,
                max_body=settings.login_max_body,
            ),
            PageEndpoints(
                guard=self.guard,
                pages=self.pages,
                tokens=self.token_cache,
                api=self.api_client,
                api_public_url=settings.api_public_url,
                js_tokens=settings.js_tokens,
            ),
            DeviceEndpoints(
                guard=self.guard,
                pages=self.pages,
                sessions=self.sessions,
                families=self.families,
                clients=self.clients,
                consents=self.consents,
                revoker=self.revoker,
            ),
            PasswordEndpoints(
                guard=self.guard,
                pages=self.pages,
                sessions=self.sessions,
                users=self.users,
                passwords=self.passwords,
                attempts=self.rate_limit("password-change", PASSWORD_ATTEMPTS, PASSWORD_WINDOW),
                revoker=self.revoker,
                audit=self.audit,
            ),
            ManagementEndpoints(
                guard=self.guard,
                emails=EmailCache(users=self.users, clock=self.clock),
                tokens=self.session_tokens,
                token_limit=self.rate_limit("bff-token", TOKENS_PER_MINUTE, 60),
                revoker=self.revoker,
                audit=self.audit,
                clock=self.clock,
                js_tokens=settings.js_tokens,
            ),
            self.proxy,
            WellKnownEndpoints(
                keys=self.key_ring,
                issuer=settings.issuer,
                jwks_max_age=settings.jwks_cache_seconds,
                probes=(
                    self.session_store.ping,
                    self.counters.ping,
                    self.records.ping,
                    self._probe_users,
                ),
            ),
            OAuthEndpoints(
                authenticator=self.client_auth,
                grants=self.grants,
                devices=self.devices,
                families=self.families,
                sessions=self.session_store,
                records=self.records,
                access_tokens=AccessTokenReader(
                    keys=self.key_ring,
                    issuer=settings.issuer,
                    audience=settings.audience,
                    clock=self.clock,
                ),
                device_starts=self.rate_limit("device-start-network", *DEVICE_STARTS),
                revoker=self.revoker,
                audit=self.audit,
                clock=self.clock,
                issuer=settings.issuer,
            ),
            AuthorizeEndpoints(
                guard=self.guard,
                pages=self.pages,
                clients=self.clients,
                codes=self.codes,
                consents=self.consents,
                audit=self.audit,
                clock=self.clock,
                issuer=settings.issuer,
            ),
            DeviceCodeEndpoints(
                guard=self.guard,
                pages=self.pages,
                devices=self.devices,
                clients=self.clients,
                guesses_per_user=self.rate_limit("device-code", *DEVICE_GUESSES),
                guesses_per_network=self.rate_limit("device-code-network", *NETWORK_DEVICE_GUESSES),
                audit=self.audit,
            ),
            self.revocation_stream(),
        ]
        return [route for endpoint in endpoints for route in endpoint.routes()]

    @cached_property
    def proxy(self) -> ProxyEndpoint:
        return ProxyEndpoint(
            guard=self.guard,
            tokens=self.token_cache,
            api=self.proxy_client,
            api_public_url=self.settings.api_public_url,
            clock=self.clock,
            body_seconds=self.settings.proxy_body_seconds,
            calls_per_session=self.settings.proxy_calls_per_session,
        )

    def revocation_stream(self) -> RevocationStream:
        return RevocationStream(feed=self.feed, clock=self.clock, secret=self.revocation_secret)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The app's lifespan: stores opened, keys loaded, the sweeper (and the session cache's
        feed follower) started; all undone after."""
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(self.passwords.close)
            stack.push_async_callback(self.api_client.aclose)
            stack.push_async_callback(self.proxy_client.aclose)
            await stack.enter_async_context(
                opened(
                    self.users,
                    self.clients,
                    self.consents,
                    self.session_store,
                    self.counters,
                    self.records,
                    self.feed,
                )
            )
            self.key_ring.load_or_create()
            sweeping = asyncio.create_task(self.sweeper.run(), name="sweeper")
            stack.push_async_callback(_cancel, sweeping)
            if isinstance(self.session_store, CachedSessionStore):
                following = asyncio.create_task(self.session_store.follow(), name="session-cache")
                stack.push_async_callback(_cancel, following)
            yield

    async def _probe_users(self) -> None:
        await self.users.by_id("readiness-probe")

    def _var(self, name: str) -> Path:
        return private_dir(self.settings.var_dir) / name


class Endpoint(Protocol):
    def routes(self) -> list[Route]: ...


class Resource(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...


@contextlib.asynccontextmanager
async def opened(*resources: Resource) -> AsyncIterator[None]:
    """Open each resource in turn; close those opened, in reverse, however the block ends."""
    async with contextlib.AsyncExitStack() as stack:
        for resource in resources:
            await resource.open()
            stack.push_async_callback(resource.close)
        yield


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
