"""The performance anchors (the shared `bench/` folder beside the checkout, its README): the seed
article's Express app, on express-session's MemoryStore or on connect-redis, and a bare Starlette
app on uvicorn. They are run from where they live, never copied into the project; what they need
installed (node_modules, a venv) goes to a writable state folder, as their own `anchors/run.sh`
does it (`$ANCHORS_STATE`, default `$TMPDIR/bench-anchors`), and is reused on the next run.

Each anchor is started like our servers: one process on a free loopback port, ready once
`/hello` answers, stopped by the `ProcessGroup` that started it, no access log.
"""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.errors import HarnessError
from bench.pinning import Pinning, pin
from bench.wrk import Load
from bff.testing.launcher import LOOPBACK, Command, HttpReady, Process, ProcessGroup, free_port

INSTALL_TIMEOUT = 600.0
LOGIN = {"email": "user@example.com", "password": "password123"}  # the seed app's one user
EXPRESS_COOKIE = "sessionId"


@dataclass(frozen=True, kw_only=True)
class Anchors:
    """The anchors' folder and their installed dependencies."""

    home: Path  # the shared bench/ folder (read-only is fine)
    state: Path  # writable: node_modules and the venv

    @property
    def express_js(self) -> Path:
        return self.home / "anchors" / "express-seed" / "server.js"

    @property
    def baseline_dir(self) -> Path:
        return self.home / "anchors" / "python-baseline"

    @property
    def node_modules(self) -> Path:
        return self.state / "express-seed" / "node_modules"

    @property
    def python(self) -> Path:
        return self.state / ".venv" / "bin" / "python"


def installed(home: Path, state: Path) -> Anchors:
    """The anchors of `home`, their dependencies installed into `state` when missing or stale
    (`npm ci` from their lockfile, a venv from `python-baseline/requirements.txt`)."""
    anchors = Anchors(home=home, state=state)
    if not anchors.express_js.exists() or not (anchors.baseline_dir / "app.py").exists():
        raise HarnessError(f"{home} holds no anchors/express-seed and anchors/python-baseline")
    seed, copy = anchors.express_js.parent, state / "express-seed"
    copy.mkdir(parents=True, exist_ok=True)
    if not _same(seed / "package-lock.json", copy / "package-lock.json") or not (
        anchors.node_modules.is_dir()
    ):
        for manifest in ("package.json", "package-lock.json"):
            shutil.copyfile(seed / manifest, copy / manifest)
        _run(["npm", "ci", "--no-audit", "--no-fund"], cwd=copy, what="npm ci (express-seed)")
    requirements = anchors.baseline_dir / "requirements.txt"
    pinned = state / "python-baseline-requirements.txt"
    if not anchors.python.exists() or not _same(requirements, pinned):
        _run([sys.executable, "-m", "venv", str(state / ".venv")], cwd=state, what="venv")
        pip = [str(anchors.python), "-m", "pip", "install", "-q", "-r", str(requirements)]
        _run(pip, cwd=state, what="pip install (python-baseline)")
        shutil.copyfile(requirements, pinned)
    return anchors


def express(anchors: Anchors, *, port: int, redis_url: str | None = None) -> Command:
    """The seed app, sessions in its MemoryStore, or in Redis at `redis_url` (connect-redis)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "NODE_ENV": "production",
        "PORT": str(port),
        "NODE_PATH": str(anchors.node_modules),  # its modules, installed in the state folder
        "SESSION_STORE": "redis" if redis_url else "memory",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    return Command(
        name="express-redis" if redis_url else "express-memory",
        argv=[shutil.which("node") or "node", str(anchors.express_js)],
        env=env,
        cwd=anchors.state,
        ready=HttpReady(f"http://{LOOPBACK}:{port}/hello"),
    )


def baseline(anchors: Anchors, *, port: int) -> Command:
    """Bare Starlette on uvicorn (httptools and uvloop, as ours), its README's command."""
    argv = [str(anchors.python), "-m", "uvicorn", "app:app", "--app-dir", str(anchors.baseline_dir)]
    argv += ["--host", LOOPBACK, "--port", str(port), "--workers", "1", "--no-access-log"]
    return Command(
        name="starlette-baseline",
        argv=argv,
        cwd=anchors.state,
        ready=HttpReady(f"http://{LOOPBACK}:{port}/hello"),
    )


def express_cookie(url: str) -> str:
    """A `Cookie` header value for the seed app's session (`POST /login`)."""
    with httpx.Client(base_url=url, timeout=30.0, trust_env=False) as client:
        response = client.post("/login", json=LOGIN)
        value = response.cookies.get(EXPRESS_COOKIE)
    if response.status_code != 200 or not value:
        raise HarnessError(f"express POST /login answered {response.status_code}, no cookie")
    return f"{EXPRESS_COOKIE}={value}"


