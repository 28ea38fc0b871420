from __future__ import annotations

import pytest

from bff.errors import ConfigError
from bff.settings import Settings


def test_defaults_follow_the_contract() -> None:
    settings = Settings.from_env({})
    assert settings.issuer == "http://127.0.0.1:8000"
    assert settings.audience == "http://127.0.0.1:8001"
    assert settings.session_idle_seconds == 1800
    assert settings.session_absolute_seconds == 43200
    assert settings.access_token_ttl == 300
    assert settings.signing_alg == "ES256"
    assert settings.session_store_url == "sqlite:///var/bff.sqlite3"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BFF_ACCESS_TOKEN_TTL", "901"),
        ("BFF_ACCESS_TOKEN_TTL", "five"),
        ("BFF_PUBLIC_URL", "ftp://x"),
        ("BFF_SESSION_STORE", "mongodb://x"),
        ("BFF_ARGON2_MEMORY_KIB", "1024"),
        ("BFF_SIGNING_ALG", "HS256"),
        ("BFF_TRUSTED_PROXIES", "not-an-ip"),
        ("BFF_PROXY_BODY_SECONDS", "0"),
        ("BFF_PROXY_CALLS_PER_SESSION", "0"),
        ("BFF_PASSWORD_QUEUE", "-1"),
        ("BFF_LOGINS_PER_ACCOUNT", "0"),
    ],
)
def test_bad_values_are_refused_with_the_variable_name(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_absolute_timeout_cannot_be_shorter_than_idle() -> None:
    with pytest.raises(ConfigError, match="BFF_SESSION_ABSOLUTE_SECONDS"):
        Settings.from_env(
            {"BFF_SESSION_IDLE_SECONDS": "3600", "BFF_SESSION_ABSOLUTE_SECONDS": "600"}
        )


def test_availability_limits_have_defaults_and_can_be_set() -> None:
    defaults = Settings.from_env({"BFF_PASSWORD_WORKERS": "2"})
    assert defaults.proxy_body_seconds == 10
    assert defaults.proxy_calls_per_session == 8
    assert defaults.password_queue_size == 8  # 4 per worker
    assert defaults.logins_per_account == 10
    tuned = Settings.from_env(
        {
            "BFF_PROXY_BODY_SECONDS": "30",
            "BFF_PROXY_CALLS_PER_SESSION": "16",
            "BFF_PASSWORD_QUEUE": "0",
            "BFF_LOGINS_PER_ACCOUNT": "50",
        }
    )
    assert tuned.proxy_body_seconds == 30 and tuned.proxy_calls_per_session == 16
    assert tuned.password_queue_size == 0  # no hash waits: a busy worker sheds at once
    assert tuned.logins_per_account == 50
