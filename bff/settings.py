"""The BFF's settings: one frozen object, built from the environment in one place."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from bff.errors import ConfigError
from contract.tokens import ALGORITHMS, DEFAULT_ACCESS_TOKEN_TTL, MAX_ACCESS_TOKEN_TTL, Algorithm

# OWASP's floor for argon2id (m=19 MiB, t=2, p=1); weaker settings are refused at start.
ARGON2_MIN_MEMORY_KIB = 19 * 1024
ARGON2_MIN_TIME_COST = 2


@dataclass(frozen=True, kw_only=True)
class Settings:
    public_url: str = "http://127.0.0.1:8000"  # the issuer
    api_public_url: str = "http://127.0.0.1:8001"  # the audience
    api_url: str = ""  # where the BFF reaches the API; defaults to api_public_url
    var_dir: Path = Path("var")
    database: str = ""  # sqlite path for users, clients, keys; defaults to var/bff.sqlite3
    session_store: str = ""  # sqlite:///…, memory://, redis://…
    session_cache: bool = True  # hot sessions in process before a Redis store, evicted by the feed
    secret_key: str = ""  # generated into var/ when empty
    revocation_secret: str = ""  # what APIs present to follow the revocation feed; generated
    session_idle_seconds: int = 30 * 60
    session_absolute_seconds: int = 12 * 60 * 60
    idle_warning_seconds: int = 120  # how long before the idle timeout the pages warn
    session_poll_seconds: int = 10  # how often an open page asks whether its session still lives
    js_tokens: bool = True  # off: pure-BFF mode, /bff/token refuses and pages use /api/* only
    max_sessions_per_user: int = 20  # past it, the user's oldest session ends
    refresh_idle_seconds: int = 14 * 24 * 60 * 60
    refresh_absolute_seconds: int = 30 * 24 * 60 * 60
    refresh_reuse_leeway: int = 0  # seconds within which a repeated refresh is a retry
    access_token_ttl: int = DEFAULT_ACCESS_TOKEN_TTL
    signing_alg: Algorithm = "ES256"
    jwks_cache_seconds: int = 300
    trusted_proxies: tuple[str, ...] = ()
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 64 * 1024
    argon2_parallelism: int = 1  # one lane per hash: a login storm keeps a core for the loop
    password_workers: int = 1
    password_queue: int | None = None  # hashes that may wait for a worker; None: 4 per worker
    logins_per_account: int = 10  # successful sign-ins per account per 5 minutes
    login_max_body: int = 4096
    proxy_body_seconds: float = 10.0  # for the whole of a proxied request's body
    proxy_calls_per_session: int = 8  # proxied calls in flight at once per session
    log_level: str = "INFO"

    @property
    def issuer(self) -> str:
        return self.public_url

    @property
    def audience(self) -> str:
        return self.api_public_url

    @property
    def api_base_url(self) -> str:
        return self.api_url or self.api_public_url

    @property
    def password_queue_size(self) -> int:
        return 4 * self.password_workers if self.password_queue is None else self.password_queue

    @property
    def database_path(self) -> Path:
        return Path(self.database) if self.database else self.var_dir / "bff.sqlite3"

    @property
    def session_store_url(self) -> str:
        return self.session_store or f"sqlite:///{self.database_path}"

    @property
    def public_origin(self) -> str:
        return origin_of(self.public_url)

    @property
    def api_origin(self) -> str:
        return origin_of(self.api_public_url)

    @property
    def trusted_origins(self) -> frozenset[str]:
        """Origins whose unsafe requests are ours: the public one, and on a loopback host its
        other loopback name (DESIGN §4: 127.0.0.1 and localhost both work in development)."""
        return frozenset(loopback_aliases(self.public_url))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read every `BFF_*` (and the shared `API_PUBLIC_URL`) variable; raise ConfigError naming
        the variable at the first bad value."""
        reader = _Reader(env)
        var_dir = Path(reader.text("BFF_VAR_DIR", "var"))
        settings = cls(
            public_url=reader.url("BFF_PUBLIC_URL", cls.public_url),
            api_public_url=reader.url("API_PUBLIC_URL", cls.api_public_url),
            api_url=reader.url("BFF_API_URL", "") if env.get("BFF_API_URL") else "",
            var_dir=var_dir,
            database=reader.text("BFF_DATABASE", ""),
            session_store=reader.text("BFF_SESSION_STORE", ""),
            session_cache=reader.choice("BFF_SESSION_CACHE", "on", ("on", "off")) == "on",
            secret_key=reader.text("BFF_SECRET_KEY", ""),
            revocation_secret=reader.text("BFF_REVOCATION_SECRET", ""),
            session_idle_seconds=reader.integer("BFF_SESSION_IDLE_SECONDS", 1800, low=60),
            session_absolute_seconds=reader.integer("BFF_SESSION_ABSOLUTE_SECONDS", 43200, low=60),
            idle_warning_seconds=reader.integer("BFF_IDLE_WARNING_SECONDS", 120, low=5, high=3600),
            session_poll_seconds=reader.integer("BFF_SESSION_POLL_SECONDS", 10, low=1, high=300),
            js_tokens=reader.choice("BFF_JS_TOKENS", "on", ("on", "off")) == "on",
            max_sessions_per_user=reader.integer("BFF_MAX_SESSIONS_PER_USER", 20, low=1, high=1000),
            refresh_idle_seconds=reader.integer(
                "BFF_REFRESH_IDLE_SECONDS", 14 * 86400, low=60, high=365 * 86400
            ),
            refresh_absolute_seconds=reader.integer(
                "BFF_REFRESH_ABSOLUTE_SECONDS", 30 * 86400, low=60, high=365 * 86400
            ),
            refresh_reuse_leeway=reader.integer("BFF_REFRESH_REUSE_LEEWAY", 0, low=0, high=60),
            access_token_ttl=reader.integer(
                "BFF_ACCESS_TOKEN_TTL", DEFAULT_ACCESS_TOKEN_TTL, low=30, high=MAX_ACCESS_TOKEN_TTL
            ),
            signing_alg=cast(Algorithm, reader.choice("BFF_SIGNING_ALG", "ES256", ALGORITHMS)),
            jwks_cache_seconds=reader.integer("BFF_JWKS_CACHE_SECONDS", 300, low=1, high=86400),
            trusted_proxies=reader.networks("BFF_TRUSTED_PROXIES"),
            argon2_time_cost=reader.integer(
                "BFF_ARGON2_TIME_COST", 3, low=ARGON2_MIN_TIME_COST, high=20
            ),
            argon2_memory_kib=reader.integer(
                "BFF_ARGON2_MEMORY_KIB", 65536, low=ARGON2_MIN_MEMORY_KIB, high=4 * 1024 * 1024
            ),
            argon2_parallelism=reader.integer("BFF_ARGON2_PARALLELISM", 1, low=1, high=16),
            password_workers=reader.integer("BFF_PASSWORD_WORKERS", 1, low=1, high=64),
            password_queue=reader.optional_integer("BFF_PASSWORD_QUEUE", low=0, high=10000),
            logins_per_account=reader.integer("BFF_LOGINS_PER_ACCOUNT", 10, low=1, high=100000),
            proxy_body_seconds=reader.integer("BFF_PROXY_BODY_SECONDS", 10, low=1, high=300),
            proxy_calls_per_session=reader.integer(
                "BFF_PROXY_CALLS_PER_SESSION", 8, low=1, high=1000
            ),
            log_level=reader.choice("BFF_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
        )
        if settings.session_absolute_seconds < settings.session_idle_seconds:
            raise ConfigError(
                "BFF_SESSION_ABSOLUTE_SECONDS must be at least BFF_SESSION_IDLE_SECONDS"
            )
        if settings.refresh_absolute_seconds < settings.refresh_idle_seconds:
            raise ConfigError(
                "BFF_REFRESH_ABSOLUTE_SECONDS must be at least BFF_REFRESH_IDLE_SECONDS"
            )
        _check_store_url("BFF_SESSION_STORE", settings.session_store_url)
        return settings


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def loopback_aliases(url: str) -> tuple[str, ...]:
    """The URL's origin, plus its twin under the other loopback name when it is on loopback (no
    one else can serve a page from this machine's port)."""
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK_NAMES:
        return (origin_of(url),)
    port = f":{parts.port}" if parts.port else ""
    return tuple(f"{parts.scheme}://{name}{port}" for name in LOOPBACK_NAMES)


def _check_store_url(name: str, url: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in ("sqlite", "memory", "redis", "rediss"):
        raise ConfigError(f"{name}: unsupported store {scheme!r} (sqlite://, memory://, redis://)")


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str) -> str:
        return self._env.get(name, default).strip() or default

    def integer(self, name: str, default: int, *, low: int, high: int | None = None) -> int:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ConfigError(f"{name} must be {bounds}, got {value}")
        return value

    def optional_integer(self, name: str, *, low: int, high: int) -> int | None:
        if not self._env.get(name, "").strip():
            return None
        return self.integer(name, 0, low=low, high=high)

    def url(self, name: str, default: str) -> str:
        raw = self.text(name, default).rstrip("/")
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{name} must be an http(s) URL, got {raw!r}")
        if parts.query or parts.fragment:
            raise ConfigError(f"{name} must not carry a query or fragment")
        return raw

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default)
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def networks(self, name: str) -> tuple[str, ...]:
        raw = self._env.get(name, "")
        items = tuple(item.strip() for item in raw.split(",") if item.strip())
        for item in items:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ConfigError(f"{name}: {item!r} is not an IP address or network") from None
        return items
