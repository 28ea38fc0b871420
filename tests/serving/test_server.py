"""The entry point's configuration: every production limit is in it whatever the command line,
the connection cap fits the open-files limit, proxies are trusted only when named, and the
Procfile runs it with nothing but an address."""

from __future__ import annotations

import pytest
from uvicorn.config import Config

from bench.stack import SERVING_OPTIONS
from serving.__main__ import main, parser
from serving.limits import (
    BODY_TIMEOUT,
    HEADER_TIMEOUT,
    SEND_TIMEOUT,
    LimitedConfig,
    LimitedHttpToolsProtocol,
    Limits,
)
from serving.server import (
    RESERVED_FILES,
    Options,
    ServingError,
    build_config,
    check_body_deadlines,
    connection_cap,
    trust_proxies,
)
from tests.serving.commands import procfile_argv

OPEN_FILES = 20_000


def _config(**options: object) -> LimitedConfig:
    return build_config(Options(app="api", **options), open_files=OPEN_FILES)  # type: ignore[arg-type]


def test_the_defaults_are_the_production_limits() -> None:
    config = _config()
    assert config.http is LimitedHttpToolsProtocol
    assert config.limits == Limits(
        header_timeout=HEADER_TIMEOUT,
        body_timeout=BODY_TIMEOUT,
        send_timeout=SEND_TIMEOUT,
        max_connections=1024,
    )
    assert (HEADER_TIMEOUT, BODY_TIMEOUT, SEND_TIMEOUT) == (10, 30, 30)
    assert config.too_large == "request_too_large"  # the API's own code for a 413
    assert config.timeout_keep_alive == 5 and config.timeout_graceful_shutdown == 3
    assert not config.server_header and not config.proxy_headers and not config.access_log
    assert config.lifespan == "on" and config.ws == "none" and config.factory
    assert (config.app, config.host, config.port, config.workers) == (
        "api.asgi:app",
        "127.0.0.1",
        8001,
        1,
    )


def test_the_bff_listens_on_its_own_port_by_default() -> None:
    config = build_config(Options(app="bff"), open_files=OPEN_FILES)
    assert config.port == 8000 and config.too_large == "payload_too_large"


def test_the_options_reach_the_config() -> None:
    config = _config(
        workers=4,
        access_log=True,
        header_timeout=1.5,
        body_timeout=2.5,
        send_timeout=3.5,
        keep_alive_timeout=2,
        max_connections=50,
    )
    assert config.workers == 4 and config.access_log and config.timeout_keep_alive == 2
    assert config.limits == Limits(
        header_timeout=1.5, body_timeout=2.5, send_timeout=3.5, max_connections=50
    )


def test_the_command_line_reaches_the_options() -> None:
    args = parser().parse_args(["api", "--body-timeout", "4", "--send-timeout", "0.5"])
    assert (args.body_timeout, args.send_timeout) == (4.0, 0.5)


def test_the_cap_stays_below_the_open_files_limit() -> None:
    assert connection_cap(1024, OPEN_FILES) == 1024
    assert connection_cap(1024, 256) == 256 - RESERVED_FILES
    with pytest.raises(ServingError, match="open-files limit"):
        connection_cap(1024, RESERVED_FILES)


def test_a_bare_uvicorn_config_gets_the_default_limits() -> None:
    """`uvicorn --http serving.limits:LimitedHttpToolsProtocol` still limits the head."""
    assert not isinstance(Config("api.asgi:app"), LimitedConfig)
    assert Limits() == Limits(
        header_timeout=HEADER_TIMEOUT,
        body_timeout=BODY_TIMEOUT,
        send_timeout=SEND_TIMEOUT,
        max_connections=1024,
    )


def test_no_proxy_is_trusted_unless_named() -> None:
    environ: dict[str, str] = {}
    trust_proxies(Options(app="bff"), environ)
    assert environ == {}


def test_named_proxies_are_handed_to_the_bff() -> None:
    environ: dict[str, str] = {}
    trust_proxies(Options(app="bff", trusted_proxies="127.0.0.1, 10.0.0.0/8"), environ)
    assert environ == {"BFF_TRUSTED_PROXIES": "127.0.0.1,10.0.0.0/8"}


@pytest.mark.parametrize(
    ("options", "environ", "error"),
    [
        (Options(app="api", trusted_proxies="10.0.0.0/8"), {}, "the API reads no client"),
        (Options(app="bff", trusted_proxies="10.0.0.0/8,proxy"), {}, "'proxy' is no IP"),
        (
            Options(app="bff", trusted_proxies="10.0.0.0/8"),
            {"BFF_TRUSTED_PROXIES": "192.0.2.1"},
            "disagree",
        ),
    ],
)
def test_proxies_that_cannot_be_trusted_stop_the_start(
    options: Options, environ: dict[str, str], error: str
) -> None:
    with pytest.raises(ServingError, match=error):
        trust_proxies(options, environ)


def test_the_proxy_body_deadline_must_fit_in_the_servers() -> None:
    check_body_deadlines(Options(app="bff"), {"BFF_PROXY_BODY_SECONDS": "30"})
    check_body_deadlines(Options(app="bff", body_timeout=60), {"BFF_PROXY_BODY_SECONDS": "60"})
    check_body_deadlines(Options(app="api"), {"BFF_PROXY_BODY_SECONDS": "300"})  # not its own
    with pytest.raises(ServingError, match="BFF_PROXY_BODY_SECONDS=31 is longer than"):
        check_body_deadlines(Options(app="bff"), {"BFF_PROXY_BODY_SECONDS": "31"})


def test_a_setting_it_cannot_start_with_is_reported_with_status_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["api", "--trusted-proxies", "10.0.0.0/8"]) == 2
    assert "the API reads no client address" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--workers", "0"],
        ["--header-timeout", "0"],
        ["--body-timeout", "0"],
        ["--send-timeout", "3601"],
        ["--max-connections", "-1"],
        ["--log-level", "loud"],
    ],
)
def test_nonsense_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["api", *argv])


def test_the_harnesses_options_are_understood() -> None:
    """What bench/ and the conformance suite pass."""
    bench = parser().parse_args(["bff", "--workers", "1", *SERVING_OPTIONS])
    assert (bench.workers, bench.access_log, bench.log_level) == (1, False, "warning")
    assert parser().parse_args(["bff", "--access-log"]).access_log
    with pytest.raises(SystemExit):  # uvicorn's spelling is not ours
        parser().parse_args(["bff", "--no-server-header"])


@pytest.mark.parametrize("app", ["bff", "api"])
def test_the_procfile_runs_the_entry_point_with_only_an_address(app: str) -> None:
    argv = procfile_argv(app, {})  # type: ignore[arg-type]
    default_port = {"bff": "8000", "api": "8001"}[app]
    assert argv[1:] == ["-m", "serving", app, "--host", "127.0.0.1", "--port", default_port]
