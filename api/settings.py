"""The API's settings: one frozen object, built from the environment in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from api.errors import ConfigError
from contract.revocation import REVOCATION_PATH, REVOCATION_SECRET_FILE
from contract.tokens import ALGORITHMS, CLOCK_SKEW, JWKS_PATH


@dataclass(frozen=True, kw_only=True)
class Settings:
    public_url: str = "http://127.0.0.1:8001"  # the audience
    issuer: str = "http://127.0.0.1:8000"  # the BFF's public URL
    jwks_url: str = ""  # defaults to {issuer}/.well-known/jwks.json
    jwks_ttl: int = 300
    jwks_min_refresh: int = 30
    jwks_max_stale: int = 6 * 60 * 60
    algorithms: tuple[str, ...] = ALGORITHMS
    leeway: int = CLOCK_SKEW
    cors_origins: tuple[str, ...] = ()  # defaults to the BFF's origin
    var_dir: Path = Path("var")
    database: str = ""
    revocation_url: str = ""  # defaults to {issuer}/internal/revocations
    revocation_secret: str = ""  # defaults to the file {var_dir}/revocation_secret
    revocation_max_lag: int = 1

    @property
    def revocation_endpoint(self) -> str:
        return self.revocation_url or f"{self.issuer}{REVOCATION_PATH}"

    def read_revocation_secret(self) -> str:
        """Read at every (re)connect: the BFF may create the file after the API starts."""
        if self.revocation_secret:
            return self.revocation_secret
        try:
            return (self.var_dir / REVOCATION_SECRET_FILE).read_text().strip()
        except OSError:
            return ""

    @property
    def audience(self) -> str:
        return self.public_url

    @property
    def jwks_endpoint(self) -> str:
        return self.jwks_url or f"{self.issuer}{JWKS_PATH}"

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        return self.cors_origins or _loopback_aliases(self.issuer)

    @property
    def database_path(self) -> Path:
        return Path(self.database) if self.database else self.var_dir / "api.sqlite3"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def text(name: str, default: str) -> str:
            return env.get(name, "").strip() or default

        def integer(name: str, default: int, low: int, high: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            if not raw.isdigit() or not low <= int(raw) <= high:
                raise ConfigError(f"{name} must be an integer between {low} and {high}")
            return int(raw)

        algorithms = tuple(a.strip() for a in text("API_ALGORITHMS", "ES256,EdDSA").split(","))
        if not algorithms or any(a not in ALGORITHMS for a in algorithms):
            raise ConfigError(f"API_ALGORITHMS must list only {', '.join(ALGORITHMS)}")
        origins = tuple(
            _url("API_CORS_ORIGINS", o.strip())
            for o in env.get("API_CORS_ORIGINS", "").split(",")
            if o.strip()
        )
        return cls(
            public_url=_url("API_PUBLIC_URL", text("API_PUBLIC_URL", cls.public_url)),
            issuer=_url("BFF_PUBLIC_URL", text("BFF_PUBLIC_URL", cls.issuer)),
            jwks_url=_url("API_JWKS_URL", env["API_JWKS_URL"]) if env.get("API_JWKS_URL") else "",
            jwks_ttl=integer("API_JWKS_TTL", 300, 1, 86400),
            jwks_min_refresh=integer("API_JWKS_MIN_REFRESH", 30, 1, 3600),
            jwks_max_stale=integer("API_JWKS_MAX_STALE", 21600, 0, 7 * 86400),
            algorithms=algorithms,
            # at most the contract's skew: the BFF ends tokens only that much before their session
            leeway=integer("API_LEEWAY", CLOCK_SKEW, 0, CLOCK_SKEW),
            cors_origins=tuple(_origin(o) for o in origins),
            var_dir=Path(text("API_VAR_DIR", "var")),
            database=text("API_DATABASE", ""),
            revocation_url=(
                _url("API_REVOCATION_URL", env["API_REVOCATION_URL"])
                if env.get("API_REVOCATION_URL")
                else ""
            ),
            revocation_secret=text("API_REVOCATION_SECRET", ""),
            revocation_max_lag=integer("API_REVOCATION_MAX_LAG", 1, 0, 3600),
        )


def _url(name: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http(s) URL, got {raw!r}")
    return value


def _loopback_aliases(url: str) -> tuple[str, ...]:
    """The BFF's origin, plus its twin under the other loopback name when it is on loopback: a
    page opened at http://localhost:8000 is the same BFF as http://127.0.0.1:8000."""
    parts = urlsplit(url)
    names = ("127.0.0.1", "localhost")
    if parts.hostname not in names:
        return (_origin(url),)
    port = f":{parts.port}" if parts.port else ""
    return tuple(f"{parts.scheme}://{name}{port}" for name in names)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
