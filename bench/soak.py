"""G: the RSS soak. The BFF (`/bff/user`, the benchmark session) and the API (`/me` with a fresh
token each, cycling more tokens than its claims cache holds, so the cache churns all along) are
loaded together by two wrk runs of half the connections each, for a warm-up and then the soak;
each process's resident memory is read from /proc every few seconds after the warm-up. Memory
that keeps growing under a steady load is a leak; the target is every sample within ±10 % of
the first."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from bench.cpu import descendants
from bench.errors import HarnessError
from bench.measurement import WrkResult
from bench.ours import Ours
from bench.results import RssSeries, SoakResult
from bench.wrk import Load, Wrk, pid_of
from bff.testing.launcher import Process


def rss_soak(ours: Ours, wrk: Wrk) -> SoakResult:
    knobs, st = wrk.knobs, ours.stack
    half = max(1, knobs.connections // 2)
    loads = (
        ("BFF `GET /bff/user`", replace(ours.bff_user(), connections=half), st.bff),
        (
            "API `GET /me`, a fresh token each",
            replace(ours.api_me_cold(), connections=half),
            st.api,
        ),
    )
    print(f"   G: {knobs.soak_warmup} s warm-up, then {knobs.soak} s of RSS samples", flush=True)
    runs, series = asyncio.run(_soak(wrk, loads, (st.bff, st.api)))
    return SoakResult(
        config=st.config,
        seconds=knobs.soak,
        warmup=knobs.soak_warmup,
        series=series,
        loads=tuple((what, run) for (what, _, _), run in zip(loads, runs, strict=True)),
    )


async def _soak(
    wrk: Wrk, loads: tuple[tuple[str, Load, Process], ...], processes: tuple[Process, ...]
) -> tuple[list[WrkResult], tuple[RssSeries, ...]]:
    knobs = wrk.knobs
    seconds = knobs.soak_warmup + knobs.soak
    running = [wrk.run_async(load, server=server, duration=seconds) for _, load, server in loads]
    sampler = asyncio.create_task(
        _sample(processes, knobs.soak_warmup, knobs.soak, knobs.soak_interval)
    )
    try:
        runs = await asyncio.gather(*running)
    except BaseException:
        sampler.cancel()
        raise
    return list(runs), await sampler  # its last sample is taken before wrk ends


async def _sample(
    processes: tuple[Process, ...], warmup: int, seconds: int, interval: int
) -> tuple[RssSeries, ...]:
    await asyncio.sleep(warmup)
    warm = {process.name: rss_kib(pid_of(process)) for process in processes}
    samples: dict[str, list[tuple[float, int]]] = {process.name: [] for process in processes}
    started = time.monotonic()
    while True:
        at = time.monotonic() - started
        for process in processes:
            samples[process.name].append((at, rss_kib(pid_of(process))))
        if at + interval > seconds:
            break
        await asyncio.sleep(max(0.0, started + at + interval - time.monotonic()))
    return tuple(
        RssSeries(name=name, samples=tuple(points), warm_kib=warm[name])
        for name, points in samples.items()
    )


def rss_kib(pid: int) -> int:
    """The app's resident set (VmRSS) in KiB: its process's, plus its worker processes' if it
    has any (a supervisor's workers are where the memory is)."""
    total = _vm_rss(pid)
    if total is None:
        raise HarnessError(f"no RSS for process {pid}: it has ended")
    return total + sum(_vm_rss(child) or 0 for child in descendants(pid))


def _vm_rss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return 0  # a zombie has no VmRSS line