def express_token(url: str) -> str:
    """An HS256 access token from the seed app's `POST /token-login`."""
    return _token(url, "/token-login", LOGIN)


def baseline_token(url: str, alg: str) -> str:
    """A token from the bare Starlette app's `POST /token?alg=…` (HS256 or EdDSA)."""
    return _token(url, f"/token?alg={alg}")


def _token(url: str, path: str, body: dict[str, str] | None = None) -> str:
    with httpx.Client(base_url=url, timeout=30.0, trust_env=False) as client:
        response = client.post(path, json=body)
    if response.status_code != 200:
        raise HarnessError(f"{url}{path} answered {response.status_code}")
    return str(response.json()["accessToken"])


def _same(a: Path, b: Path) -> bool:
    return b.exists() and filecmp.cmp(a, b, shallow=False)


def _run(argv: list[str], *, cwd: Path, what: str) -> None:
    print(f"   anchors: {what}", flush=True)
    try:
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HarnessError(f"anchors: {what} failed: {exc}") from None
    if done.returncode != 0:
        raise HarnessError(f"anchors: {what} failed ({done.returncode}):\n{done.stderr[-2000:]}")


@dataclass(frozen=True, kw_only=True)
class Express:
    """A running seed app, logged into."""

    process: Process
    url: str
    cookie: str  # its session, MemoryStore or connect-redis
    token: str  # HS256, from /token-login

    def dashboard(self) -> Load:
        store = "redis" if self.process.name == "express-redis" else "memory"
        return Load(
            label=f"express-{store}-dashboard",
            url=f"{self.url}/dashboard",
            headers={"Cookie": self.cookie},
        )

    def keyobject(self) -> Load:
        return Load(
            label="express-dashboard-keyobject",
            url=f"{self.url}/api/dashboard-keyobject",
            headers={"Authorization": f"Bearer {self.token}"},
        )


@dataclass(frozen=True, kw_only=True)
class Baseline:
    """The running bare Starlette app."""

    process: Process
    url: str
    eddsa: str  # a token its /jwt verifies with PyJWT on every request

    def hello(self) -> Load:
        return Load(label="starlette-hello", url=f"{self.url}/hello")

    def jwt(self) -> Load:
        bearer = {"Authorization": f"Bearer {self.eddsa}"}
        return Load(label="starlette-jwt-eddsa", url=f"{self.url}/jwt", headers=bearer)


def start_express(
    anchors: Anchors, group: ProcessGroup, pinning: Pinning, *, redis_url: str | None = None
) -> Express:
    port = free_port()
    process = group.start(express(anchors, port=port, redis_url=redis_url))
    _pin(process, pinning)
    url = f"http://{LOOPBACK}:{port}"
    return Express(process=process, url=url, cookie=express_cookie(url), token=express_token(url))


def start_baseline(anchors: Anchors, group: ProcessGroup, pinning: Pinning) -> Baseline:
    port = free_port()
    process = group.start(baseline(anchors, port=port))
    _pin(process, pinning)
    url = f"http://{LOOPBACK}:{port}"
    return Baseline(process=process, url=url, eddsa=baseline_token(url, "EdDSA"))


def _pin(process: Process, pinning: Pinning) -> None:
    if pinning.on and process.pid is not None:
        pin(process.pid, pinning.server)


def describe(anchors: Anchors, processes: tuple[Process, ...]) -> dict[str, str]:
    """What the report says about the anchors: their commands and versions."""
    facts = {}
    for process in processes:
        argv = [arg.replace(str(anchors.state), "$ANCHORS_STATE") for arg in process.command.argv]
        env = process.command.env or {}
        shown = " ".join(f"{k}={v}" for k, v in env.items() if k in ("NODE_ENV", "SESSION_STORE"))
        facts[process.name] = f"`{' '.join([shown, *argv]).strip()}`"
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    modules = ("express", "express-session", "connect-redis", "jsonwebtoken", "redis")
    versions = [f"{name} {_npm_version(anchors, name)}" for name in modules]
    facts["node"] = f"{node.stdout.strip()}: {', '.join(versions)}"
    pins = (anchors.baseline_dir / "requirements.txt").read_text().split()
    facts["python-baseline"] = ", ".join(p for p in pins if p.split("==")[0].lower() in _SHOWN)
    return facts


_SHOWN = ("starlette", "uvicorn", "pyjwt", "httptools", "uvloop", "cryptography")


def _npm_version(anchors: Anchors, name: str) -> str:
    try:
        manifest = (anchors.node_modules / name / "package.json").read_text()
    except OSError:
        return "?"
    return str(json.loads(manifest).get("version", "?"))
