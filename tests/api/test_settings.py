from __future__ import annotations

from pathlib import Path

import pytest

from api.errors import ConfigError
from api.settings import Settings
from contract.tokens import CLOCK_SKEW


def test_defaults_follow_the_contract() -> None:
    settings = Settings.from_env({})
    assert settings.audience == "http://127.0.0.1:8001"
    assert settings.issuer == "http://127.0.0.1:8000"
    assert settings.jwks_endpoint == "http://127.0.0.1:8000/.well-known/jwks.json"
    assert settings.revocation_endpoint == "http://127.0.0.1:8000/internal/revocations"
    assert settings.allowed_origins == ("http://127.0.0.1:8000", "http://localhost:8000")
    assert settings.leeway == 30


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("API_ALGORITHMS", "HS256"),
        ("API_ALGORITHMS", "ES256,none"),
        ("API_PUBLIC_URL", "not a url"),
        ("BFF_PUBLIC_URL", "ftp://bff"),
        ("API_JWKS_TTL", "0"),
        ("API_LEEWAY", "-1"),
        ("API_LEEWAY", "31"),
        ("API_REVOCATION_MAX_LAG", "lots"),
        ("API_CORS_ORIGINS", "javascript:alert(1)"),
    ],
)
def test_bad_values_are_refused_with_the_variable_name(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_revocation_secret_is_read_from_the_shared_var_dir(tmp_path: Path) -> None:
    settings = Settings.from_env({"API_VAR_DIR": str(tmp_path)})
    assert settings.read_revocation_secret() == ""  # not there yet: read again at each connect
    (tmp_path / "revocation_secret").write_text("s3cret\n")
    assert settings.read_revocation_secret() == "s3cret"
    assert Settings.from_env({"API_REVOCATION_SECRET": "given"}).read_revocation_secret() == "given"


def test_leeway_is_capped_at_the_contracts_clock_skew() -> None:
    # the BFF ends a token CLOCK_SKEW before its session: more leeway would outlive the session
    assert Settings.from_env({"API_LEEWAY": str(CLOCK_SKEW)}).leeway == CLOCK_SKEW
    with pytest.raises(
        ConfigError, match=f"API_LEEWAY must be an integer between 0 and {CLOCK_SKEW}"
    ):
        Settings.from_env({"API_LEEWAY": str(CLOCK_SKEW + 1)})
