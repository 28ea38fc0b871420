"""CPU pinning, as the anchors' run.sh does it: each server (ours and the anchors) on one CPU,
wrk and redis-server on another, so neither side of a ratio shares its core with the load
generator. A process is pinned with every thread it has (threads made later inherit the
affinity of the thread that makes them) and every child process."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass

from bench.cpu import descendants

SERVER_CPU = 1
LOAD_CPU = 0


@dataclass(frozen=True, kw_only=True)
class Pinning:
    server: frozenset[int] = frozenset()  # empty: not pinned
    load: frozenset[int] = frozenset()

    @property
    def on(self) -> bool:
        return bool(self.server)

    def wrap(self, argv: list[str]) -> list[str]:
        """A load generator's command, run on the load CPUs."""
        if not self.load:
            return argv
        return ["taskset", "-c", ",".join(map(str, sorted(self.load))), *argv]

    def describe(self) -> str:
        if not self.on:
            return "none"
        return (
            f"servers on CPU {_cpus(self.server)}, wrk and redis-server on CPU {_cpus(self.load)}"
        )


UNPINNED = Pinning()


def pinning(wanted: bool) -> tuple[Pinning, str]:
    """The run's pinning, and why there is none when `wanted` and it cannot be had."""
    if not wanted:
        return UNPINNED, "off (BENCH_PIN=0)"
    if (os.cpu_count() or 1) < 2:
        return UNPINNED, "off: one CPU"
    if shutil.which("taskset") is None:
        return UNPINNED, "off: taskset (util-linux) is not installed"
    pin = Pinning(server=frozenset({SERVER_CPU}), load=frozenset({LOAD_CPU}))
    return pin, pin.describe()


def pin(pid: int, cpus: frozenset[int]) -> None:
    """`pid`, all its threads and its child processes on `cpus` (all CPUs when empty)."""
    target = cpus or frozenset(range(os.cpu_count() or 1))
    for process in (pid, *descendants(pid)):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            for task in os.listdir(f"/proc/{process}/task"):
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(task), target)


def _cpus(cpus: frozenset[int]) -> str:
    return ",".join(map(str, sorted(cpus)))
