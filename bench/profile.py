"""Where a server's CPU goes during a wrk run: py-spy samples the process while wrk drives it, and
each sample of the main thread (the event loop's) is charged to its innermost frame in a project
module (`bff/db.py`) or an installed package (`jwt`, `redis`, `starlette`, …). Standard-library
frames (json, logging, dataclasses, asyncio streams, …) are charged to the frame that called
them, so the audit line's JSON counts as the audit's; the loop's own frames (uvloop runs it in
C, below `Runner.run`) are the event loop's. C code (SQLite, the ES256 signature) runs inside
the Python frame that called it.

py-spy is optional: without it, or without the right to trace the server (ptrace), the profile
says why and the bench goes on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench import costs
from bench.cpu import process_seconds
from bench.errors import HarnessError
from bench.knobs import ROOT
from bench.measurement import WrkResult
from bench.wrk import GRACE, Load, Wrk, pid_of
from bff.testing.launcher import Process

RATE = 200  # samples a second
ATTACH_S = 0.5  # for py-spy to attach before wrk starts
TOP = 12  # places listed; the rest are summed
EVENT_LOOP = "the event loop"
_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>.*):\d+\)$")
_PACKAGES = tuple(dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib")))
_LOOP_MODULES = tuple(f"{os.sep}asyncio{os.sep}{name}.py" for name in ("runners", "base_events"))
# the root of a thread started by `threading` (a worker pool's): not the event loop
_THREAD_ROOT = f"{os.sep}threading.py"


@dataclass(frozen=True, kw_only=True)
class Place:
    where: str  # a project module, a package, or "asyncio"
    samples: int
    hottest: str  # its function charged the most samples
    hottest_samples: int = 0


@dataclass(frozen=True, kw_only=True)
class Profile:
    what: str  # the row profiled
    run: WrkResult | None = None
    samples: int = 0
    places: tuple[Place, ...] = ()  # most samples first
    costs: tuple[Place, ...] = ()  # the same samples by what the request paid for (bench.costs)
    beside: dict[str, float] = field(default_factory=dict)  # the stack's other processes: cores
    error: str = ""  # why there is no profile

    def share(self, place: Place) -> float:
        return place.samples / self.samples if self.samples else 0.0


def profile(
    wrk: Wrk,
    load: Load,
    server: Process,
    *,
    beside: Sequence[Process],
    what: str,
    scratch: Path,
) -> Profile:
    """`load` for `wrk.knobs.profile` seconds, with py-spy on `server` meanwhile; the CPU that the
    processes `beside` it used is kept too (on two cores, redis-server competes with it)."""
    spy = shutil.which("py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.defpath}")
    if spy is None:
        return Profile(what=what, error="py-spy is not installed (`.venv/bin/pip install py-spy`)")
    seconds = wrk.knobs.profile
    raw = scratch / f"{load.label}.pyspy"
    argv = [spy, "record", "--pid", str(pid_of(server)), "--duration", str(seconds)]
    argv += ["--rate", str(RATE), "--format", "raw", "--full-filenames", "--output", str(raw)]
    spying = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(ATTACH_S)
    if spying.poll() is not None:
        return Profile(what=what, error=_failure(spying.communicate()[1]))
    before = {p.name: process_seconds(pid_of(p)) for p in beside}
    run = wrk.run(replace(load, label=f"{load.label}-profile"), server=server, duration=seconds)
    cores = {p.name: (process_seconds(pid_of(p)) - before[p.name]) / run.duration_s for p in beside}
    try:
        _, err = spying.communicate(timeout=seconds + GRACE)
    except subprocess.TimeoutExpired:
        spying.kill()
        spying.wait()
        raise HarnessError("py-spy did not finish") from None
    if spying.returncode != 0 or not raw.exists():
        return Profile(what=what, run=run, error=_failure(err))
    collapsed = raw.read_text()
    charged = charge(collapsed)
    return Profile(
        what=what,
        run=run,
        samples=sum(charged.values()),
        places=places(charged),
        costs=by_cost(costs.costs(collapsed)),
        beside=cores,
    )


def charge(collapsed: str) -> Counter[tuple[str, str]]:
    """py-spy's raw output (`frame;frame;… count` a line, outermost first) as samples per
    (place, function), the main thread's only."""
    charged: Counter[tuple[str, str]] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if stack and count.isdigit() and _THREAD_ROOT + ":" not in frames[0]:
            charged[_charged(frames)] += int(count)
    return charged


def places(charged: Counter[tuple[str, str]], *, top: int = TOP) -> tuple[Place, ...]:
    by_place: Counter[str] = Counter()
    hottest: dict[str, tuple[int, str]] = {}
    for (where, function), samples in charged.items():
        by_place[where] += samples
        hottest[where] = max(hottest.get(where, (0, "")), (samples, function))
    ranked = [
        Place(where=w, samples=n, hottest=hottest[w][1], hottest_samples=hottest[w][0])
        for w, n in by_place.most_common()
    ]
    rest = sum(place.samples for place in ranked[top:])
    tail = [Place(where="everything else", samples=rest, hottest="")] if rest else []
    return (*ranked[:top], *tail)


def by_cost(charged: Counter[tuple[str, str]]) -> tuple[Place, ...]:
    """Every cost that has samples, in bench.costs' order."""
    ranked = {place.where: place for place in places(charged, top=len(charged))}
    return tuple(ranked[cost] for cost in costs.ORDER if cost in ranked)


def _charged(frames: list[str]) -> tuple[str, str]:
    """The innermost frame that is not the standard library's: its place and function."""
    for frame in reversed(frames):
        match = _FRAME.match(frame)
        if match is None:
            continue
        where = _place(match["path"])
        if where is not None:
            return where, match["function"]
    return "the interpreter", ""


def _place(path: str) -> str | None:
    for packages in _PACKAGES:
        if path.startswith(packages + os.sep):
            top = path[len(packages) + 1 :].split(os.sep, 1)[0]
            return top.removesuffix(".py")
    if path.startswith(str(ROOT) + os.sep):
        return path[len(str(ROOT)) + 1 :]
    if path.endswith(_LOOP_MODULES):
        return EVENT_LOOP
    return None  # the standard library, frozen or generated code: charged to its caller


def _failure(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    return f"py-spy failed: {lines[-1] if lines else 'no output'}"
