"""Load benchmark driver for `make bench`: real uvicorn processes, wrk, a markdown report.

    .venv/bin/python bench/run.py   # writes bench/REPORT.md, raw wrk output to bench/results/

Every configuration gets its own temporary var dir, its own free loopback ports and (for the Redis
configuration) its own redis-server; the BFF and the API run as ONE uvicorn worker each, the BFF
started first and sharing its var dir with the API (revocation feed secret, SQLite files).

Benchmarks (targets in TARGETS):
  A. BFF GET /healthz vs GET /bff/user (session cookie + X-CSRF: 1), SQLite and Redis stores.
  B. p99 of GET /bff/user idle, then while bursts of 50 concurrent POST /login run (default
     argon2id parameters; the OWASP floor as an extra, informational row).
  C. API GET /healthz vs GET /me with one token (verified-claims cache), and the cold path: a fresh
     token per request, minted here with the BFF's key ring from the tmp var dir.

Exit status: 0 when every measurement was taken (a missed target is a FAIL in the report, not an
error); 1 on a harness failure (a process that does not start, a login that fails, wrk failing, a
precondition never met). Every process started here is stopped in a `finally`.

Knobs (environment): BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 32),
BENCH_WARMUP (s, default 1), BENCH_SEGMENT (s per alternating A/B segment, default 2),
BENCH_COLD_TOKENS (default 20000), BENCH_RESULTS (raw output dir).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import re
import resource
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
REPORT = BENCH / "REPORT.md"
PY = sys.executable

DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "1"))
SEGMENT = int(os.environ.get("BENCH_SEGMENT", "2"))  # seconds per segment of an A/B comparison
COLD_TOKENS = int(os.environ.get("BENCH_COLD_TOKENS", "20000"))
RESULTS = Path(os.environ.get("BENCH_RESULTS", str(BENCH / "results")))
WRK_THREADS = 1  # 2 cores: wrk keeps one thread, the server gets the rest

START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
CLI_TIMEOUT = 120.0
READY_TIMEOUT = 30.0  # API /me with a valid token (revocation feed connected)
LOGIN_TIMEOUT = 90.0  # one login inside a 50-login burst at t=3, m=64 MiB queues for ~35 s
STORM_SIZE = 50
STORM_MAX_BURSTS = 6
STORM_LEAD = 1.0  # the first burst is queued at the BFF before wrk starts
MAX_NON2XX_SHARE = 0.01  # more than this and a run measures error pages, not the endpoint
NOISY_CPU = 0.25  # cores used by other processes during a run before the report flags it
API_CLAIMS_CACHE = 10_000  # api/authentication.py CACHE_SIZE (first in, first out)

DEFAULT_ARGON2 = {"BFF_ARGON2_TIME_COST": "3", "BFF_ARGON2_MEMORY_KIB": "65536"}
FLOOR_ARGON2 = {"BFF_ARGON2_TIME_COST": "2", "BFF_ARGON2_MEMORY_KIB": "19456"}

TARGETS = {
    "A": 0.5,  # /bff/user req/s >= 0.5 x BFF /healthz req/s
    "B": 3.0,  # p99 under a login storm <= 3 x idle p99
    "C": 0.8,  # API /me req/s >= 0.8 x API /healthz req/s
}

BENCH_EMAIL = "bench@example.com"
LOGIN_COOKIE = "__Host-login-csrf"
SESSION_COOKIE = "__Host-sid"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

_LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50":%.1f,"p75":%.1f,"p90":%.1f,"p99":%.1f,' ..
    '"max":%.1f,"mean":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
  -- the quantile function (0.1 % steps, 0.01 % above p99), so split runs can be merged
  local path = os.getenv("BENCH_HIST")
  if path and summary.requests > 0 then
    local f = assert(io.open(path, "w"))
    for k = 1, 990 do
      f:write(string.format("%.2f %.1f\n", k / 10, latency:percentile(k / 10)))
    end
    for k = 9901, 10000 do
      f:write(string.format("%.2f %.1f\n", k / 100, latency:percentile(k / 100)))
    end
    f:close()
  end
end
"""

_LUA_TOKENS = r"""
local tokens = {}
local count, next_index = 0, 0
init = function(args)
  for line in io.lines(%(path)s) do
    if #line > 0 then count = count + 1; tokens[count] = line end
  end
  if count == 0 then error("no tokens in the token file") end
end
request = function()
  next_index = next_index %% count + 1
  return wrk.format("GET", "/me", {["Authorization"] = "Bearer " .. tokens[next_index]})
end
"""


class HarnessError(Exception):
    """The benchmark could not be measured (not: a target was missed)."""


# ----------------------------------------------------------------------------- processes


@dataclasses.dataclass
class Proc:
    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, limit: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-limit:]
        except OSError:
            return ""


class Processes:
    """Everything this driver started, stopped in reverse order, by pid, never by name."""

    def __init__(self) -> None:
        self._procs: list[Proc] = []
        self.slow_stops: list[str] = []  # processes SIGTERM did not end within STOP_TIMEOUT

    def start(self, name: str, argv: list[str], env: dict[str, str], logdir: Path) -> Proc:
        log = logdir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        proc = Proc(name=name, argv=argv, popen=popen, log=log)
        self._procs.append(proc)
        return proc

    def stop(self, proc: Proc, context: str = "") -> None:
        if proc.popen.poll() is None:
            proc.popen.terminate()
            try:
                proc.popen.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                # uvicorn waits for in-flight requests; a queued argon2 storm is not worth it
                proc.popen.kill()
                proc.popen.wait(timeout=STOP_TIMEOUT)
                self.slow_stops.append(f"{proc.name} ({context})" if context else proc.name)
        with contextlib.suppress(ValueError):
            self._procs.remove(proc)

    def all(self) -> list[Proc]:
        return [p for p in self._procs if p.popen.poll() is None]

    def stop_all(self) -> None:
        for proc in reversed(list(self._procs)):
            with contextlib.suppress(Exception):
                self.stop(proc)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def uvicorn_argv(module: str, port: int) -> list[str]:
    return [
        PY,
        "-m",
        "uvicorn",
        "--factory",
        f"{module}.asgi:app",
        "--no-proxy-headers",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
        "--no-server-header",
    ]


