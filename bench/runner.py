"""A bench run: each configuration's stack started in turn, its benchmarks run, everything it
started stopped, the report written. Exit status 0 when every measurement was taken (a missed
target is a FAIL in the report, not an error); 1 on a harness failure (a process that does not
start, a login that fails, wrk failing, a precondition never met)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from bench.configs import CONFIGS, Config
from bench.errors import HarnessError
from bench.knobs import Knobs
from bench.machine import describe_machine
from bench.report import render
from bench.results import Results, StackRecord
from bench.scenarios import api_read, session_read, storm_latency, token_grants
from bench.session import log_in
from bench.stack import Stack, start_stack
from bench.wrk import Wrk
from bff.testing.launcher import LaunchError, ProcessGroup

TOOLS = ("wrk", "redis-server")


def main(env: Mapping[str, str]) -> int:
    knobs = Knobs.from_env(env)
    results = Results(knobs=knobs, started=dt.datetime.now(dt.UTC))
    t0 = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)  # so every `with` stops what it started
    _fresh_results_dir(knobs.results)
    with tempfile.TemporaryDirectory(prefix="bff-bench-") as tmp_name:
        tmp = Path(tmp_name)
        wrk = Wrk(knobs, scratch=tmp)
        forced: list[str] = []
        try:
            _check_tools()
            results.machine = describe_machine()
            for config in CONFIGS:
                chosen = tuple(b for b in config.benchmarks if not knobs.only or b in knobs.only)
                if chosen:
                    picked = dataclasses.replace(config, benchmarks=chosen)
                    forced += run_configuration(picked, wrk, tmp, results)
        except HarnessError as exc:
            results.errors.append(str(exc))
            print(f"harness error: {exc}", file=sys.stderr, flush=True)
        if forced:
            results.notes.append(
                f"SIGTERM did not stop {', '.join(forced)} within the stop timeout (SIGKILL "
                "followed): uvicorn's graceful shutdown waits for in-flight requests, here "
                "logins queued for the single argon2 worker."
            )
        results.commands = wrk.commands
        results.machine = results.machine or describe_machine()
        results.elapsed_s = time.monotonic() - t0
        knobs.report.write_text(render(results) + "\n")
    print(f"wrote {knobs.report} ({results.elapsed_s:.0f} s)")
    print(knobs.report.read_text().split("## Machine")[0])
    return 1 if results.errors else 0


def run_configuration(config: Config, wrk: Wrk, tmp: Path, results: Results) -> list[str]:
    """Run `config`'s benchmarks into `results`; the names of the processes that needed SIGKILL.
    A harness failure is recorded, and the next configuration still runs."""
    print(f"== {config.title}", flush=True)
    workdir = tmp / config.key
    processes = ProcessGroup(log_dir=workdir)
    try:
        with processes:
            st = start_stack(config, processes, workdir)
            results.stacks.append(_record(st, tmp))
            run_benchmarks(st, wrk, tmp, results)
    except (HarnessError, LaunchError) as exc:
        results.errors.append(f"{config.title}: {exc}")
        print(f"   harness error: {exc}", file=sys.stderr, flush=True)
    return [f"{process.name} ({config.title})" for process in processes.forced]


def run_benchmarks(st: Stack, wrk: Wrk, scratch: Path, results: Results) -> None:
    session = log_in(st)
    if "A" in st.config.benchmarks:
        print("   A: /healthz vs /bff/user", flush=True)
        results.a.append(session_read(st, session, wrk))
    if "C" in st.config.benchmarks:  # before B: the storm leaves argon2 work queued
        print("   C: API /healthz vs /me (warm, cold)", flush=True)
        results.c.append(api_read(st, session, wrk, scratch))
    if "D" in st.config.benchmarks:  # before B too
        print("   D: OAuth client credentials and refresh rotation vs /healthz", flush=True)
        results.d.append(token_grants(st, wrk, scratch))
    if "B" in st.config.benchmarks:
        print("   B: /bff/user idle vs during a 50-login storm", flush=True)
        results.b.append(storm_latency(st, session, wrk))
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
