"""One configuration's stack: a fresh var dir shared by the BFF and the API (the API reads the
revocation feed's secret from it), two users (the measured session's and the login storm's), a
private redis-server when the configuration wants one, and both apps as one uvicorn worker each
on free loopback ports."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.configs import Config
from bench.errors import HarnessError
from bench.knobs import ROOT
from bench.pinning import Pinning, pin
from bff.testing.launcher import LOOPBACK, Process, ProcessGroup, free_port
from bff.testing.servers import redis_server, uvicorn_app
from bff.testing.stack import CliFailed, run_bff_cli

BENCH_EMAIL = "bench@example.com"  # the measured session's user
# the login storm's user: its sessions, past the BFF's per-user cap, never push out the measured one
STORM_EMAIL = "storm@example.com"
# `python -m serving`'s options beyond its production defaults (access log off, every limit)
SERVING_OPTIONS = ("--log-level", "warning")


@dataclass(frozen=True, kw_only=True)
class Stack:
    config: Config
    env: Mapping[str, str]  # what both apps and the CLI ran with
    password: str  # of both users
    bff: Process
    api: Process
    redis: Process | None

    @property
    def bff_url(self) -> str:
        return self.env["BFF_PUBLIC_URL"]

    @property
    def api_url(self) -> str:
        return self.env["API_PUBLIC_URL"]

    @property
    def processes(self) -> tuple[Process, ...]:
        return (self.bff, self.api) if self.redis is None else (self.redis, self.bff, self.api)


def start_stack(
    config: Config, processes: ProcessGroup, workdir: Path, pinning: Pinning | None = None
) -> Stack:
    """Start `config`'s stack in `processes` (which stops it), its files under `workdir`; with
    `pinning`, the apps on its server CPUs (on every CPU for a config that is not pinned) and
    redis-server on its load CPUs."""
    cpus = pinning.server if pinning and config.pinned else frozenset()
    options = ("--workers", str(config.workers), *SERVING_OPTIONS)
    workdir.mkdir(parents=True, exist_ok=True)
    bff_port, api_port = free_port(), free_port()
    redis_port = free_port() if config.store == "redis" else None
    env = stack_env(config, workdir / "var", bff_port, api_port, redis_port)
    redis = None
    if redis_port is not None:
        redis = processes.start(redis_server(port=redis_port, workdir=workdir))
        if pinning and pinning.on:
            pin(_pid(redis), pinning.load)
    password = secrets.token_urlsafe(18)
    # the user's hash carries the BFF's parameters, so no login turns into a rehash
    run_cli(env, "init")
    for email in (BENCH_EMAIL, STORM_EMAIL):
        run_cli(env, "users", "add", email, stdin=f"{password}\n")  # never in argv
    bff = processes.start(uvicorn_app("bff", port=bff_port, env=env, cwd=ROOT, options=options))
    # after the BFF: the API reads the revocation feed's secret that the BFF wrote
    api = processes.start(uvicorn_app("api", port=api_port, env=env, cwd=ROOT, options=options))
    if pinning and pinning.on:
        for process in (bff, api):
            pin(_pid(process), cpus)
    return Stack(config=config, env=env, password=password, bff=bff, api=api, redis=redis)


def _pid(process: Process) -> int:
    if process.pid is None:
        raise HarnessError(f"{process.name} was never started")
    return process.pid


def stack_env(
    config: Config, var_dir: Path, bff_port: int, api_port: int, redis_port: int | None
) -> dict[str, str]:
    # a developer's own BFF_*/API_* settings must not leak into the run
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BFF_", "API_"))}
    env.update(
        BFF_VAR_DIR=str(var_dir),
        API_VAR_DIR=str(var_dir),  # shared: the API reads the revocation feed secret from it
        BFF_PUBLIC_URL=f"http://{LOOPBACK}:{bff_port}",
        API_PUBLIC_URL=f"http://{LOOPBACK}:{api_port}",
        **config.argon2.env,
        # B measures /bff/user while 50 sign-ins are being hashed: the production defaults would
        # shed most of them at once (a queue of 4) and stop the storm's user after 10 sign-ins
        BFF_PASSWORD_QUEUE="64",
        BFF_LOGINS_PER_ACCOUNT="100000",
    )
    if config.signing_alg:
        env["BFF_SIGNING_ALG"] = config.signing_alg
    if redis_port is not None:
        env["BFF_SESSION_STORE"] = f"redis://{LOOPBACK}:{redis_port}/0"
    return env


def run_cli(env: Mapping[str, str], *args: str, stdin: str | None = None) -> str:
    try:
        return run_bff_cli(env, ROOT, args, stdin=stdin)
    except CliFailed as exc:
        raise HarnessError(str(exc)) from None