def wait_healthy(proc: Proc, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise HarnessError(
                    f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return
            time.sleep(0.1)
    raise HarnessError(f"{proc.name} not healthy after {START_TIMEOUT:.0f} s:\n{proc.tail()}")


def start_redis(procs: Processes, workdir: Path) -> tuple[Proc, int]:
    port = free_port()
    argv = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
        "--daemonize",
        "no",
    ]
    proc = procs.start("redis", argv, dict(os.environ), workdir)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise HarnessError(f"redis-server exited:\n{proc.tail()}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock,
        ):
            sock.sendall(b"PING\r\n")
            if sock.recv(64).startswith(b"+PONG"):
                return proc, port
        time.sleep(0.1)
    raise HarnessError(f"redis-server not answering after {START_TIMEOUT:.0f} s:\n{proc.tail()}")


# ----------------------------------------------------------------------------- the stack


@dataclasses.dataclass
class Config:
    key: str
    title: str
    store: str  # "sqlite" | "redis"
    argon2: dict[str, str]
    run_a: bool
    run_b: bool
    run_c: bool
    informational: bool = False  # its B row is context, not the target's configuration


@dataclasses.dataclass
class Stack:
    config: Config
    env: dict[str, str]
    var_dir: Path
    bff_url: str
    api_url: str
    password: str
    bff: Proc
    api: Proc
    cookie: str = ""  # the __Host-sid value of the benchmark session
    sub: str = ""
    sid: str = ""


def stack_env(
    config: Config, var_dir: Path, bff_port: int, api_port: int, redis_port: int | None
) -> dict[str, str]:
    # a developer's own BFF_*/API_* settings must not leak into the run
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BFF_", "API_"))}
    env.update(
        BFF_VAR_DIR=str(var_dir),
        API_VAR_DIR=str(var_dir),  # shared: the API reads the revocation feed secret from it
        BFF_PUBLIC_URL=f"http://127.0.0.1:{bff_port}",
        API_PUBLIC_URL=f"http://127.0.0.1:{api_port}",
        **config.argon2,
    )
    if redis_port is not None:
        env["BFF_SESSION_STORE"] = f"redis://127.0.0.1:{redis_port}/0"
    return env


def run_cli(env: dict[str, str], *args: str) -> str:
    try:
        result = subprocess.run(
            [PY, "-m", "bff", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise HarnessError(f"python -m bff {args[0]} timed out") from None
    if result.returncode != 0:
        raise HarnessError(
            f"python -m bff {args[0]} failed ({result.returncode}):\n{result.stderr}"
        )
    return result.stdout


@contextlib.contextmanager
def stack(config: Config, procs: Processes, tmp: Path) -> Iterator[Stack]:
    workdir = tmp / config.key
    var_dir = workdir / "var"
    workdir.mkdir(parents=True)
    redis_proc, redis_port = (None, None)
    if config.store == "redis":
        redis_proc, redis_port = start_redis(procs, workdir)
    bff_port, api_port = free_port(), free_port()
    env = stack_env(config, var_dir, bff_port, api_port, redis_port)
    password = secrets.token_urlsafe(18)
    # the user's hash carries the BFF's parameters, so no login turns into a rehash
    run_cli(env, "init")
    run_cli(env, "users", "add", BENCH_EMAIL, "--password", password)
    started: list[Proc] = []
    try:
        bff = procs.start("bff", uvicorn_argv("bff", bff_port), env, workdir)
        started.append(bff)
        wait_healthy(bff, f"{env['BFF_PUBLIC_URL']}/healthz")
        api = procs.start("api", uvicorn_argv("api", api_port), env, workdir)  # after the BFF
        started.append(api)
        wait_healthy(api, f"{env['API_PUBLIC_URL']}/healthz")
        yield Stack(
            config=config,
            env=env,
            var_dir=var_dir,
            bff_url=env["BFF_PUBLIC_URL"],
            api_url=env["API_PUBLIC_URL"],
            password=password,
            bff=bff,
            api=api,
        )
    finally:
        for proc in reversed(started):
            procs.stop(proc, config.title)
        if redis_proc is not None:
            procs.stop(redis_proc, config.title)


# ----------------------------------------------------------------------------- HTTP helpers


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie parsed by hand: the cookies are `Secure` and httpx's jar keeps them from http."""
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, value = header.split(";", 1)[0].partition("=")
        cookies[name.strip()] = value.strip()
    return cookies


def login_form(client: httpx.Client) -> tuple[str, str]:
    """A fresh pre-session CSRF pair: the __Host-login-csrf nonce and the form's token."""
    response = client.get("/login")
    if response.status_code != 200:
        raise HarnessError(f"GET /login answered {response.status_code}")
    nonce = set_cookies(response).get(LOGIN_COOKIE)
    match = _CSRF_FIELD.search(response.text)
    if not nonce or not match:
        raise HarnessError("GET /login gave no login CSRF cookie or form token")
    return nonce, match.group(1).replace("&#34;", '"').replace("&amp;", "&")


def login_request(bff_url: str, form: tuple[str, str], password: str) -> dict[str, Any]:
    nonce, token = form
    return {
        "url": "/login",
        "data": {"csrf_token": token, "email": BENCH_EMAIL, "password": password, "next": "/"},
        "headers": {"Cookie": f"{LOGIN_COOKIE}={nonce}", "Origin": bff_url},
    }


def log_in(st: Stack) -> None:
    with httpx.Client(base_url=st.bff_url, timeout=LOGIN_TIMEOUT, follow_redirects=False) as c:
        response = c.post(**login_request(st.bff_url, login_form(c), st.password))
        cookie = set_cookies(response).get(SESSION_COOKIE)
        if response.status_code != 303 or not cookie:
            raise HarnessError(f"POST /login answered {response.status_code}, no session cookie")
        st.cookie = cookie
        user = c.get("/bff/user", headers=session_headers(st))
        if user.status_code != 200:
            raise HarnessError(f"GET /bff/user with the new session answered {user.status_code}")
        body = user.json()
        st.sub, st.sid = body["sub"], body["sid"]


def session_headers(st: Stack) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={st.cookie}", "X-CSRF": "1"}


def bff_token(st: Stack) -> str:
    headers = {**session_headers(st), "Origin": st.bff_url}
    with httpx.Client(base_url=st.bff_url, timeout=10.0) as client:
        response = client.post("/bff/token", headers=headers)
    if response.status_code != 200:
        raise HarnessError(f"POST /bff/token answered {response.status_code}: {response.text}")
    return str(response.json()["access_token"])


def wait_api_accepts(st: Stack, token: str) -> dict[str, Any]:
    """Bounded: the API may refuse tokens (503) until it follows the BFF's revocation feed."""
    seen: dict[int, int] = {}
    started = time.monotonic()
    deadline = started + READY_TIMEOUT
    last = ""
    with httpx.Client(base_url=st.api_url, timeout=5.0) as client:
        while time.monotonic() < deadline:
            try:
                response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
            except httpx.HTTPError as exc:
                seen[0] = seen.get(0, 0) + 1
                last = type(exc).__name__
            else:
                seen[response.status_code] = seen.get(response.status_code, 0) + 1
                if response.status_code == 200:
                    return {"after_s": time.monotonic() - started, "seen": seen}
                last = f"{response.status_code} {response.text[:200]}"
            time.sleep(0.25)
    raise HarnessError(
        f"API GET /me never answered 200 within {READY_TIMEOUT:.0f} s (statuses {seen}; "
        f"last: {last})\n{st.api.tail()}"
    )


def expect_ok(url: str, headers: dict[str, str]) -> None:
    with httpx.Client(timeout=10.0) as client:
        response = client.get(url, headers=headers)
    if response.status_code != 200:
        raise HarnessError(f"precondition: GET {url} answered {response.status_code}")


# ----------------------------------------------------------------------------- wrk


@dataclasses.dataclass
class WrkResult:
    label: str
    command: str
    requests: int
    duration_s: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    raw: Path
    server_cpu: float = 0.0  # cores used by the measured server process during the run
    other_cpu: float = 0.0  # cores used by processes this driver did not start (noise)
    # (latency us, requests) points from wrk's quantile function: what merging segments needs
    hist: list[tuple[float, float]] = dataclasses.field(default_factory=list, repr=False)
    segments: int = 1

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def valid(self) -> bool:
        return self.requests > 0 and self.non2xx + self.socket_errors <= (
            MAX_NON2XX_SHARE * self.requests
        )


def merge(label: str, parts: list[WrkResult]) -> WrkResult:
    """Segments of one measurement as one result: sums, and percentiles of the segments'
    quantile functions merged, each weighted by its request count (to a 0.1 % step, 0.01 %
    above p99)."""
    hist = sorted(point for part in parts for point in part.hist)
    duration = sum(p.duration_s for p in parts)
    return WrkResult(
        label=label,
        command=parts[0].command,
        requests=sum(p.requests for p in parts),
        duration_s=duration,
        non2xx=sum(p.non2xx for p in parts),
        socket_errors=sum(p.socket_errors for p in parts),
        p50_ms=percentile(hist, 50) / 1000,
        p75_ms=percentile(hist, 75) / 1000,
        p90_ms=percentile(hist, 90) / 1000,
        p99_ms=percentile(hist, 99) / 1000,
        max_ms=max(p.max_ms for p in parts),
        raw=parts[0].raw,
        server_cpu=sum(p.server_cpu * p.duration_s for p in parts) / duration,
        other_cpu=sum(p.other_cpu * p.duration_s for p in parts) / duration,
        hist=hist,
        segments=len(parts),
    )


def percentile(hist: list[tuple[float, float]], p: float) -> float:
    """`hist` sorted by latency."""
    total = sum(weight for _, weight in hist)
    if not total:
        return 0.0
    seen = 0.0
    for value, weight in hist:
        seen += weight
        if seen >= p / 100 * total - 1e-9:
            return value
    return hist[-1][0]


class CpuMeter:
    """CPU used during a wrk run: by the measured server, and by everything this driver did not
    start (other work on a shared machine makes a run noisy; the report shows it)."""

    def __init__(self, procs: Processes, server: Proc) -> None:
        self._procs = procs
        self._server = server

    def __enter__(self) -> Self:
        self._t = time.monotonic()
        self._busy = _system_busy()
        self._ours = {p.popen.pid: _proc_seconds(p.popen.pid) for p in self._procs.all()}
        self._self = _rusage_seconds(resource.RUSAGE_SELF)
        self._children = _rusage_seconds(resource.RUSAGE_CHILDREN)  # wrk, once reaped
        return self

    def __exit__(self, *exc: object) -> None:
        elapsed = max(time.monotonic() - self._t, 1e-6)
        busy = _system_busy() - self._busy
        ours = sum(_proc_seconds(pid) - before for pid, before in self._ours.items())
        ours += _rusage_seconds(resource.RUSAGE_SELF) - self._self
        ours += _rusage_seconds(resource.RUSAGE_CHILDREN) - self._children
        server = self._server.popen.pid
        self.server_cpu = (_proc_seconds(server) - self._ours.get(server, 0.0)) / elapsed
        self.other_cpu = max(0.0, busy - ours) / elapsed


_TICK = os.sysconf("SC_CLK_TCK")


def _system_busy() -> float:
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal: everything but idle and iowait
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICK


def _proc_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime, every thread


def _rusage_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class Wrk:
    def __init__(self, results: Path, scripts: Path, procs: Processes) -> None:
        self.results = results
        self.scripts = scripts
        self.procs = procs
        self.commands: list[str] = []
        self._n = 0

    def script(self, name: str, body: str = "") -> Path:
        path = self.scripts / f"{name}.lua"
        path.write_text(f"-- generated by bench/run.py\n{body}\n{_LUA_DONE}")
        return path

    def argv(self, url: str, *, script: Path, headers: dict[str, str], duration: int) -> list[str]:
        argv = [
            "wrk",
            f"-t{WRK_THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{duration}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(script),
        ]
        for name, value in headers.items():
            argv += ["-H", f"{name}: {value}"]
        return [*argv, url]

    def warm(self, url: str, *, script: Path, headers: dict[str, str]) -> None:
        if WARMUP > 0:
            subprocess.run(
                self.argv(url, script=script, headers=headers, duration=WARMUP),
                capture_output=True,
                timeout=WARMUP + 30,
                check=False,
            )

    def run(
        self,
        label: str,
        url: str,
        *,
        script: Path,
        headers: dict[str, str],
        server: Proc,
        duration: int = DURATION,
    ) -> WrkResult:
        argv = self.argv(url, script=script, headers=headers, duration=duration)
        hist = self.scripts / f"{label}.hist"
        env = {**os.environ, "BENCH_HIST": str(hist)}
        with CpuMeter(self.procs, server) as cpu:
            try:
                result = subprocess.run(
                    argv,
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=duration + 30,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise HarnessError(f"wrk ({label}) did not finish") from None
        return self.parse(label, argv, result.returncode, result.stdout, result.stderr, cpu, hist)

    def abba(
        self,
        server: Proc,
        a: tuple[str, str, Path, dict[str, str]],
        b: tuple[str, str, Path, dict[str, str]],
    ) -> tuple[WrkResult, WrkResult]:
        """Two endpoints compared in short alternating segments (A B B A A B …, DURATION seconds
        per endpoint in all): the machine's speed drifts (a shared VM), and interleaving puts
        the drift on both sides of the ratio instead of one."""
        pairs = max(1, DURATION // SEGMENT)
        order: list[tuple[str, str, Path, dict[str, str]]] = []
        for n in range(pairs):
            order += [a, b] if n % 2 == 0 else [b, a]
        runs: dict[str, list[WrkResult]] = {a[0]: [], b[0]: []}
        for which in (a, b):
            self.warm(which[1], script=which[2], headers=which[3])
        for n, (label, url, script, headers) in enumerate(order, start=1):
            runs[label].append(
                self.run(
                    f"{label}.{n}",
                    url,
                    script=script,
                    headers=headers,
                    server=server,
                    duration=SEGMENT,
                )
            )
        return merge(a[0], runs[a[0]]), merge(b[0], runs[b[0]])

    async def run_async(
        self, label: str, url: str, *, script: Path, headers: dict[str, str], server: Proc
    ) -> WrkResult:
        argv = self.argv(url, script=script, headers=headers, duration=DURATION)
        with CpuMeter(self.procs, server) as cpu:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            try:
                out, err = await asyncio.wait_for(proc.communicate(), timeout=DURATION + 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                raise HarnessError(f"wrk ({label}) did not finish") from None
        assert proc.returncode is not None
        return self.parse(label, argv, proc.returncode, out.decode(), err.decode(), cpu)

    def parse(
        self,
        label: str,
        argv: list[str],
        rc: int,
        out: str,
        err: str,
        cpu: CpuMeter,
        hist_path: Path | None = None,
    ) -> WrkResult:
        self._n += 1
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)
        raw = self.results / f"{self._n:02d}-{safe}.raw"
        # the raw files hold a session cookie / a token: owner-only, and git-ignored
        fd = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"$ {redact(shlex.join(argv))}\n{out}\n{err}")
        self.commands.append(redact(shlex.join(argv)))
        match = re.search(r"^BENCHJSON (\{.*\})$", out, re.MULTILINE)
        if rc != 0 or match is None:
            raise HarnessError(f"wrk ({label}) failed (exit {rc}):\n{out[-2000:]}\n{err[-2000:]}")
        data = json.loads(match.group(1))
        return WrkResult(
            label=label,
            command=redact(shlex.join(argv)),
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
            hist=read_hist(hist_path, int(data["requests"])),
        )


def read_hist(path: Path | None, requests: int) -> list[tuple[float, float]]:
    """wrk's quantile function as (latency us, requests) points: each quantile stands for the
    requests between it and the previous one."""
    points: list[tuple[float, float]] = []
    if path is None or not path.exists():
        return points
    previous = 0.0
    for line in path.read_text().splitlines():
        q, _, value = line.partition(" ")
        points.append((float(value), (float(q) - previous) / 100 * requests))
        previous = float(q)
    path.unlink()
    return points


def redact(command: str) -> str:
    command = re.sub(r"(__Host-sid=)[A-Za-z0-9_-]+", r"\1<session>", command)
    return re.sub(r"(Bearer )[A-Za-z0-9_.-]+", r"\1<token>", command)


# ----------------------------------------------------------------------------- the login storm


@dataclasses.dataclass
class StormStats:
    bursts_started: int = 0
    bursts_completed: int = 0
    statuses: dict[str, int] = dataclasses.field(default_factory=dict)
    latencies: list[float] = dataclasses.field(default_factory=list)
    cancelled: int = 0  # in flight when wrk ended

    @property
    def completed(self) -> int:
        return len(self.latencies)

    def add(self, status: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


async def login_storm(
    st: Stack, forms: list[tuple[str, str]], stats: StormStats, stop: asyncio.Event
) -> None:
    """Bursts of STORM_SIZE concurrent logins, one after another, until `stop` (bounded by the
    prepared forms: at most STORM_MAX_BURSTS bursts)."""
    limits = httpx.Limits(max_connections=STORM_SIZE, max_keepalive_connections=STORM_SIZE)
    timeout = httpx.Timeout(LOGIN_TIMEOUT)
    async with httpx.AsyncClient(
        base_url=st.bff_url, timeout=timeout, limits=limits, follow_redirects=False
    ) as client:

        async def one(form: tuple[str, str]) -> None:
            started = time.monotonic()
            try:
                response = await client.post(**login_request(st.bff_url, form, st.password))
            except httpx.HTTPError as exc:
                stats.add(type(exc).__name__)
                return
            stats.add(str(response.status_code))
            stats.latencies.append(time.monotonic() - started)

        for start in range(0, len(forms), STORM_SIZE):
            if stop.is_set():
                return
            stats.bursts_started += 1
            burst = [asyncio.create_task(one(f)) for f in forms[start : start + STORM_SIZE]]
            stopper = asyncio.create_task(stop.wait())
            while not stop.is_set() and not all(t.done() for t in burst):
                await asyncio.wait([*burst, stopper], return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            pending = [t for t in burst if not t.done()]
            for task in pending:
                task.cancel()
            stats.cancelled += len(pending)
            await asyncio.gather(*burst, return_exceptions=True)
            if not pending:
                stats.bursts_completed += 1


async def user_under_storm(
    st: Stack, wrk: Wrk, script: Path, forms: list[tuple[str, str]]
) -> tuple[WrkResult, StormStats]:
    stats = StormStats()
    stop = asyncio.Event()
    storm = asyncio.create_task(login_storm(st, forms, stats, stop))
    try:
        await asyncio.sleep(STORM_LEAD)
        if storm.done():
            storm.result()
            raise HarnessError("the login storm ended before wrk started")
        result = await wrk.run_async(
            f"{st.config.key}-bff-user-storm",
            f"{st.bff_url}/bff/user",
            script=script,
            headers=session_headers(st),
            server=st.bff,
        )
    finally:
        stop.set()
        try:
            await asyncio.wait_for(storm, timeout=30)
        except TimeoutError:
            storm.cancel()
    return result, stats


# ----------------------------------------------------------------------------- benchmarks


@dataclasses.dataclass
class Results:
    a: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    b: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    c: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    stacks: list[dict[str, str]] = dataclasses.field(default_factory=list)


def bench_a(st: Stack, wrk: Wrk, plain: Path, res: Results) -> None:
    health = f"{st.bff_url}/healthz"
    user = f"{st.bff_url}/bff/user"
    expect_ok(user, session_headers(st))
    h, u = wrk.abba(
        st.bff,
        (f"{st.config.key}-bff-healthz", health, plain, {}),
        (f"{st.config.key}-bff-user", user, plain, session_headers(st)),
    )
    res.a.append({"config": st.config, "healthz": h, "user": u})


def bench_c(st: Stack, wrk: Wrk, plain: Path, tmp: Path, res: Results) -> None:
    token = bff_token(st)
    ready = wait_api_accepts(st, token)
    if ready["seen"].keys() - {200}:
        res.notes.append(
            f"{st.config.title}: the API answered {fmt_statuses(ready['seen'])} to GET /me with a "
            f"valid token before its first 200 ({ready['after_s']:.1f} s after start)."
        )
    auth = {"Authorization": f"Bearer {token}"}
    health, me = f"{st.api_url}/healthz", f"{st.api_url}/me"
    h, m = wrk.abba(
        st.api,
        (f"{st.config.key}-api-healthz", health, plain, {}),
        (f"{st.config.key}-api-me-warm", me, plain, auth),
    )

    minted_at = time.monotonic()
    tokens = mint_tokens(st, COLD_TOKENS)
    mint_s = time.monotonic() - minted_at
    token_file = tmp / f"{st.config.key}-tokens.txt"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(tokens) + "\n")
    expect_ok(me, {"Authorization": f"Bearer {tokens[-1]}"})  # a driver-minted token is accepted
    cold_script = wrk.script(
        f"{st.config.key}-cold", _LUA_TOKENS % {"path": json.dumps(str(token_file))}
    )
    cold = wrk.run(
        f"{st.config.key}-api-me-cold", me, script=cold_script, headers={}, server=st.api
    )
    res.c.append(
        {
            "config": st.config,
            "healthz": h,
            "me": m,
            "cold": cold,
            "tokens": len(tokens),
            "mint_s": mint_s,
        }
    )


def mint_tokens(st: Stack, count: int) -> list[str]:
    """Fresh tokens signed with the BFF's own key ring (same issuer, audience, claims as
    POST /bff/token): /bff/token allows 30 a minute per session."""
    from bff.clock import SystemClock
    from bff.security.keys import KeyRing
    from bff.security.tokens import TokenMinter, session_scopes

    clock = SystemClock()
    ring = KeyRing(
        path=st.var_dir / "keys.json",
        alg="ES256",
        clock=clock,
        publish_lead=300,
        retain_seconds=960,
    )
    ring.load_or_create()
    minter = TokenMinter(keys=ring, issuer=st.bff_url, audience=st.api_url, clock=clock)
    scopes = session_scopes("user")
    return [
        minter.mint(
            sub=st.sub, scopes=scopes, client_id="bff", ttl=300, sid=st.sid, role="user"
        ).token
        for _ in range(count)
    ]


def bench_b(st: Stack, wrk: Wrk, plain: Path, res: Results) -> None:
    user = f"{st.bff_url}/bff/user"
    expect_ok(user, session_headers(st))
    # every storm login gets its own fresh pre-session CSRF pair, fetched beforehand
    with httpx.Client(base_url=st.bff_url, timeout=10.0) as client:
        forms = [login_form(client) for _ in range(STORM_SIZE * STORM_MAX_BURSTS)]
    wrk.warm(user, script=plain, headers=session_headers(st))
    idle = wrk.run(
        f"{st.config.key}-bff-user-idle",
        user,
        script=plain,
        headers=session_headers(st),
        server=st.bff,
    )
    loaded, stats = asyncio.run(user_under_storm(st, wrk, plain, forms))
    if stats.completed and set(stats.statuses) != {"303"}:
        res.notes.append(
            f"{st.config.title}: storm logins answered {fmt_statuses(stats.statuses)} "
            "(303 is a successful login)."
        )
    if not stats.statuses.get("303"):
        res.notes.append(
            f"{st.config.title}: no storm login completed inside the {DURATION} s window "
            f"({stats.cancelled} in flight when it ended): the argon2 queue was still draining."
        )
    res.b.append({"config": st.config, "idle": idle, "storm": loaded, "stats": stats})


def fmt_statuses(seen: dict[Any, int]) -> str:
    return ", ".join(f"{k}x{v}" for k, v in sorted(seen.items(), key=lambda kv: str(kv[0])))


# ----------------------------------------------------------------------------- report


def all_runs(res: Results) -> list[WrkResult]:
    runs: list[WrkResult] = []
    for row in (*res.a, *res.b, *res.c):
        runs += [v for v in row.values() if isinstance(v, WrkResult)]
    return runs


def machine() -> dict[str, str]:
    def out(argv: list[str]) -> str:
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return "unavailable"
        return (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr) else ""

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import version

    versions = {}
    for dist in (
        "uvicorn",
        "starlette",
        "httptools",
        "uvloop",
        "redis",
        "argon2-cffi",
        "pyjwt",
        "cryptography",
    ):
        with contextlib.suppress(Exception):
            versions[dist] = version(dist)
    busy = _system_busy()
    time.sleep(2.0)
    background = (_system_busy() - busy) / 2.0
    return {
        "nproc": str(os.cpu_count()),
        "busy before the run": f"{background:.2f} cores (other processes, 2 s sample)",
        "load average": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "CPU": cpu,
        "kernel": platform.release(),
        "Python": platform.python_version(),
        "wrk": out(["wrk", "--version"]).split(" [")[0],
        "redis-server": out(["redis-server", "--version"]),
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
    }


def verdict(ok: bool, *runs: WrkResult) -> str:
    if not all(r.valid for r in runs):
        return "FAIL (non-2xx/socket errors)"
    noisy = any(r.other_cpu > NOISY_CPU for r in runs)
    return ("PASS" if ok else "FAIL") + (" (noisy: other processes used CPU)" if noisy else "")


def ms(value: float) -> str:
    return f"{value:.2f}"


def write_report(
    res: Results, info: dict[str, str], started: dt.datetime, wrk: Wrk, elapsed: float
) -> None:
    lines: list[str] = []
    add = lines.append
    add("# Load benchmark report")
    add("")
    add(
        f"Date: {started.strftime('%Y-%m-%d %H:%M UTC')} · `make bench` (`bench/run.py`) · "
        f"total run time {elapsed:.0f} s"
    )
    add("")
    add(
        "A load benchmark, not a timed test: the numbers are for this machine and this run, the "
        "ratios are what the targets judge. A missed target is a FAIL here, not a failed build."
    )
    add("")
    if res.errors:
        add("## Harness errors")
        add("")
        for error in res.errors:
            add("```")
            add(error.strip()[-3000:])
            add("```")
        add("")

    add("## Summary")
    add("")
    add("| benchmark | configuration | target | measured | result |")
    add("|---|---|---|---|---|")
    for row in res.a:
        h, u = row["healthz"], row["user"]
        ratio = u.rps / h.rps if h.rps else 0.0
        add(
            f"| A. `/bff/user` vs `/healthz` req/s | {row['config'].title} | "
            f">= {TARGETS['A']}x | {ratio:.2f}x ({u.rps:.0f} / {h.rps:.0f} req/s) | "
            f"{verdict(ratio >= TARGETS['A'], h, u)} |"
        )
    for row in res.b:
        i, s = row["idle"], row["storm"]
        ratio = s.p99_ms / i.p99_ms if i.p99_ms else float("inf")
        extra = " (informational)" if row["config"].informational else ""
        add(
            f"| B. `/bff/user` p99 under 50-login storm / idle | {row['config'].title} | "
            f"<= {TARGETS['B']}x | {ratio:.2f}x ({ms(s.p99_ms)} / {ms(i.p99_ms)} ms) | "
            f"{verdict(ratio <= TARGETS['B'], i, s)}{extra} |"
        )
    for row in res.c:
        h, m = row["healthz"], row["me"]
        ratio = m.rps / h.rps if h.rps else 0.0
        add(
            f"| C. API `/me` (cached token) vs `/healthz` req/s | {row['config'].title} | "
            f">= {TARGETS['C']}x | {ratio:.2f}x ({m.rps:.0f} / {h.rps:.0f} req/s) | "
            f"{verdict(ratio >= TARGETS['C'], h, m)} |"
        )
        cold = row["cold"]
        add(
            f"| C. API `/me` cold path (fresh token per request) | {row['config'].title} | "
            f"report only | {cold.rps:.0f} req/s ({cold.rps / h.rps:.2f}x `/healthz`) | "
            f"{'measured' if cold.valid else 'FAIL (non-2xx/socket errors)'} |"
        )
    add("")

    add("## Machine")
    add("")
    add("| | |")
    add("|---|---|")
    for key, value in info.items():
        add(f"| {key} | {value} |")
    add("")

    add("## Method")
    add("")
    add(
        f"- Each configuration: a fresh temporary var dir shared by both apps (`BFF_VAR_DIR` = "
        "`API_VAR_DIR`), `python -m bff init`, `python -m bff users add "
        f"{BENCH_EMAIL} --password …` with the configuration's argon2 parameters (so no login "
        "rehashes), then the BFF and, once it is healthy, the API, each as one uvicorn worker on a "
        "free loopback port:"
    )
    add("")
    add("  ```sh")
    add(
        "  python -m uvicorn --factory bff.asgi:app --host 127.0.0.1 --port $BFF_PORT --workers 1 "
        "--no-access-log --log-level warning --no-server-header"
    )
    add(
        "  python -m uvicorn --factory api.asgi:app --host 127.0.0.1 --port $API_PORT --workers 1 "
        "--no-access-log --log-level warning --no-server-header"
    )
    add("  ```")
    add("")
    add(
        '  Redis configuration: a private `redis-server --port $PORT --bind 127.0.0.1 --save "" '
        "--appendonly no` and `BFF_SESSION_STORE=redis://127.0.0.1:$PORT/0`. Other settings are "
        "the defaults (`BFF_LOG_LEVEL=INFO`: audit lines go to a log file; "
        "`BFF_PASSWORD_WORKERS=1`)."
    )
    add(
        "- The benchmark session: `GET /login` (login CSRF cookie + form token), `POST /login`, "
        "the `__Host-sid` value sent as an explicit `Cookie` header (it is `Secure`, so clients "
        "keep it from plain http), plus `X-CSRF: 1`."
    )
    add(
        f"- wrk: `wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{DURATION}s --latency --timeout 10s`, "
        f"after a {WARMUP} s warm-up run of the same command; a Lua `done()` prints the exact "
        "request count and percentiles. The pairs that A and C compare run as alternating "
        f"{SEGMENT} s segments (A B B A A B …, {max(1, DURATION // SEGMENT) * SEGMENT} s per "
        "endpoint in all), so the machine's speed drift (the same endpoint varied by ±20 % "
        "between 2 s runs on this VM, with nothing else running) lands on both sides of the "
        "ratio; their percentiles come from the segments' quantile "
        "functions (0.1 % steps, 0.01 % above p99) merged by request count. A run with more than "
        f'{MAX_NON2XX_SHARE:.0%} non-2xx answers or socket errors fails its row. "server CPU" '
        "is the measured process's CPU in cores over the run (one event loop saturates near "
        '1.0); "other CPU" is what processes this driver did not start used meanwhile, from '
        "/proc/stat: on a shared 2-core machine anything well above 0 makes that run noisy."
    )
    add(
        "- B's target is judged on the default argon2id parameters (t=3, m=64 MiB, p=1: the "
        "realistic storm); the OWASP-floor row (t=2, m=19 MiB) shows a storm with more, cheaper "
        "logins per second and is informational."
    )
    add(
        f"- B: the idle run first, then the same wrk run while bursts of {STORM_SIZE} concurrent "
        "`POST /login` (each with its own fresh login-CSRF pair, fetched beforehand) run back to "
        f"back from {STORM_LEAD:.0f} s before wrk starts until it ends (at most "
        f"{STORM_MAX_BURSTS} bursts); logins still in flight when wrk ends are abandoned and the "
        "stack is stopped."
    )
    add(
        f"- C: the warm token comes from `POST /bff/token`; before measuring, `GET /me` must "
        f"answer 200 (bounded retry, {READY_TIMEOUT:.0f} s: the API refuses tokens until it "
        f"follows the revocation feed). Cold path: {COLD_TOKENS} tokens minted by the driver with "
        "the BFF's key ring from the var dir (`KeyRing` + `TokenMinter`, same issuer, audience and "
        "claims as `/bff/token`), cycled by a wrk Lua script; the API's verified-claims cache "
        "holds 10 000 tokens first-in first-out, so cycling more than that misses every time."
    )
    add("")
    add("Exact wrk commands (session and token redacted; `plain.lua` only adds `done()`):")
    add("")
    add("```sh")
    counts: dict[str, int] = {}
    for command in wrk.commands:
        counts[command] = counts.get(command, 0) + 1
    lines.extend(c if n == 1 else f"{c}    # run {n} times" for c, n in counts.items())
    add("```")
    add("")

    head = (
        "| req/s | p50 ms | p99 ms | max ms | non-2xx | server CPU | other CPU | ratio | result |"
    )
    rule = "|---|---|---|---|---|---|---|---|---|---|---|"

    def cells(r: WrkResult) -> str:
        return (
            f"{r.rps:.0f} | {ms(r.p50_ms)} | {ms(r.p99_ms)} | {ms(r.max_ms)} | "
            f"{r.non2xx + r.socket_errors} | {r.server_cpu:.2f} | {r.other_cpu:.2f}"
        )

    if res.a:
        add(
            f"## A. BFF `/bff/user` vs `/healthz` (target: `/bff/user` >= {TARGETS['A']}x "
            "`/healthz` req/s, per store)"
        )
        add("")
        add(f"| store | endpoint {head}")
        add(rule)
        for row in res.a:
            h, u = row["healthz"], row["user"]
            ratio = u.rps / h.rps if h.rps else 0.0
            add(f"| {row['config'].title} | `GET /healthz` | {cells(h)} | | |")
            add(
                f"| {row['config'].title} | `GET /bff/user` | {cells(u)} | {ratio:.2f}x | "
                f"{verdict(ratio >= TARGETS['A'], h, u)} |"
            )
        add("")

    if res.b:
        add(
            f"## B. `/bff/user` p99 during a login storm (target: p99 under load <= "
            f"{TARGETS['B']}x idle p99)"
        )
        add("")
        add(f"| configuration | run {head.replace('| ratio', '| p99 ratio')}")
        add(rule)
        for row in res.b:
            i, s = row["idle"], row["storm"]
            ratio = s.p99_ms / i.p99_ms if i.p99_ms else float("inf")
            add(f"| {row['config'].title} | idle | {cells(i)} | | |")
            add(
                f"| {row['config'].title} | 50-login storm | {cells(s)} | {ratio:.2f}x | "
                f"{verdict(ratio <= TARGETS['B'], i, s)} |"
            )
        add("")
        add(
            "Server CPU includes the argon2 worker thread. The storm itself (logins answered "
            "while wrk ran; a login's latency includes its wait in the single argon2 worker's "
            "queue):"
        )
        add("")
        add(
            "| configuration | bursts started / completed | logins answered | statuses | "
            "login p50 s | login max s | abandoned at the end |"
        )
        add("|---|---|---|---|---|---|---|")
        for row in res.b:
            stats: StormStats = row["stats"]
            lat = sorted(stats.latencies)
            p50 = f"{lat[len(lat) // 2]:.1f}" if lat else "–"
            mx = f"{lat[-1]:.1f}" if lat else "–"
            add(
                f"| {row['config'].title} | {stats.bursts_started} / {stats.bursts_completed} | "
                f"{stats.completed} | {fmt_statuses(stats.statuses) or '–'} | {p50} | {mx} | "
                f"{stats.cancelled} |"
            )
        add("")

    if res.c:
        add(
            f"## C. API `/me` vs `/healthz` (target: `/me` with a cached token >= "
            f"{TARGETS['C']}x `/healthz` req/s)"
        )
        add("")
        add(f"| configuration | endpoint {head}")
        add(rule)
        for row in res.c:
            h, m, cold = row["healthz"], row["me"], row["cold"]
            ratio = m.rps / h.rps if h.rps else 0.0
            add(f"| {row['config'].title} | `GET /healthz` | {cells(h)} | | |")
            add(
                f"| {row['config'].title} | `GET /me`, one token (cached) | {cells(m)} | "
                f"{ratio:.2f}x | {verdict(ratio >= TARGETS['C'], h, m)} |"
            )
            add(
                f"| {row['config'].title} | `GET /me`, fresh token each (cold) | {cells(cold)} | "
                f"{cold.rps / h.rps if h.rps else 0.0:.2f}x | report only |"
            )
            wrapped = cold.requests / row["tokens"] if row["tokens"] else 0
            add("")
            add(
                f"Cold path: {row['tokens']} tokens minted in {row['mint_s']:.1f} s; wrk sent "
                f"{cold.requests} requests ({wrapped:.2f} passes over the token file)."
            )
            if row["tokens"] <= API_CLAIMS_CACHE and wrapped > 1:
                add(
                    f"Not all cold: {row['tokens']} tokens fit the API's {API_CLAIMS_CACHE}-entry "
                    "claims cache, so passes after the first hit it (raise BENCH_COLD_TOKENS)."
                )
        add("")

    noisy = [r for r in all_runs(res) if r.other_cpu > NOISY_CPU]
    if noisy:
        res.notes.append(
            "Other processes on this machine used CPU during "
            + ", ".join(f"`{r.label}` ({r.other_cpu:.2f} cores)" for r in noisy)
            + ": those numbers are disturbed; rerun `make bench` on a quiet machine to confirm."
        )
    if res.notes:
        add("## Observations")
        add("")
        for note in res.notes:
            add(f"- {note}")
        add("")

    add("## Configurations")
    add("")
    add("| configuration | settings |")
    add("|---|---|")
    for item in res.stacks:
        add(f"| {item['title']} | {item['settings']} |")
    add("")
    add(
        "Raw wrk output of this run: `bench/results/*.raw` (git-ignored, session and tokens "
        "redacted from the command line only)."
    )
    REPORT.write_text("\n".join(lines) + "\n")


# ----------------------------------------------------------------------------- main


CONFIGS = [
    Config(
        key="sqlite",
        title="SQLite store, argon2 t=3 m=64MiB",
        store="sqlite",
        argon2=DEFAULT_ARGON2,
        run_a=True,
        run_b=True,
        run_c=True,
    ),
    Config(
        key="redis",
        title="Redis store, argon2 t=3 m=64MiB",
        store="redis",
        argon2=DEFAULT_ARGON2,
        run_a=True,
        run_b=True,
        run_c=False,
    ),
    Config(
        key="sqlite-floor",
        title="SQLite store, argon2 t=2 m=19MiB (OWASP floor)",
        store="sqlite",
        argon2=FLOOR_ARGON2,
        run_a=False,
        run_b=True,
        run_c=False,
        informational=True,
    ),
]


def check_tools() -> None:
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            raise HarnessError(f"{tool} is not installed (make bench runs scripts/system-deps.sh)")


def main() -> int:
    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    res = Results()
    procs = Processes()

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for old in RESULTS.glob("*.raw"):
        old.unlink()
    info: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bff-bench-") as tmp_name:
        tmp = Path(tmp_name)
        scripts = tmp / "lua"
        scripts.mkdir()
        wrk = Wrk(RESULTS, scripts, procs)
        try:
            check_tools()
            info = machine()
            plain = wrk.script("plain")
            for config in CONFIGS:
                print(f"== {config.title}", flush=True)
                try:
                    with stack(config, procs, tmp) as st:
                        res.stacks.append(
                            {
                                "title": config.title,
                                "settings": ", ".join(
                                    f"`{k}={v}`"
                                    for k, v in sorted(st.env.items())
                                    if k.startswith(("BFF_", "API_"))
                                ).replace(str(tmp), "$TMP"),
                            }
                        )
                        log_in(st)
                        if config.run_a:
                            print("   A: /healthz vs /bff/user", flush=True)
                            bench_a(st, wrk, plain, res)
                        if config.run_c:  # before B: the storm leaves argon2 work queued
                            print("   C: API /healthz vs /me (warm, cold)", flush=True)
                            bench_c(st, wrk, plain, tmp, res)
                        if config.run_b:
                            print("   B: /bff/user idle vs during a 50-login storm", flush=True)
                            bench_b(st, wrk, plain, res)
                        for proc in (st.bff, st.api):
                            if proc.popen.poll() is not None:
                                raise HarnessError(
                                    f"{proc.name} died during the run:\n{proc.tail()}"
                                )
                except HarnessError as exc:
                    res.errors.append(f"{config.title}: {exc}")
                    print(f"   harness error: {exc}", file=sys.stderr, flush=True)
        except HarnessError as exc:
            res.errors.append(str(exc))
            print(f"harness error: {exc}", file=sys.stderr, flush=True)
        finally:
            procs.stop_all()
        if procs.slow_stops:
            res.notes.append(
                f"SIGTERM did not stop {', '.join(procs.slow_stops)} within {STOP_TIMEOUT:.0f} s "
                "(SIGKILL followed): uvicorn's graceful shutdown waits for in-flight requests, "
                "here logins queued for the single argon2 worker."
            )
        write_report(res, info or machine(), started, wrk, time.monotonic() - t0)
    print(f"wrote {REPORT} ({time.monotonic() - t0:.0f} s)")
    print(REPORT.read_text().split("## Machine")[0])
    return 1 if res.errors else 0


if __name__ == "__main__":
    sys.exit(main())
