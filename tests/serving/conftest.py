"""The apps served on real ports by each of the two commands, with short timeouts and a small
connection cap (so the tests wait seconds, not minutes), with the access log on (the tests read
it to see what reached the app). `served`: the API alone, under a low open-files limit (which the
entry point must raise); `stack`: the BFF and the API that follows it, with a user who can sign in
(so the API answers tokens, and the bodies of the endpoints that read one are real). One of each
per command for the whole package."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import httpx
import pytest

from bff.testing.launcher import LOOPBACK, Command, HttpReady, Process, ProcessGroup, free_port
from bff.testing.stack import local_stack
from tests.serving.commands import ROOT, WHICH, Which, command, workers

HEADER_TIMEOUT = 3.0
BODY_TIMEOUT = 2.0
SEND_TIMEOUT = 2.0
KEEP_ALIVE_TIMEOUT = 1
MAX_CONNECTIONS = 20  # per worker
OPEN_FILES = (100, 200)  # soft, hard: the entry point raises the soft limit to the hard one
EMAIL = "serving@example.com"
SHORT_LIMITS = (
    f"--header-timeout={HEADER_TIMEOUT:g}",
    f"--body-timeout={BODY_TIMEOUT:g}",
    f"--send-timeout={SEND_TIMEOUT:g}",
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


@dataclass(frozen=True)
class Stack:
    bff: Served
    api: Served
    env: Mapping[str, str]  # both apps', and the CLI's
    email: str
    password: str

    @property
    def feed_secret(self) -> str:
        """What an API presents to follow the BFF's revocation feed."""
        return self.env["BFF_REVOCATION_SECRET"]

    def command(self, app: Literal["bff", "api"], port: int) -> Command:
        """`app` served on `port` by the stack's command, with the short limits."""
        which = self.bff.which
        return stack_command(which, app, port, self.env)

    def sign_in(self) -> str:
        """A new session: the `Cookie` header that carries it. (httpx sends no Secure cookie
        over http, not even to loopback, so the cookies are carried by hand.)"""
        page = httpx.get(f"{self.bff.url}/login")
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert page.status_code == 200 and match, page.status_code
        form = {"csrf_token": match.group(1), "email": self.email, "password": self.password}
        posted = httpx.post(
            f"{self.bff.url}/login", data=form, headers={"Cookie": _cookie(page, "__Host-login")}
        )
        assert posted.status_code == 303, posted.text
        return _cookie(posted, "__Host-sid")

    def token(self, cookie: str) -> str:
        """An access token for the session, as the JavaScript channel gets one."""
        minted = httpx.post(f"{self.bff.url}/bff/token", headers={"Cookie": cookie, "X-CSRF": "1"})
        assert minted.status_code == 200, minted.text
        return str(minted.json()["access_token"])


def _cookie(response: httpx.Response, prefix: str) -> str:
    for value in response.headers.get_list("set-cookie"):
        if value.startswith(prefix):
            return value.split(";", 1)[0]
    raise AssertionError(f"no {prefix} cookie set")


def stack_command(
    which: Which, app: Literal["bff", "api"], port: int, env: Mapping[str, str]
) -> Command:
    return Command(
        name=f"{app}-{which.replace(' ', '-')}",
        argv=[*command(which, app, port), *SHORT_LIMITS],
        env=env,
        cwd=ROOT,
        ready=HttpReady(f"http://{LOOPBACK}:{port}/healthz"),
    )


@pytest.fixture(scope="package", params=WHICH)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    which: Which = request.param
    work = tmp_path_factory.mktemp("stack")
    local = local_stack(work, root=ROOT)
    local.cli("init")
    password = secrets.token_urlsafe(15)
    local.cli("users", "add", EMAIL, stdin=f"{password}\n")
    with ProcessGroup(log_dir=work / "logs") as group:
        # the BFF first: the API replays its revocation feed as it starts
        bff = group.start(stack_command(which, "bff", local.bff_port, local.env))
        api = group.start(stack_command(which, "api", local.api_port, local.env))
        yield Stack(
            bff=Served(which, bff, local.bff_port),
            api=Served(which, api, local.api_port),
            env=local.env,
            email=EMAIL,
            password=password,
        )
