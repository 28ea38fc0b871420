"""examples/notes_cli.py as a user runs it: a real subprocess, signed in by a device code that is
approved in Chromium at /device, and signed out within a second of a revoke on My devices."""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from bff.testing.browser import JWT_PREFIX
from bff.testing.plugin import MakeUser, SignedInContext
from bff.testing.pool import RunningStack, User
from bff.testing.signin import fill_sign_in
from e2e.conftest import ROOT
from examples.notes_cli import (
    CONFIG_DIR,
    CREDENTIALS_FILE,
    DEFAULT_CLIENT_ID,
    LOGIN_FAILURES,
    NOT_SIGNED_IN,
    SIGNED_OUT,
    AuthServer,
    CliError,
    Credentials,
    await_approval,
)

CLI = ROOT / "examples" / "notes_cli.py"
RUN_TIMEOUT = 15.0
LOGIN_TIMEOUT = 15.0  # the server's 5 s poll interval, with room to spare
REVOCATION_BUDGET = 1.0  # seconds from the revoke click to a CLI call that is refused
USER_CODE = re.compile(r"open (\S+) and enter the code ([A-Z]{4}-[A-Z]{4})")
PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy"}
CLIENT_NAME = "Notes CLI"
WARNING = "Only approve this if you started it yourself"


