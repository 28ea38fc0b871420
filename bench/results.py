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
from bench.targets import Target


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
class AnchorResult:
    """E: one of our endpoints against an anchor's (or our other store's), in alternating
    segments on the same CPU, with the same wrk command."""

    config: Config
    ours_label: str  # what we served: "API `GET /me`, ES256 token, claims cache warm"
    anchor_label: str  # what it was compared with: "Express `GET /api/dashboard-keyobject`"
    target: Target
    ours: WrkResult
    anchor: WrkResult
    hot_path: str = ""  # the H profile that shows where our side's time goes

    @property
    def ratio(self) -> float:
        return self.ours.rps / self.anchor.rps if self.anchor.rps else 0.0

    @property
    def runs(self) -> tuple[WrkResult, ...]:
        return (self.ours, self.anchor)


@dataclass(frozen=True, kw_only=True)
class HotPath:
    """H: where one hot path's server CPU goes, per request: a measured run (unsampled) and a
    py-spy profile of a run of its own."""

    config: Config
    key: str  # what E's rows name it by
    title: str
    measured: WrkResult
    profile: Profile

    @property
    def runs(self) -> tuple[WrkResult, ...]:
        return (self.measured,)


@dataclass(frozen=True, kw_only=True)
class WorkersResult:
    """F: the production configuration (several workers per app, on every CPU): req/s of the
    hot endpoints, and the same endpoints on one pinned worker in this run, for scale."""

    config: Config
    rows: tuple[tuple[str, WrkResult], ...]  # (endpoint, run)
    one_worker: Mapping[str, float] = field(default_factory=dict)  # endpoint: req/s

    @property
    def runs(self) -> tuple[WrkResult, ...]:
        return tuple(run for _, run in self.rows)


@dataclass(frozen=True, kw_only=True)
class RssSeries:
    """One process's resident memory over a soak, sampled from /proc after its warm-up."""

    name: str
    samples: tuple[tuple[float, int], ...]  # (seconds since the soak's start, KiB)
    warm_kib: int  # at the end of the warm-up, before the first sample

    @property
    def start(self) -> int:
        return self.samples[0][1] if self.samples else 0

    @property
    def end(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    @property
    def low(self) -> int:
        return min(kib for _, kib in self.samples) if self.samples else 0

    @property
    def high(self) -> int:
        return max(kib for _, kib in self.samples) if self.samples else 0

    @property
    def drift(self) -> float:
        """The furthest sample from the first, as a share of the first (signed)."""
        if not self.start:
            return 0.0
        far = max((kib for _, kib in self.samples), key=lambda kib: abs(kib - self.start))
        return (far - self.start) / self.start


@dataclass(frozen=True, kw_only=True)
class SoakResult:
    """G: BFF and API RSS while both are under load for the soak's length."""

    config: Config
    seconds: int  # sampled, after the warm-up
    warmup: int
    series: tuple[RssSeries, ...]
    loads: tuple[tuple[str, WrkResult], ...]  # (what, the run that lasted warm-up + soak)

    @property
    def runs(self) -> tuple[WrkResult, ...]:
        return tuple(run for _, run in self.loads)


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
    e: list[AnchorResult] = field(default_factory=list)
    f: list[WorkersResult] = field(default_factory=list)
    g: list[SoakResult] = field(default_factory=list)
    h: list[HotPath] = field(default_factory=list)
    anchors: str = ""  # the anchors' folder, or why E did not run
    anchor_facts: dict[str, str] = field(default_factory=dict)  # their commands and versions
    pinning: str = ""  # how the run pinned its processes, or why it did not
    stacks: list[StackRecord] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # every wrk command, redacted
    notes: list[str] = field(default_factory=list)  # of the harness (stops, …)
    errors: list[str] = field(default_factory=list)  # what could not be measured

    @property
    def runs(self) -> list[WrkResult]:
        rows: list[
            SessionReadResult
            | StormResult
            | ApiReadResult
            | TokenGrantResult
            | AnchorResult
            | WorkersResult
            | SoakResult
            | HotPath
        ] = [*self.a, *self.b, *self.c, *self.d, *self.e, *self.f, *self.g, *self.h]
        runs = {id(run): run for row in rows for run in row.runs}  # H reuses E's runs
        return list(runs.values())

    @property
    def observations(self) -> list[str]:
        """The benchmarks' notes, then the harness's."""
        rows: list[StormResult | ApiReadResult | TokenGrantResult] = [*self.b, *self.c, *self.d]
        return [note for row in rows for note in row.notes] + self.notes


def fmt_counts(seen: Mapping[Any, int]) -> str:
    """`{303: 38, 429: 205}` as the report writes it: `303x38, 429x205`."""
    return ", ".join(f"{k}x{v}" for k, v in sorted(seen.items(), key=lambda kv: str(kv[0])))
