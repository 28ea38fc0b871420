"""CPU used during a run, from /proc: by the measured server, and by everything the bench did not
start (other work on a shared machine makes a run noisy; the report shows it). What the bench
started is this process and its descendants, the servers and wrk."""

from __future__ import annotations

import os
import resource
import time
from typing import Self

_TICK = os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU over a block: the server's (with its worker processes, when it has any) and the
    other processes'."""

    def __init__(self, server_pid: int) -> None:
        self._server = server_pid
        self.server_cpu = 0.0  # cores, over the measured block
        self.other_cpu = 0.0

    def __enter__(self) -> Self:
        self._t = time.monotonic()
        self._busy = system_busy()
        self._ours = {pid: process_seconds(pid) for pid in descendants(os.getpid())}
        self._tree = (self._server, *descendants(self._server))
        self._self = _rusage_seconds(resource.RUSAGE_SELF)
        self._children = _rusage_seconds(resource.RUSAGE_CHILDREN)  # wrk, once reaped
        return self

    def __exit__(self, *exc: object) -> None:
        elapsed = max(time.monotonic() - self._t, 1e-6)
        busy = system_busy() - self._busy
        ours = sum(process_seconds(pid) - before for pid, before in self._ours.items())
        ours += _rusage_seconds(resource.RUSAGE_SELF) - self._self
        ours += _rusage_seconds(resource.RUSAGE_CHILDREN) - self._children
        server = sum(process_seconds(pid) - self._ours.get(pid, 0.0) for pid in self._tree)
        self.server_cpu = server / elapsed
        self.other_cpu = max(0.0, busy - ours) / elapsed


def system_busy() -> float:
    """CPU seconds the whole machine has been busy since boot."""
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal: everything but idle and iowait
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICK


def process_seconds(pid: int) -> float:
    """CPU seconds `pid` has used, every thread (0 once it is gone)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / _TICK if fields else 0.0  # utime + stime


def descendants(root: int) -> list[int]:
    """The live processes below `root` (children, their children, …)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))):
            children.setdefault(int(fields[1]), []).append(int(entry))  # ppid
    found, todo = [], [root]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name (state first), or [] once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _rusage_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime
