"""A bench run, in phases, everything it started stopped however it ends, the report written:

1. the SQLite and the Redis stacks side by side, and the anchors beside them (when their folder
   is there): E against the anchors and H's profiles first, on fresh stacks, then A, C and D;
   the anchors are stopped;
2. B's login storms, which leave argon2 work queued: the Redis stack's, which then stops, and
   the SQLite stack's;
3. each remaining configuration on its own: B at the OWASP floor, F with the production
   workers, G's RSS soak.

Exit status 0 when every measurement was taken (a missed target is a FAIL in the report, not an
error); 1 on a harness failure (a process that does not start, a login that fails, wrk failing,
a precondition never met), which ends that configuration's benchmarks; the others still run."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.anchors import (
    Baseline,
    Express,
    describe,
    installed,
    start_baseline,
    start_express,
)
from bench.comparisons import (
    BFF_HEALTHZ,
    BFF_USER,
    ME_COLD,
    ME_WARM,
    against_eddsa_anchor,
    against_redis_anchors,
    against_sqlite_anchors,
)
from bench.configs import ALONE, SIDE_BY_SIDE, Benchmark, Config
from bench.errors import HarnessError
from bench.hotpaths import hot_paths
from bench.knobs import Knobs
from bench.machine import describe_machine
from bench.ours import Ours, prepare
from bench.pinning import Pinning, pin, pinning
from bench.report import render
from bench.results import AnchorResult, Results, StackRecord
from bench.scenarios import api_read, session_read, storm_latency, token_grants
from bench.session import BenchSession, log_in
from bench.soak import rss_soak
from bench.stack import Stack, start_stack
from bench.workers import production_workers
from bench.wrk import Wrk, pid_of
from bff.testing.launcher import LaunchError, ProcessGroup

TOOLS = ("wrk", "redis-server")


@dataclass
class Live:
    """A configuration's running stack, as the phases pass it on."""

    config: Config
    processes: ProcessGroup
    stack: Stack | None = None
    session: BenchSession | None = None
    ours: Ours | None = None
    failed: bool = False

    def wants(self, benchmark: Benchmark) -> bool:
        return not self.failed and benchmark in self.config.benchmarks


@dataclass
class LiveAnchors:
    processes: ProcessGroup
    express: Express | None = None
    baseline: Baseline | None = None
    redis_express: dict[str, Express] = field(default_factory=dict)  # by configuration


def main(env: Mapping[str, str]) -> int:
    knobs = Knobs.from_env(env)
    results = Results(knobs=knobs, started=dt.datetime.now(dt.UTC))
    t0 = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)  # so every `with` stops what it started
    _fresh_results_dir(knobs.results)
    pin_to, results.pinning = pinning(knobs.pin)
    with tempfile.TemporaryDirectory(prefix="bff-bench-") as tmp_name:
        run = Run(knobs, results, Path(tmp_name), pin_to)
        try:
            _check_tools()
            results.machine = describe_machine()
            run.everything()
        except HarnessError as exc:
            results.errors.append(str(exc))
            print(f"harness error: {exc}", file=sys.stderr, flush=True)
        if run.forced:
            results.notes.append(
                f"SIGTERM did not stop {', '.join(run.forced)} within the stop timeout (SIGKILL "
                "followed): uvicorn's graceful shutdown waits for in-flight requests, here "
                "logins queued for the single argon2 worker."
            )
        results.commands = run.wrk.commands
        results.machine = results.machine or describe_machine()
        results.elapsed_s = time.monotonic() - t0
        knobs.report.write_text(render(results) + "\n")
    print(f"wrote {knobs.report} ({results.elapsed_s:.0f} s)")
    print(knobs.report.read_text().split("## Machine")[0])
    return 1 if results.errors else 0


