"""The login storm: bursts of concurrent `POST /login` as the storm's user, one burst after
another, until told to stop. Each login brings its own login-CSRF pair, fetched beforehand, so
the storm is nothing but password checks queued for the BFF's argon2 worker."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from bench.session import LOGIN_TIMEOUT, LoginForm, login_form, login_request
from bench.stack import STORM_EMAIL, Stack

STORM_SIZE = 50  # logins per burst
STORM_MAX_BURSTS = 6  # forms are fetched for this many


@dataclass
class StormStats:
    bursts_started: int = 0
    bursts_completed: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # or the error's name
    latencies: list[float] = field(default_factory=list)  # seconds, of answered logins
    cancelled: int = 0  # in flight when the storm was stopped

    @property
    def completed(self) -> int:
        return len(self.latencies)


def storm_forms(st: Stack) -> list[LoginForm]:
    with httpx.Client(base_url=st.bff_url, timeout=10.0) as client:
        return [login_form(client) for _ in range(STORM_SIZE * STORM_MAX_BURSTS)]


async def login_storm(
    st: Stack, forms: list[LoginForm], stats: StormStats, stop: asyncio.Event
) -> None:
    """Bursts of STORM_SIZE concurrent logins until `stop` is set or the forms run out; logins
    in flight at `stop` are cancelled."""
    limits = httpx.Limits(max_connections=STORM_SIZE, max_keepalive_connections=STORM_SIZE)
    async with httpx.AsyncClient(
        base_url=st.bff_url,
        timeout=httpx.Timeout(LOGIN_TIMEOUT),
        limits=limits,
        follow_redirects=False,
    ) as client:

        async def one(form: LoginForm) -> None:
            started = time.monotonic()
            try:
                response = await client.post(**login_request(st, form, email=STORM_EMAIL))
            except httpx.HTTPError as exc:
                stats.statuses[type(exc).__name__] += 1
                return
            stats.statuses[str(response.status_code)] += 1
            stats.latencies.append(time.monotonic() - started)

        for start in range(0, len(forms), STORM_SIZE):
            if stop.is_set():
                return
            stats.bursts_started += 1
            burst = [asyncio.create_task(one(f)) for f in forms[start : start + STORM_SIZE]]
            await _until_done_or_stopped(burst, stop)
            pending = [task for task in burst if not task.done()]
            for task in pending:
                task.cancel()
            stats.cancelled += len(pending)
            await asyncio.gather(*burst, return_exceptions=True)
            if not pending:
                stats.bursts_completed += 1


async def _until_done_or_stopped(tasks: list[asyncio.Task[None]], stop: asyncio.Event) -> None:
    stopper = asyncio.create_task(stop.wait())
    while not stop.is_set() and not all(task.done() for task in tasks):
        await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
