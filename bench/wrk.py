"""The wrk driver: one measured run (blocking, or awaited beside a login storm), a warm-up, and
two endpoints compared in alternating segments. Every run keeps its raw output in the results
dir and its (redacted) command for the report; its Lua scripts are the files in bench/lua/."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.cpu import CpuMeter
from bench.errors import HarnessError
from bench.knobs import ROOT, Knobs
from bench.measurement import WrkResult, merge, read_hist
from bench.pinning import UNPINNED, Pinning
from bff.sessions.manager import COOKIE_NAME
from bff.testing.launcher import Process

THREADS = 1  # 2 cores: wrk keeps one thread, the server gets the rest
TIMEOUT = "10s"  # wrk's per-request timeout
LUA = Path("bench/lua")  # relative to ROOT, where wrk runs: the report shows short paths
GRACE = 30  # seconds past its duration before a wrk run counts as hung
_RESULT = re.compile(r"^BENCHJSON (\{.*\})$", re.MULTILINE)
_STATUSES = re.compile(r"^BENCHSTATUS (\{.*\})$", re.MULTILINE)  # from statuses.lua


@dataclass(frozen=True, kw_only=True)
class Load:
    """What one wrk run sends: a URL, a script of bench/lua/ with its arguments, headers."""

    label: str
    url: str
    script: str = "plain"
    args: Sequence[str] = ()  # after `--`, to the script's init()
    headers: dict[str, str] = field(default_factory=dict)
    connections: int = 0  # 0: the knob's


class Wrk:
    def __init__(self, knobs: Knobs, *, scratch: Path, pinning: Pinning = UNPINNED) -> None:
        self.knobs = knobs
        self.pinning = pinning  # wrk on its load CPUs; the runner sets it per configuration
        self.commands: list[str] = []  # every run's command, redacted, in order
        self._runs = 0
        self._scratch = scratch  # for the quantile functions done.lua writes

    def run(self, load: Load, *, server: Process, duration: int | None = None) -> WrkResult:
        seconds = duration or self.knobs.duration
        argv = self.argv(load, seconds)
        hist = self._scratch / f"{self._runs}.hist"
        with CpuMeter(pid_of(server)) as cpu:
            try:
                done = subprocess.run(
                    argv,
                    cwd=ROOT,
                    env={**os.environ, "BENCH_HIST": str(hist)},
                    capture_output=True,
                    text=True,
                    timeout=seconds + GRACE,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise HarnessError(f"wrk ({load.label}) did not finish") from None
        return self._result(load, argv, done.returncode, done.stdout, done.stderr, cpu, hist)

    async def run_async(
        self, load: Load, *, server: Process, duration: int | None = None
    ) -> WrkResult:
        """The same run, awaited: what runs beside it (a login storm, another wrk) keeps the
        event loop."""
        seconds = duration or self.knobs.duration
        argv = self.argv(load, seconds)
        hist = self._scratch / f"{self._runs}-{load.label}.hist"  # runs side by side: unique
        with CpuMeter(pid_of(server)) as cpu:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=ROOT,
                env={**os.environ, "BENCH_HIST": str(hist)},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                out, err = await asyncio.wait_for(proc.communicate(), timeout=seconds + GRACE)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise HarnessError(f"wrk ({load.label}) did not finish") from None
        rc = proc.returncode if proc.returncode is not None else -1
        return self._result(load, argv, rc, out.decode(), err.decode(), cpu, hist)

    def warm(self, load: Load) -> None:
        """An unmeasured run of the same command: connections, caches and the JIT settle."""
        if self.knobs.warmup > 0:
            subprocess.run(
                self.argv(load, self.knobs.warmup),
                cwd=ROOT,
                capture_output=True,
                timeout=self.knobs.warmup + GRACE,
                check=False,
            )

    def alternate(
        self, a: Load, b: Load, *, server: Process, other: Process | None = None
    ) -> tuple[WrkResult, WrkResult]:
        """Two endpoints compared in short alternating segments (A B B A A B …, `duration`
        seconds per endpoint in all): the machine's speed drifts (a shared VM), and interleaving
        puts the drift on both sides of the ratio instead of one. `b` may be served by `other`
        (an anchor beside our server): each side's CPU is its own server's."""
        servers = {a.label: server, b.label: other or server}
        order: list[Load] = []
        for n in range(self.knobs.segments):
            order += [a, b] if n % 2 == 0 else [b, a]
        for load in (a, b):
            self.warm(load)
        runs: dict[str, list[WrkResult]] = {a.label: [], b.label: []}
        for n, load in enumerate(order, start=1):
            segment = replace(load, label=f"{load.label}.{n}")
            run = self.run(segment, server=servers[load.label], duration=self.knobs.segment)
            runs[load.label].append(run)
        return merge(a.label, runs[a.label]), merge(b.label, runs[b.label])

    def argv(self, load: Load, duration: int) -> list[str]:
        argv = ["wrk", f"-t{THREADS}", f"-c{load.connections or self.knobs.connections}"]
        argv.append(f"-d{duration}s")
        argv += ["--latency", "--timeout", TIMEOUT, "-s", str(LUA / f"{load.script}.lua")]
        for name, value in load.headers.items():
            argv += ["-H", f"{name}: {value}"]
        argv.append(load.url)
        return self.pinning.wrap([*argv, "--", *load.args] if load.args else argv)

    def _result(
        self,
        load: Load,
        argv: list[str],
        rc: int,
        out: str,
        err: str,
        cpu: CpuMeter,
        hist: Path,
    ) -> WrkResult:
        self._runs += 1
        command = redact(shlex.join(argv))
        self.commands.append(command)
        raw = self._keep_raw(load.label, command, out, err)
        match = _RESULT.search(out)
        if rc != 0 or match is None:
            raise HarnessError(
                f"wrk ({load.label}) failed (exit {rc}):\n{out[-2000:]}\n{err[-2000:]}"
            )
        data = json.loads(match.group(1))
        return WrkResult(
            label=load.label,
            command=command,
            requests=int(data["requests"]),
            duration_s=data["duration_us"] / 1e6,
            non2xx=int(data["status"]),
            socket_errors=sum(int(data[k]) for k in ("connect", "read", "write", "timeout")),
            p50_ms=data["p50"] / 1000,
            p75_ms=data["p75"] / 1000,
            p90_ms=data["p90"] / 1000,
            p99_ms=data["p99"] / 1000,
            max_ms=data["max"] / 1000,
            raw=raw,
            server_cpu=cpu.server_cpu,
            other_cpu=cpu.other_cpu,
            hist=read_hist(hist, int(data["requests"])),
            statuses=_statuses(out),
        )

    def _keep_raw(self, label: str, command: str, out: str, err: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)
        raw = self.knobs.results / f"{self._runs:02d}-{safe}.raw"
        # owner-only (and git-ignored): should redaction ever miss a session or token, it stays
        fd = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"$ {command}\n{out}\n{err}")
        return raw


def redact(command: str) -> str:
    command = re.sub(rf"({re.escape(COOKIE_NAME)}=)[A-Za-z0-9_-]+", r"\1<session>", command)
    command = re.sub(r"(sessionId=)[A-Za-z0-9_%.-]+", r"\1<session>", command)  # Express's
    command = re.sub(r"(Basic )[A-Za-z0-9+/=]+", r"\1<client credentials>", command)
    return re.sub(r"(Bearer )[A-Za-z0-9_.-]+", r"\1<token>", command)


def _statuses(out: str) -> dict[int, int]:
    match = _STATUSES.search(out)
    return {int(k): int(n) for k, n in json.loads(match.group(1)).items()} if match else {}


def pid_of(server: Process) -> int:
    if server.pid is None:
        raise HarnessError(f"{server.name} was never started")
    return server.pid