class Run:
    def __init__(self, knobs: Knobs, results: Results, tmp: Path, pin_to: Pinning) -> None:
        self.knobs = knobs
        self.results = results
        self.tmp = tmp
        self.pinning = pin_to
        self.wrk = Wrk(knobs, scratch=tmp, pinning=pin_to)
        self.forced: list[str] = []  # processes that needed SIGKILL

    def everything(self) -> None:
        side_by_side = [self._live(config) for config in self._chosen(SIDE_BY_SIDE)]
        with contextlib.ExitStack() as running:
            for live in side_by_side:
                running.callback(self._stop, live.processes, live.config.title)
            for live in side_by_side:
                self._step(live, self._start)
            with self._anchors(side_by_side) as anchors:
                for live in side_by_side:
                    self._step(live, lambda lv: self._against(lv, anchors, side_by_side))
            for live in side_by_side:
                self._step(live, self._own)
            for live in reversed(side_by_side):  # the Redis storm, then the SQLite one
                self._step(live, self._storm)
                self._stop(live.processes, live.config.title)
        for config in self._chosen(ALONE):
            live = self._live(config)
            try:
                for step in (self._start, self._storm, self._workers, self._soak):
                    self._step(live, step)
            finally:
                self._stop(live.processes, config.title)

    # -- phases -------------------------------------------------------------------------------

    def _start(self, live: Live) -> None:
        config = live.config
        print(f"== {config.title}", flush=True)
        live.stack = start_stack(config, live.processes, self.tmp / config.key, self.pinning)
        self.results.stacks.append(_record(live.stack, self.tmp))
        self.wrk.pinning = self._wrk_pinning(config)
        live.session = log_in(live.stack)

    def _against(self, live: Live, anchors: LiveAnchors | None, all_live: list[Live]) -> None:
        self.wrk.pinning = self._wrk_pinning(live.config)
        measured: dict[str, AnchorResult] = {}
        if live.wants("E") and anchors is not None:
            ours = self._ours(live)
            if live.config.signing_alg == "EdDSA" and anchors.baseline:
                rows = against_eddsa_anchor(ours, anchors.baseline, self.wrk)
            elif live.config.store == "sqlite" and anchors.express and anchors.baseline:
                rows = against_sqlite_anchors(ours, anchors.express, anchors.baseline, self.wrk)
            elif live.config.key in anchors.redis_express:
                others = (lv for lv in all_live if lv.config.key == "sqlite" and not lv.failed)
                sqlite = next((lv.ours for lv in others if lv.ours), None)
                express = anchors.redis_express[live.config.key]
                rows = against_redis_anchors(ours, express, sqlite, self.wrk)
            else:
                rows = []
            self.results.e += rows
            measured = {row.hot_path: row for row in rows}
        if live.wants("H"):
            runs = {key: row.ours for key, row in measured.items()}
            self.results.h += hot_paths(self._ours(live), self.wrk, self.tmp, runs)

    def _own(self, live: Live) -> None:
        st, session = _running(live)
        self.wrk.pinning = self._wrk_pinning(live.config)
        if live.wants("A"):
            print("   A: /healthz vs /bff/user", flush=True)
            self.results.a.append(session_read(st, session, self.wrk))
        if live.wants("C"):  # before B: the storm leaves argon2 work queued
            print("   C: API /healthz vs /me (warm, cold)", flush=True)
            self.results.c.append(api_read(st, session, self.wrk, self.tmp))
        if live.wants("D"):  # before B too
            print("   D: OAuth client credentials and refresh rotation vs /healthz", flush=True)
            self.results.d.append(token_grants(st, self.wrk, self.tmp))
        _check_running(st)

    def _storm(self, live: Live) -> None:
        if not live.wants("B"):
            return
        st, session = _running(live)
        self.wrk.pinning = self._wrk_pinning(live.config)
        print(f"   B: /bff/user idle vs during a 50-login storm ({live.config.title})", flush=True)
        if self.pinning.on:  # the storm's argon2 thread may use every CPU, as in production
            pin(pid_of(st.bff), frozenset())
        self.results.b.append(storm_latency(st, session, self.wrk))
        _check_running(st)

    def _workers(self, live: Live) -> None:
        if not live.wants("F") or self.knobs.workers <= 0:
            return
        self.results.f.append(production_workers(self._ours(live), self.wrk, self._one_worker()))
        _check_running(_running(live)[0])

    def _soak(self, live: Live) -> None:
        if not live.wants("G") or self.knobs.soak <= 0:
            return
        # tokens minted now: those of the phases before may not outlive the soak (15 minutes)
        live.ours = None
        self.results.g.append(rss_soak(self._ours(live), self.wrk))
        _check_running(_running(live)[0])

    # -- helpers ------------------------------------------------------------------------------

    def _one_worker(self) -> dict[str, float]:
        """This run's one-worker req/s of F's endpoints: E's runs, else A's and C's."""
        one: dict[str, float] = {}
        for a in self.results.a[:1]:
            one |= {BFF_HEALTHZ: a.healthz.rps, f"{BFF_USER}, SQLite": a.user.rps}
        for c in self.results.c[:1]:
            one |= {ME_WARM: c.warm.rps, ME_COLD: c.cold.rps}
        for row in reversed(self.results.e):  # the first of E's rows for an endpoint wins
            one[row.ours_label] = row.ours.rps
        return one

    @contextlib.contextmanager
    def _anchors(self, side_by_side: list[Live]) -> Iterator[LiveAnchors | None]:
        """The anchors started beside the stacks that want E, and stopped at the end."""
        home = self.knobs.anchors
        if not any(live.wants("E") for live in side_by_side):
            yield None
            return
        if home is None:
            self.results.anchors = (
                "none (no shared bench/ folder beside the checkout, or BENCH_ANCHORS=off)"
            )
            yield None
            return
        self.results.anchors = str(home)
        processes = ProcessGroup(log_dir=self.tmp / "anchors")
        anchors = None
        try:
            anchors = self._start_anchors(home, processes, side_by_side)
        except (HarnessError, LaunchError) as exc:  # then E is not measured, the rest goes on
            self.results.errors.append(f"anchors: {exc}")
            print(f"   harness error (anchors): {exc}", file=sys.stderr, flush=True)
        try:
            yield anchors
        finally:
            self._stop(processes, "anchors")

    def _start_anchors(
        self, home: Path, processes: ProcessGroup, side_by_side: list[Live]
    ) -> LiveAnchors:
        print(f"== anchors from {home}", flush=True)
        anchors = installed(home, self.knobs.anchors_state)
        live = LiveAnchors(processes=processes)
        live.express = start_express(anchors, processes, self.pinning)
        live.baseline = start_baseline(anchors, processes, self.pinning)
        for stack in (lv.stack for lv in side_by_side if lv.stack and lv.wants("E")):
            if stack.config.store == "redis":  # connect-redis on the stack's own redis-server
                url = stack.env["BFF_SESSION_STORE"].removesuffix("/0")
                express = start_express(anchors, processes, self.pinning, redis_url=url)
                live.redis_express[stack.config.key] = express
        self.results.anchor_facts = describe(anchors, tuple(processes.running()))
        return live

    def _ours(self, live: Live) -> Ours:
        if live.ours is None:
            st, session = _running(live)
            live.ours = prepare(st, session, cold_tokens=self.knobs.cold_tokens, scratch=self.tmp)
        return live.ours

    def _step(self, live: Live, step: Callable[[Live], None]) -> None:
        """One phase of a configuration; a harness failure is recorded and ends its phases."""
        if live.failed:
            return
        try:
            step(live)
        except (HarnessError, LaunchError) as exc:
            live.failed = True
            self.results.errors.append(f"{live.config.title}: {exc}")
            print(f"   harness error: {exc}", file=sys.stderr, flush=True)

    def _live(self, config: Config) -> Live:
        return Live(config=config, processes=ProcessGroup(log_dir=self.tmp / config.key))

    def _chosen(self, configs: tuple[Config, ...]) -> list[Config]:
        """The configurations with a benchmark to run, each with only those."""
        only, chosen = self.knobs.only, []
        for config in configs:
            picked = tuple(b for b in config.benchmarks if not only or b in only)
            if config.workers > 1:
                picked = picked if self.knobs.workers > 0 else ()
                config = dataclasses.replace(config, workers=self.knobs.workers)
            if picked:
                chosen.append(dataclasses.replace(config, benchmarks=picked))
        return chosen

    def _wrk_pinning(self, config: Config) -> Pinning:
        return self.pinning if config.pinned else Pinning()

    def _stop(self, processes: ProcessGroup, title: str) -> None:
        processes.close()
        self.forced += [f"{process.name} ({title})" for process in processes.forced]
        processes.forced.clear()


def _running(live: Live) -> tuple[Stack, BenchSession]:
    if live.stack is None or live.session is None:
        raise HarnessError(f"{live.config.title}: the stack did not start")
    return live.stack, live.session


def _check_running(st: Stack) -> None:
    for process in st.processes:  # a server that died mid-run measured nothing
        process.ensure_running()


def _record(st: Stack, tmp: Path) -> StackRecord:
    def shown(value: str) -> str:
        return value.replace(str(tmp), "$TMP")

    return StackRecord(
        title=st.config.title,
        settings={k: shown(v) for k, v in st.env.items() if k.startswith(("BFF_", "API_"))},
        commands={p.name: tuple(shown(arg) for arg in p.command.argv) for p in st.processes},
    )


def _check_tools() -> None:
    for tool in TOOLS:
        if shutil.which(tool) is None:
            raise HarnessError(f"{tool} is not installed (make bench runs scripts/system-deps.sh)")


def _fresh_results_dir(results: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    for old in results.glob("*.raw"):
        old.unlink()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
