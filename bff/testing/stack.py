"""The BFF and the API as real uvicorn processes on loopback, for the suites that drive them from
outside: an environment of their own (fresh var dirs, one revocation-feed secret for both, argon2
at OWASP's floor), the `python -m bff` CLI run against it, and both apps started in a
`ProcessGroup`, which stops them. `scaled_stack` runs several instances of each, as behind a
load balancer, on one shared session store.

Nothing of the developer's own BFF_*/API_* settings (a Redis store, a secret, a database) leaks
into the stack: it is isolated by construction.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bff.testing.launcher import LOOPBACK, Command, Process, ProcessGroup, free_port
from bff.testing.servers import uvicorn_app
from contract.revocation import REVOCATION_PATH
from contract.tokens import JWKS_PATH

# the OWASP floor: fast enough for tests, still real argon2id
FAST_ARGON2 = {"BFF_ARGON2_MEMORY_KIB": "19456", "BFF_ARGON2_TIME_COST": "2"}
# a suite signs its one user in again for every journey, far more often than a person would
# (the per-account limit itself is tested in-process, on a frozen clock)
SIGN_INS = {"BFF_LOGINS_PER_ACCOUNT": "1000"}
CLI_TIMEOUT = 60.0


class CliFailed(Exception):
    """`python -m bff …` exited non-zero or timed out: the message names the command and ends
    with what it wrote to stderr."""


@dataclass(frozen=True, kw_only=True)
class LocalStack:
    """Where the two apps will listen and what they (and the CLI) run with."""

    env: Mapping[str, str]
    root: Path  # the checkout: the working directory of the apps and the CLI
    bff_port: int
    api_port: int

    @property
    def bff_url(self) -> str:
        return self.env["BFF_PUBLIC_URL"]

    @property
    def api_url(self) -> str:
        return self.env["API_PUBLIC_URL"]

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run `python -m bff *args` against this stack's var dir, `stdin` on its standard
        input (a password: never in argv, which any local user can read); its stdout."""
        return run_bff_cli(self.env, self.root, args, stdin=stdin)

    def start(
        self, processes: ProcessGroup, *, timeout: float = 20.0, options: Sequence[str] = ()
    ) -> tuple[Process, Process]:
        """Start the BFF, then the API (which replays the BFF's revocation feed as it starts),
        each ready once its /healthz answers; `processes` stops them."""
        bff = processes.start(self._server("bff", self.bff_port, timeout, options))
        api = processes.start(self._server("api", self.api_port, timeout, options))
        return bff, api

    def _server(
        self, app: Literal["bff", "api"], port: int, timeout: float, options: Sequence[str]
    ) -> Command:
        return uvicorn_app(
            app, port=port, env=self.env, cwd=self.root, options=options, timeout=timeout
        )


def local_stack(workdir: Path, *, root: Path) -> LocalStack:
    """A stack on two free loopback ports, its var dirs under `workdir` (not created yet: run
    `cli("init")` first)."""
    bff_port, api_port = free_port(), free_port()
    env = _isolated_env(workdir)
    env.update(
        BFF_PUBLIC_URL=f"http://{LOOPBACK}:{bff_port}",
        API_PUBLIC_URL=f"http://{LOOPBACK}:{api_port}",
    )
    return LocalStack(env=env, root=root, bff_port=bff_port, api_port=api_port)


@dataclass(frozen=True, kw_only=True)
class Instance:
    """One BFF process and the API process that follows its revocation feed, each on a port of
    its own."""

    number: int  # from 1, in process names and messages
    bff_port: int
    api_port: int

    @property
    def bff_url(self) -> str:
        return f"http://{LOOPBACK}:{self.bff_port}"

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.api_port}"


