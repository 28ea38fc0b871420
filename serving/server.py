"""The one way both apps are served: `python -m serving bff|api …` (the Procfile, the
production command, and every harness through `bff.testing.servers`).

uvicorn with our protocol (`serving.limits`), configured here with every production limit, so
that no command line can leave one out: the request head's size and time, the body's size and
time, pipelined requests parsed one at a time, the time a client may leave an answer untaken,
the connection cap
(sized below the process's open-files limit, which is raised to its hard limit first), idle
keep-alive, graceful shutdown, lifespan required, no `Server` header, no WebSocket, and proxy
headers never rewritten by the server (the BFF reads `X-Forwarded-*` itself, from the proxies
`--trusted-proxies` names). The access log is off unless asked for: on the API's /healthz it
costs a quarter to a third of the throughput.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import resource
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Literal

from uvicorn import Server
from uvicorn.supervisors import Multiprocess

from api.errors import BodyTooLarge
from bff.errors import PayloadTooLarge
from serving.limits import LimitedConfig, Limits

App = Literal["bff", "api"]
PORTS: Mapping[App, int] = {"bff": 8000, "api": 8001}
# each app's own error code for a 413, so that the server's reads like the app's
TOO_LARGE: Mapping[App, str] = {"bff": PayloadTooLarge.code, "api": BodyTooLarge.code}
KEEP_ALIVE_TIMEOUT = 5  # seconds an idle keep-alive connection stays open
GRACEFUL_TIMEOUT = 3  # seconds in-flight requests get at shutdown; streams are then cut
# descriptors kept for what is not a client connection: the listening socket, the stores'
# files and connections, the JWKS and revocation-feed clients, logs, the interpreter's own
RESERVED_FILES = 64
STARTUP_FAILURE = 3  # uvicorn's own exit status for an app that did not start

logger = logging.getLogger("uvicorn.error")


class ServingError(Exception):
    """A setting the server cannot start with; the message says which and why."""


@dataclass(frozen=True, kw_only=True)
class Options:
    app: App
    host: str = "127.0.0.1"
    port: int | None = None  # None: the app's own (8000 for the BFF, 8001 for the API)
    workers: int = 1
    access_log: bool = False
    log_level: str = "info"
    trusted_proxies: str | None = None
    header_timeout: float = Limits.header_timeout
    body_timeout: float = Limits.body_timeout
    send_timeout: float = Limits.send_timeout
    keep_alive_timeout: int = KEEP_ALIVE_TIMEOUT
    max_connections: int = Limits.max_connections  # per worker


def raise_open_files_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (workers inherit it); the
    soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def connection_cap(requested: int, open_files: int) -> int:
    """At most `requested` connections per worker, and always fewer than its descriptors."""
    cap = min(requested, open_files - RESERVED_FILES)
    if cap < 1:
        raise ServingError(
            f"the open-files limit ({open_files}) leaves no room for connections: "
            f"raise it above {RESERVED_FILES}"
        )
    return cap


def trust_proxies(options: Options, environ: MutableMapping[str, str]) -> None:
    """Hand `--trusted-proxies` to the BFF, which walks `X-Forwarded-For` itself; the server
    never rewrites the client's address, so one parser alone decides it."""
    if options.trusted_proxies is None:
        return
    if options.app != "bff":
        raise ServingError("--trusted-proxies: the API reads no client address or scheme")
    networks = [part.strip() for part in options.trusted_proxies.split(",") if part.strip()]
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ServingError(
                f"--trusted-proxies: {network!r} is no IP address or network"
            ) from None
    value = ",".join(networks)
    if environ.get("BFF_TRUSTED_PROXIES", value) != value:
        raise ServingError("--trusted-proxies and BFF_TRUSTED_PROXIES disagree: set one")
    environ["BFF_TRUSTED_PROXIES"] = value


def check_body_deadlines(options: Options, environ: Mapping[str, str]) -> None:
    """The BFF's proxy gives a body BFF_PROXY_BODY_SECONDS; the server's own deadline must not
    cut it first (a bad value itself is the BFF's settings' to refuse)."""
    proxy = environ.get("BFF_PROXY_BODY_SECONDS", "").strip()
    if options.app == "bff" and proxy.isdigit() and int(proxy) > options.body_timeout:
        raise ServingError(
            f"BFF_PROXY_BODY_SECONDS={proxy} is longer than --body-timeout "
            f"({options.body_timeout:g} s), which would cut proxied bodies first: raise it"
        )


def build_config(options: Options, *, open_files: int) -> LimitedConfig:
    limits = Limits(
        header_timeout=options.header_timeout,
        body_timeout=options.body_timeout,
        send_timeout=options.send_timeout,
        max_connections=connection_cap(options.max_connections, open_files),
    )
    return LimitedConfig(
        f"{options.app}.asgi:app",
        limits=limits,
        too_large=TOO_LARGE[options.app],
        factory=True,
        host=options.host,
        port=options.port if options.port is not None else PORTS[options.app],
        workers=options.workers,
        lifespan="on",  # a store that cannot open fails the start, never a request later
        ws="none",
        access_log=options.access_log,
        log_level=options.log_level,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=options.keep_alive_timeout,
        timeout_graceful_shutdown=GRACEFUL_TIMEOUT,
    )


def serve(options: Options) -> int:
    """Serve until stopped (SIGTERM or SIGINT: graceful); the exit status."""
    trust_proxies(options, os.environ)
    check_body_deadlines(options, os.environ)
    open_files = raise_open_files_limit()
    config = build_config(options, open_files=open_files)
    logger.info(
        "serving %s: at most %d connections per worker (open files %d), head %.3g s, "
        "body %.3g s, send %.3g s, keep-alive %d s, access log %s",
        options.app,
        config.limits.max_connections,
        open_files,
        config.limits.header_timeout,
        config.limits.body_timeout,
        config.limits.send_timeout,
        config.timeout_keep_alive,
        "on" if config.access_log else "off",
    )
    server = Server(config=config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
            return 0
        server.run()
    except KeyboardInterrupt:
        return 0
    return 0 if server.started else STARTUP_FAILURE
