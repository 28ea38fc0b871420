"""The commands for the servers the harnesses run: a throwaway redis-server, and the BFF or the
API served by `python -m serving` (what `make run` and production run), each on a loopback port
of the caller's choosing."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from bff.testing.launcher import LOOPBACK, Command, HttpReady, LineReady

REDIS_READY = "Ready to accept connections"


def redis_server(
    *,
    port: int,
    workdir: Path,
    binary: str = "redis-server",
    timeout: float = 10.0,
    appendonly: bool = False,
) -> Command:
    """Loopback only, its log on stdout (where the launcher watches for its ready line). No
    persistence (a restart loses every key), or with `appendonly` the append-only file in
    `workdir`, fsynced every second (what the README recommends): a restart in the same
    `workdir` replays it, losing at most the writes of the second before a crash."""
    persistence = ["--appendonly", "yes", "--appendfsync", "everysec"] if appendonly else []
    argv = [binary, "--port", str(port), "--bind", LOOPBACK, "--save", ""]
    argv += persistence or ["--appendonly", "no"]
    argv += ["--daemonize", "no", "--dir", str(workdir), "--logfile", ""]
    return Command(name="redis", argv=argv, ready=LineReady(REDIS_READY, timeout=timeout))


def serving_argv(app: Literal["bff", "api"]) -> list[str]:
    """The entry point's command for `app`, before its options."""
    return [sys.executable, "-m", "serving", app]


def uvicorn_app(
    app: Literal["bff", "api"],
    *,
    port: int,
    env: Mapping[str, str],
    cwd: Path,
    options: Sequence[str] = (),
    timeout: float = 20.0,
    name: str | None = None,
) -> Command:
    """`app` served by the entry point on `port` with every production limit (`options` are
    `python -m serving`'s, e.g. `--access-log`, `--workers 2`), ready once its /healthz answers
    200. No proxy is trusted: nothing stands in front of it. `name` (default: `app`) tells
    instances of one app apart in messages and log files."""
    argv = [*serving_argv(app), "--host", LOOPBACK, "--port", str(port), *options]
    return Command(
        name=name or app,
        argv=argv,
        env=env,
        cwd=cwd,
        ready=HttpReady(f"http://{LOOPBACK}:{port}/healthz", timeout=timeout),
    )
