"""The commands for the servers the harnesses run: a throwaway redis-server, and one uvicorn
worker of the BFF or the API, each on a loopback port of the caller's choosing."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from bff.testing.launcher import LOOPBACK, Command, HttpReady, LineReady
from serving.limits import PROTOCOL

REDIS_READY = "Ready to accept connections"


def redis_server(
    *, port: int, workdir: Path, binary: str = "redis-server", timeout: float = 10.0
) -> Command:
    """No persistence (a restart loses every key), loopback only, its log on stdout (where the
    launcher watches for its ready line)."""
    argv = [binary, "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no"]
    argv += ["--daemonize", "no", "--dir", str(workdir), "--logfile", ""]
    return Command(name="redis", argv=argv, ready=LineReady(REDIS_READY, timeout=timeout))


def uvicorn_app(
    app: Literal["bff", "api"],
    *,
    port: int,
    env: Mapping[str, str],
    cwd: Path,
    options: Sequence[str] = (),
    timeout: float = 20.0,
) -> Command:
    """`app`'s ASGI factory served on `port`, ready once its /healthz answers 200, with the
    request-head limits `make run` serves with. Proxy headers are never trusted: nothing stands
    in front of it."""
    argv = [sys.executable, "-m", "uvicorn", "--factory", f"{app}.asgi:app", "--no-proxy-headers"]
    argv += ["--http", PROTOCOL, "--host", LOOPBACK, "--port", str(port), *options]
    return Command(
        name=app,
        argv=argv,
        env=env,
        cwd=cwd,
        ready=HttpReady(f"http://{LOOPBACK}:{port}/healthz", timeout=timeout),
    )
