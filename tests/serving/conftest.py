"""The API served on a real port by each of the two commands, with short timeouts and a small
connection cap (so the tests wait seconds, not minutes), under a low open-files limit (which the
entry point must raise), with the access log on (the tests read it to see what reached the app).
One server per command for the whole package."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bff.testing.launcher import LOOPBACK, Command, HttpReady, Process, ProcessGroup, free_port
from tests.serving.commands import ROOT, WHICH, Which, command, workers

HEADER_TIMEOUT = 3.0
KEEP_ALIVE_TIMEOUT = 1
MAX_CONNECTIONS = 20  # per worker
OPEN_FILES = (100, 200)  # soft, hard: the entry point raises the soft limit to the hard one
SHORT_LIMITS = (
    f"--header-timeout={HEADER_TIMEOUT:g}",
    f"--keep-alive-timeout={KEEP_ALIVE_TIMEOUT}",
    f"--max-connections={MAX_CONNECTIONS}",
    "--access-log",
)


@dataclass(frozen=True)
class Served:
    which: Which
    process: Process
    port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def workers(self) -> int:
        return workers(self.which)


def api_env(var: str) -> dict[str, str]:
    # the API alone: it retries the BFF's revocation feed, which nobody serves here
    return {"PATH": "/usr/bin:/bin", "API_VAR_DIR": var, "API_REVOCATION_SECRET": "unused"}


def api_command(which: Which, port: int, var: str, *, extra: tuple[str, ...] = ()) -> Command:
    soft, hard = OPEN_FILES
    return Command(
        name=f"api-{which.replace(' ', '-')}",
        argv=["prlimit", f"--nofile={soft}:{hard}", "--", *command(which, "api", port), *extra],
        env=api_env(var),
        cwd=ROOT,
        ready=HttpReady(f"http://{LOOPBACK}:{port}/healthz"),
    )


@pytest.fixture(scope="package", params=WHICH)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    which: Which = request.param
    var = tmp_path_factory.mktemp("served")
    port = free_port()
    with ProcessGroup(log_dir=var) as group:
        process = group.start(api_command(which, port, str(var), extra=SHORT_LIMITS))
        yield Served(which, process, port)