@dataclass(frozen=True, kw_only=True)
class ScaledStack:
    """Several BFF and API instances, as behind a load balancer. Every BFF shares the session
    store URL (sessions, counters, grant records, the revocation feed), the var dir (secret key,
    signing keys, users) and the public URL (the tokens' `iss`), every API the public URL that
    is the tokens' `aud`; nothing listens on the two public URLs here, so clients call each
    instance on its own port. BFF n reaches API n, and API n follows BFF n's JWKS and feed."""

    env: Mapping[str, str]
    root: Path
    instances: tuple[Instance, ...]

    @property
    def public_bff_url(self) -> str:
        return self.env["BFF_PUBLIC_URL"]

    @property
    def public_api_url(self) -> str:
        return self.env["API_PUBLIC_URL"]

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run `python -m bff *args` against the shared var dir and store; its stdout."""
        return run_bff_cli(self.env, self.root, args, stdin=stdin)

    def start(
        self, processes: ProcessGroup, *, timeout: float = 20.0, options: Sequence[str] = ()
    ) -> list[tuple[Process, Process]]:
        """Start every BFF, then every API (each replays its BFF's feed as it starts): the
        (BFF, API) processes of each instance, in order; `processes` stops them."""
        bffs = [
            processes.start(self.bff_command(one, timeout=timeout, options=options))
            for one in self.instances
        ]
        apis = [
            processes.start(self.api_command(one, timeout=timeout, options=options))
            for one in self.instances
        ]
        return list(zip(bffs, apis, strict=True))

    def bff_command(
        self, instance: Instance, *, timeout: float = 20.0, options: Sequence[str] = ()
    ) -> Command:
        """BFF n, reaching API n for the dashboard and the proxy."""
        env = {**self.env, "BFF_API_URL": instance.api_url}
        return uvicorn_app(
            "bff",
            port=instance.bff_port,
            env=env,
            cwd=self.root,
            options=options,
            timeout=timeout,
            name=f"bff-{instance.number}",
        )

    def api_command(
        self, instance: Instance, *, timeout: float = 20.0, options: Sequence[str] = ()
    ) -> Command:
        """API n, following BFF n's JWKS and revocation feed."""
        env = {
            **self.env,
            "API_JWKS_URL": f"{instance.bff_url}{JWKS_PATH}",
            "API_REVOCATION_URL": f"{instance.bff_url}{REVOCATION_PATH}",
        }
        return uvicorn_app(
            "api",
            port=instance.api_port,
            env=env,
            cwd=self.root,
            options=options,
            timeout=timeout,
            name=f"api-{instance.number}",
        )


def scaled_stack(
    workdir: Path, *, root: Path, session_store: str, instances: int = 2
) -> ScaledStack:
    """`instances` BFFs and as many APIs on free loopback ports, sharing `session_store` (a
    `redis://` URL: the other stores are one process's or one machine's), their var dirs under
    `workdir` (not created yet: run `cli("init")` first)."""
    env = _isolated_env(workdir)
    env.update(
        BFF_SESSION_STORE=session_store,
        # the load balancers' addresses: the tokens' iss and aud, the Origin browsers send
        BFF_PUBLIC_URL=f"http://{LOOPBACK}:{free_port()}",
        API_PUBLIC_URL=f"http://{LOOPBACK}:{free_port()}",
    )
    numbered = tuple(
        Instance(number=n, bff_port=free_port(), api_port=free_port())
        for n in range(1, instances + 1)
    )
    return ScaledStack(env=env, root=root, instances=numbered)


def _isolated_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BFF_", "API_"))}
    # separate var dirs, so the API follows the revocation feed with the configured secret
    feed_secret = secrets.token_urlsafe(32)
    env.update(
        BFF_REVOCATION_SECRET=feed_secret,
        API_REVOCATION_SECRET=feed_secret,
        BFF_VAR_DIR=str(workdir / "bff-var"),
        API_VAR_DIR=str(workdir / "api-var"),
        **FAST_ARGON2,
        **SIGN_INS,
    )
    return env


def run_bff_cli(
    env: Mapping[str, str], root: Path, args: Sequence[str], *, stdin: str | None = None
) -> str:
    """`python -m bff *args` in `root` with exactly `env`, `stdin` on its standard input: its
    stdout; CliFailed (naming the command, ending with its stderr) when it fails or hangs."""
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bff", *args],
            input=stdin,
            cwd=root,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CliFailed(f"python -m bff {args[0]} timed out") from None
    if result.returncode != 0:
        raise CliFailed(f"python -m bff {args[0]} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout
