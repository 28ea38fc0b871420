"""What a bench run found: one dataclass per benchmark, what each configuration ran with, and
the run as a whole, as the report reads them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.configs import Config
from bench.knobs import Knobs
from bench.measurement import WrkResult
from bench.profile import Profile
from bench.storm import StormStats


@dataclass(frozen=True, kw_only=True)
class SessionReadResult:
    """A: BFF `GET /bff/user` with the benchmark session vs `GET /healthz`."""

    config: Config
    healthz: WrkResult
    user: WrkResult

    @property
    def ratio(self) -> float:
        return self.user.rps / self.healthz.rps if self.healthz.rps else 0.0

    @property
    def runs(self) -> tuple[WrkResult, ...]:
        return (self.healthz, self.user)


@dataclass(frozen=True, kw_only=True)
class StormResult:
    """B: `GET /bff/user` idle, then during a login storm."""

    config: Config
    idle: WrkResult
    storm: WrkResult
    logins: StormStats
    notes: tuple[str, ...] = ()

    @property
    def ratio(self) -> float:
        return self.storm.p99_ms / self.idle.p99_ms if self.idle.p99_ms else float("inf")

    @property
    def runs(self) -> tuple[WrkResult, ...]:
        return (self.idle, self.storm)


@dataclass(frozen=True, kw_only=True)
class ApiReadResult:
    """C: API `GET /me` with one (cached) token vs `GET /healthz`, and with a fresh token per
    request (cold)."""

    config: Config
    healthz: WrkResult
    warm: WrkResult
    cold: WrkResult
    tokens: int  # minted for the cold path
    mint_s: float
    notes: tuple[str, ...] = ()

    @property
    def ratio(self) -> float:
        return self.warm.rps / self.healthz.rps if self.healthz.rps else 0.0

    @property
    def cold_ratio(self) -> float:
        return self.cold.rps / self.healthz.rps if self.healthz.rps else 0.0

    @property
    def passes(self) -> float:
        """How many times wrk went through the token file."""
        return self.cold.requests / self.tokens if self.tokens else 0.0

    @property
    def runs(self) -> tuple[WrkResult, ...]:
        return (self.healthz, self.warm, self.cold)


@dataclass(frozen=True, kw_only=True)
class TokenGrantResult:
    """D: BFF `POST /oauth/token`, client credentials and refresh rotation, beside the same
    process's `GET /healthz`. Only 200s count as grants and as rotations."""

    config: Config
    healthz: WrkResult
    client_credentials: WrkResult
    refresh: WrkResult
    refresh_tokens: int  # in the measured run's file, each sent at most once
    exhausted: bool  # wrk may have run out of them (it stops then: the rate is a floor)
    grant_calls: Mapping[str, int]  # Redis commands during each measured run (none on SQLite)
    rotation_calls: Mapping[str, int]
    families: int  # started for the refresh runs (check, warm-up, measured)
    start_s: float  # to start them
    # of the rows that missed the goal, in runs of their own
    grant_profile: Profile | None = None
    rotation_profile: Profile | None = None
    notes: tuple[str, ...] = ()

    @property
    def grants(self) -> float:
        return self.client_credentials.rate(200)

    @property
    def rotations(self) -> float:
        return self.refresh.rate(200)

    @property
    def runs(self) -> tuple[WrkResult, ...]:
        return (self.healthz, self.client_credentials, self.refresh)


@dataclass(frozen=True, kw_only=True)
class StackRecord:
    """How a configuration's stack ran: its BFF_*/API_* settings and its commands."""

    title: str
    settings: Mapping[str, str]
    commands: Mapping[str, tuple[str, ...]]  # process name: argv


@dataclass(kw_only=True)
class Results:
    knobs: Knobs
    started: dt.datetime
    elapsed_s: float = 0.0
    machine: Mapping[str, str] = field(default_factory=dict)
    a: list[SessionReadResult] = field(default_factory=list)
    b: list[StormResult] = field(default_factory=list)
    c: list[ApiReadResult] = field(default_factory=list)
    d: list[TokenGrantResult] = field(default_factory=list)
    stacks: list[StackRecord] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # every wrk command, redacted
    notes: list[str] = field(default_factory=list)  # of the harness (stops, …)
    errors: list[str] = field(default_factory=list)  # what could not be measured

    @property
    def runs(self) -> list[WrkResult]:
        rows: list[SessionReadResult | StormResult | ApiReadResult | TokenGrantResult] = [
            *self.a,
            *self.b,
            *self.c,
            *self.d,
        ]
        return [run for row in rows for run in row.runs]

    @property
    def observations(self) -> list[str]:
        """The benchmarks' notes, then the harness's."""
        rows: list[StormResult | ApiReadResult | TokenGrantResult] = [*self.b, *self.c, *self.d]
        return [note for row in rows for note in row.notes] + self.notes


def fmt_counts(seen: Mapping[Any, int]) -> str:
    """`{303: 38, 429: 205}` as the report writes it: `303x38, 429x205`."""
    return ", ".join(f"{k}x{v}" for k, v in sorted(seen.items(), key=lambda kv: str(kv[0])))
