"""The machine a run measured on: CPUs, load, how busy it was just before, the versions of
everything in the path of a request."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bench.cpu import system_busy

PACKAGES = (
    "uvicorn",
    "starlette",
    "httptools",
    "uvloop",
    "redis",
    "argon2-cffi",
    "pyjwt",
    "cryptography",
)
SAMPLE_S = 2.0


def describe_machine() -> dict[str, str]:
    return {
        "nproc": str(os.cpu_count()),
        "busy before the run": f"{background_cpu():.2f} cores (other processes, 2 s sample)",
        "load average": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "CPU": cpu_model(),
        "kernel": platform.release(),
        "Python": platform.python_version(),
        "wrk": first_line(["wrk", "--version"]).split(" [")[0],
        "redis-server": first_line(["redis-server", "--version"]),
        "packages": ", ".join(f"{name} {v}" for name, v in package_versions().items()),
    }


def background_cpu() -> float:
    """Cores busy over a short sample while the bench itself idles."""
    busy = system_busy()
    time.sleep(SAMPLE_S)
    return (system_busy() - busy) / SAMPLE_S


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            versions[name] = version(name)
    return versions


def first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else ""