@dataclass
class FakeTime:
    """A clock that a sleep moves on, at once."""

    at: float = 0.0
    slept: list[float] = field(default_factory=list)

    def now(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += seconds


class Login:
    """A running `notes_cli.py login`, its output read as it comes: the code shows as it polls."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._ended = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.lines: list[str] = []

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (line := self._next(deadline - time.monotonic())) is not None:
            if found := pattern.search(line):
                return found
        pytest.fail(f"the CLI never printed {pattern.pattern!r}; it printed:\n{self.output}")

    def finish(self, timeout: float) -> int:
        returncode = self._process.wait(timeout)
        while self._next(timeout) is not None:
            pass
        return returncode

    def close(self) -> None:
        if self._process.poll() is None:  # a failed test must not leave it polling
            self._process.kill()
        self._process.wait()
        self._reader.join()  # the pipe is at its end once the process is gone
        if self._process.stdout is not None:
            self._process.stdout.close()

    def _next(self, timeout: float) -> str | None:
        """The next line; None once the output has ended or `timeout` seconds have passed."""
        if self._ended or timeout <= 0:
            return None
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        self._ended = line is None
        if line is not None:
            self.lines.append(line)
        return line

    def _read(self) -> None:
        for line in self._process.stdout or ():
            self._lines.put(line)
        self._lines.put(None)


@dataclass
class NotesCli:
    """The CLI run as a subprocess with a home of its own, pointed at the stack; it keeps every
    output, so a test can check that none holds a token."""

    stack: RunningStack
    home: Path
    outputs: list[str] = field(default_factory=list)

    @property
    def credentials(self) -> Path:
        return self.home / ".config" / CONFIG_DIR / CREDENTIALS_FILE

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self._argv(*args), env=self._env(), capture_output=True, text=True, timeout=RUN_TIMEOUT
        )
        self.outputs += [result.stdout, result.stderr]
        return result

    @contextmanager
    def login(self) -> Iterator[Login]:
        process = subprocess.Popen(
            self._argv("login"),
            env=self._env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        login = Login(process)
        try:
            yield login
        finally:
            login.close()
            self.outputs.append(login.output)

    def stored(self) -> Credentials:
        """The stored grant, once its file and directory are checked to be owner-only."""
        assert stat.S_IMODE(self.credentials.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(self.credentials.stat().st_mode) == 0o600
        return Credentials.parsed(self.credentials.read_text())

    def expire_access_token(self) -> None:
        """As if the access token were about to expire: the next call must refresh first."""
        held = json.loads(self.credentials.read_text())
        self.credentials.write_text(json.dumps({**held, "expires_at": 0}))

    def _argv(self, *args: str) -> list[str]:
        return [sys.executable, str(CLI), *args]

    def _env(self) -> dict[str, str]:
        # neither a developer's NOTES_* settings nor a proxy stand between the CLI and the stack
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOTES_")}
        env = {k: v for k, v in env.items() if k.lower() not in PROXY_VARIABLES}
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            NOTES_ISSUER=self.stack.bff_url,
            NOTES_API=self.stack.api_url,
        )
        return env


def answer_at_device_page(
    page: Page, user: User | None, uri: str, code: str, decision: Literal["allow", "deny"]
) -> None:
    """What the user does with the printed URI and code: sign in there (when `user` is given:
    the page is anonymous), type the code, check who asks, answer."""
    page.goto(uri)
    if user is not None:
        fill_sign_in(page, user)
        page.wait_for_url(uri)
    page.fill('#device-code input[name="user_code"]', code)
    page.click("#continue")
    expect(page.locator("#client-name")).to_have_text(CLIENT_NAME)
    expect(page.locator("#device-warning")).to_contain_text(WARNING)
    expect(page.locator("#device-warning")).to_contain_text(code)
    page.click(f"#{decision}")
    done = "Device connected" if decision == "allow" else "Request denied"
    expect(page.locator("#device-done")).to_have_text(done)


def log_in(
    cli: NotesCli, page: Page, decision: Literal["allow", "deny"], *, sign_in: User | None = None
) -> tuple[int, str]:
    """`login` answered in the browser with `decision` (signing in as `sign_in` on the way): its
    exit status and its output."""
    with cli.login() as login:
        uri, code = login.wait_for(USER_CODE, RUN_TIMEOUT).groups()
        answer_at_device_page(page, sign_in, uri, code, decision)
        returncode = login.finish(LOGIN_TIMEOUT)
    return returncode, login.output


@pytest.fixture
def user(make_user: MakeUser) -> User:
    # each test revokes the grants of the user it signs in: a user of its own
    return make_user(fresh=True)


@pytest.fixture
def page(signed_in_context: SignedInContext, user: User) -> Page:
    """The user's browser, signed in already."""
    return signed_in_context(user).new_page()


@pytest.fixture
def signed_in_cli(page: Page, bff_stack: RunningStack, tmp_path: Path) -> NotesCli:
    """The CLI, signed in by a code the user approved at /device."""
    cli = NotesCli(bff_stack, tmp_path)
    returncode, output = log_in(cli, page, "allow")
    assert (returncode, "Signed in" in output) == (0, True), output
    return cli


def is_revoke_app(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/sessions/revoke-app")


def first_refusal(
    cli: NotesCli, deadline: float
) -> tuple[subprocess.CompletedProcess[str], int, float]:
    """`notes list` until it fails or the deadline passes (the API hears of a revoke by push):
    the failing run, how many runs that took, and when the failing run started."""
    runs = 1
    started = time.monotonic()
    while (result := cli.run("notes", "list")).returncode == 0 and time.monotonic() < deadline:
        runs += 1
        started = time.monotonic()
    return result, runs, started


def assert_no_token_in(outputs: list[str], tokens: set[str]) -> None:
    for output in outputs:
        assert JWT_PREFIX not in output
        assert not [token for token in tokens if token in output]


def test_cli_signs_in_by_device_code_and_is_signed_out_within_a_second_of_a_revoke(
    page: Page, signed_in_cli: NotesCli
) -> None:
    cli, stored = signed_in_cli, signed_in_cli.stored()
    title = f"from the CLI {secrets.token_hex(4)}"

    added = cli.run("notes", "add", title, "--body", "written by examples/notes_cli.py")
    assert added.returncode == 0, added.stderr
    cli.expire_access_token()
    listed = cli.run("notes", "list")
    assert listed.returncode == 0, listed.stderr
    assert title in listed.stdout
    # refreshed on the way, transparently: both tokens replaced, the file still owner-only
    renewed = cli.stored()
    assert renewed.refresh_token != stored.refresh_token
    assert renewed.access_token != stored.access_token
    tokens = {t for held in (stored, renewed) for t in (held.access_token, held.refresh_token)}

    page.goto("/sessions")
    app = page.locator("#apps tr.app").first
    expect(app.locator(".app-name")).to_have_text(CLIENT_NAME)
    with page.expect_response(is_revoke_app) as revoked:
        clicked = time.monotonic()
        app.get_by_role("button", name="Revoke").click()
    answered = time.monotonic() - clicked
    assert revoked.value.status == 303
    refused, runs, started = first_refusal(cli, clicked + REVOCATION_BUDGET)
    latency = started - clicked  # the CLI's next call after the revoke is the one refused
    total = time.monotonic() - clicked

    # the rest of the total is each CLI run's interpreter start, not the revocation
    print(
        f"revoke click to the CLI's refused call: {latency * 1000:.0f} ms (the revoke answered "
        f"after {answered * 1000:.0f} ms; {runs} CLI run(s); the refusal printed after "
        f"{total * 1000:.0f} ms)"
    )
    assert refused.returncode == 1, refused.stdout
    assert refused.stderr.strip() == SIGNED_OUT
    assert latency < REVOCATION_BUDGET
    assert not cli.credentials.exists()
    expect(page.locator("#no-apps")).to_be_visible()
    assert_no_token_in(cli.outputs, tokens)


def test_cli_logout_revokes_the_grant_and_deletes_its_credentials(
    page: Page, bff_stack: RunningStack, signed_in_cli: NotesCli
) -> None:
    cli, stored = signed_in_cli, signed_in_cli.stored()

    logged_out = cli.run("logout")

    assert logged_out.returncode == 0, logged_out.stderr
    assert not cli.credentials.exists()
    # ended at the server, not just forgotten here: the refresh token no longer works
    refresh = {"grant_type": "refresh_token", "refresh_token": stored.refresh_token}
    form = {**refresh, "client_id": DEFAULT_CLIENT_ID}
    answer = httpx.post(f"{bff_stack.bff_url}/oauth/token", data=form, trust_env=False)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    page.goto("/sessions")
    expect(page.locator("#no-apps")).to_be_visible()
    after = cli.run("notes", "list")
    assert (after.returncode, after.stderr.strip()) == (1, NOT_SIGNED_IN)
    assert_no_token_in(cli.outputs, {stored.access_token, stored.refresh_token})


def test_cli_login_denied_in_the_browser_fails_and_stores_nothing(
    context: BrowserContext, bff_stack: RunningStack, user: User, tmp_path: Path
) -> None:
    cli = NotesCli(bff_stack, tmp_path)
    anonymous = context.new_page()  # the user signs in on the way, at /device

    returncode, output = log_in(cli, anonymous, "deny", sign_in=user)

    assert returncode == 1, output
    assert LOGIN_FAILURES["access_denied"] in output
    assert not cli.credentials.exists()


def test_cli_polls_no_faster_than_the_server_asks_and_stops_when_the_code_expires(
    bff_stack: RunningStack,
) -> None:
    fake = FakeTime()
    with httpx.Client(timeout=RUN_TIMEOUT, trust_env=False) as http:
        server = AuthServer(http, issuer=bff_stack.bff_url, client_id=DEFAULT_CLIENT_ID)
        started = server.start_device_flow()
        with pytest.raises(CliError) as failure:
            await_approval(server, started, now=fake.now, sleep=fake.sleep)

    # the fake sleeps take no real time, so every poll after the first is too soon for the
    # server: each answers slow_down, and the CLI waits 5 s longer from then on
    assert fake.slept[:5] == [5, 5, 10, 15, 20]
    assert sum(fake.slept) >= started.expires_in
    assert str(failure.value) == LOGIN_FAILURES["expired_token"]
