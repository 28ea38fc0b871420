"""The BFF and the API as real uvicorn processes on loopback, for the suites that drive them from
outside: an environment of their own (fresh var dirs, one revocation-feed secret for both, argon2
at OWASP's floor), the `python -m bff` CLI run against it, and both apps started in a
`ProcessGroup`, which stops them.

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

    def cli(self, *args: str) -> str:
        """Run `python -m bff *args` against this stack's var dir; its stdout."""
        try:
            result = subprocess.run(
                [sys.executable, "-m", "bff", *args],
                cwd=self.root,
                env=dict(self.env),
                capture_output=True,
                text=True,
                timeout=CLI_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CliFailed(f"python -m bff {args[0]} timed out") from None
        if result.returncode != 0:
            raise CliFailed(
                f"python -m bff {args[0]} failed ({result.returncode}):\n{result.stderr}"
            )
        return result.stdout

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
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BFF_", "API_"))}
    # separate var dirs, so the API follows the revocation feed with the configured secret
    feed_secret = secrets.token_urlsafe(32)
    env.update(
        BFF_REVOCATION_SECRET=feed_secret,
        API_REVOCATION_SECRET=feed_secret,
        BFF_VAR_DIR=str(workdir / "bff-var"),
        API_VAR_DIR=str(workdir / "api-var"),
        BFF_PUBLIC_URL=f"http://{LOOPBACK}:{bff_port}",
        API_PUBLIC_URL=f"http://{LOOPBACK}:{api_port}",
        **FAST_ARGON2,
        **SIGN_INS,
    )
    return LocalStack(env=env, root=root, bff_port=bff_port, api_port=api_port)
