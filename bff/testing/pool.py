"""Running stacks for a test session: the BFF and the API as real processes (`bff.testing.stack`),
one per distinct set of settings, each started on first use and stopped when the pool closes,
with users made through the `python -m bff` CLI.

A stack runs on SQLite in a var dir of its own, or on a throwaway redis-server of its own
(`store="redis"`): never a developer's var/ or Redis. Settings are `BFF_*`/`API_*` environment
variables laid over the stack's isolated environment; the apps validate them as they start, so a
bad value fails the start with the app's own message (`LaunchError`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from bff.testing.launcher import LOOPBACK, ProcessGroup, free_port
from bff.testing.servers import redis_server
from bff.testing.stack import LocalStack, local_stack
from bff.users import Role

Store = Literal["sqlite", "redis"]
STORES: tuple[Store, ...] = get_args(Store)
START_TIMEOUT = 20.0
MIN_SESSION_SECONDS = 60  # what the BFF's settings accept for either timeout
AUDIT_LINE = "INFO bff.audit "  # how the BFF logs an audit event: then its JSON
SETTING_NAME = re.compile(r"(BFF|API)_[A-Z0-9_]+")


class KitError(Exception):
    """The kit could not do what a test asked: a bad setting, no redis-server, a refused
    sign-in or token. The message says what, never a password or a token."""


@dataclass(frozen=True, kw_only=True)
class User:
    """A user of one stack, made through the CLI. `password` is what the login form takes."""

    email: str
    password: str
    role: Role
    bff_url: str  # the stack the user belongs to

    def __repr__(self) -> str:  # a failing test prints its arguments: never the password
        return f"User(email={self.email!r}, role={self.role!r}, bff_url={self.bff_url!r})"


class RunningStack:
    """A started BFF and API. `bff_url`/`api_url` are where they listen, `settings` what they
    were started with beyond the defaults, `cli` runs `python -m bff` against them."""

    def __init__(
        self, local: LocalStack, *, settings: Mapping[str, str], store: Store, log_dir: Path
    ) -> None:
        self.local = local
        self.log_dir = log_dir  # bff.log, api.log (and redis.log): each process's output
        self.settings = dict(settings)
        self.store = store
        self._shared: dict[Role, User] = {}

    @property
    def bff_url(self) -> str:
        return self.local.bff_url

    @property
    def api_url(self) -> str:
        return self.local.api_url

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """`python -m bff *args` against this stack's var dir and store (`stdin` on its standard
        input): its stdout."""
        return self.local.cli(*args, stdin=stdin)

    def audit_events(self, event: str | None = None) -> list[dict[str, Any]]:
        """The BFF's audit events so far (`login.succeeded`, `token.minted`, …, see the README),
        each a dict as logged, or only those named `event`."""
        lines = (self.log_dir / "bff.log").read_text(errors="replace").splitlines()
        events = [
            json.loads(line[len(AUDIT_LINE) :]) for line in lines if line.startswith(AUDIT_LINE)
        ]
        return [e for e in events if event is None or e.get("event") == event]

    def add_user(self, role: Role = "user", *, email: str | None = None) -> User:
        """A new user with a random 20-character password."""
        email = email or f"{role}-{secrets.token_hex(4)}@example.com"
        password = secrets.token_urlsafe(15)
        # on standard input: argv is readable by every local user (/proc/PID/cmdline)
        self.cli("users", "add", email, "--role", role, stdin=f"{password}\n")
        return User(email=email, password=password, role=role, bff_url=self.bff_url)

    def shared_user(self, role: Role = "user") -> User:
        """The one user of `role` that every test asking for it shares (made on first use)."""
        if role not in self._shared:
            self._shared[role] = self.add_user(role, email=f"{role}@example.com")
        return self._shared[role]


class StackPool:
    """Stacks started on demand, one per distinct set of settings, for as long as the pool is
    open; `close` stops every process (in reverse order of start) and removes nothing else."""

    def __init__(self, workdir: Path, *, root: Path, store: Store = "sqlite") -> None:
        if store not in STORES:
            raise KitError(f"unknown store {store!r}: one of {', '.join(STORES)}")
        self.workdir = workdir
        self.root = root
        self.store: Store = store
        self._stacks: dict[tuple[tuple[str, str], ...], RunningStack] = {}
        self._processes = contextlib.ExitStack()

    @property
    def default(self) -> RunningStack:
        """The stack with no settings beyond the kit's defaults."""
        return self.start()

    def start(self, **settings: str | int) -> RunningStack:
        """The stack started with `settings` (e.g. `BFF_SESSION_IDLE_SECONDS="60"`), started
        now unless this pool already runs one with exactly these settings."""
        wanted = _checked(settings)
        key = tuple(sorted(wanted.items()))
        if key not in self._stacks:
            self._stacks[key] = self._launch(wanted, number=len(self._stacks) + 1)
        return self._stacks[key]

    def close(self) -> None:
        self._stacks.clear()
        self._processes.close()

    def _launch(self, settings: dict[str, str], *, number: int) -> RunningStack:
        workdir = self.workdir / f"stack-{number}"
        local = local_stack(workdir, root=self.root)
        processes = self._processes.enter_context(ProcessGroup(log_dir=workdir))
        env = dict(local.env)
        if self.store == "redis":
            env["BFF_SESSION_STORE"] = self._start_redis(processes, workdir)
        env.update(settings)
        local = dataclasses.replace(local, env=env)
        local.cli("init")
        local.start(processes, timeout=START_TIMEOUT)
        return RunningStack(local, settings=settings, store=self.store, log_dir=workdir)

    def _start_redis(self, processes: ProcessGroup, workdir: Path) -> str:
        binary = shutil.which("redis-server")
        if binary is None:
            raise KitError("--bff-store=redis needs redis-server on PATH")
        port = free_port()
        redis_dir = workdir / "redis"
        redis_dir.mkdir(parents=True)
        processes.start(redis_server(port=port, workdir=redis_dir, binary=binary))
        return f"redis://{LOOPBACK}:{port}/0"


def short_timeouts(
    *,
    idle: int = MIN_SESSION_SECONDS,
    absolute: int = 2 * MIN_SESSION_SECONDS,
    warning: int | None = None,
) -> dict[str, str]:
    """Settings for a stack whose sessions end soon: `idle` seconds unused (sliding) and
    `absolute` seconds after sign-in, both at least 60 and `absolute` at least `idle` (what the
    BFF accepts); `warning`, when given, is how long before the idle timeout the app warns
    (`BFF_IDLE_WARNING_SECONDS`), passed through as it is. For `StackPool.start(**…)`."""
    if idle < MIN_SESSION_SECONDS or absolute < MIN_SESSION_SECONDS:
        raise KitError(f"session timeouts are at least {MIN_SESSION_SECONDS} s")
    if absolute < idle:
        raise KitError("the absolute timeout cannot be shorter than the idle timeout")
    settings = {
        "BFF_SESSION_IDLE_SECONDS": str(idle),
        "BFF_SESSION_ABSOLUTE_SECONDS": str(absolute),
    }
    if warning is not None:
        settings["BFF_IDLE_WARNING_SECONDS"] = str(warning)
    return settings


def _checked(settings: Mapping[str, str | int]) -> dict[str, str]:
    bad = [name for name in settings if not SETTING_NAME.fullmatch(name)]
    if bad:
        raise KitError(f"not a BFF_*/API_* setting: {', '.join(sorted(bad))}")
    return {name: str(value) for name, value in settings.items()}
