"""The two commands that serve the apps, as the tests run them: the Procfile's line (what
`make run` serves: one worker, the entry point's defaults) and the production command (the
same entry point with more workers), each on a port of the test's choosing."""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from bff.testing.launcher import LOOPBACK
from bff.testing.servers import serving_argv

ROOT = Path(__file__).resolve().parents[2]
PROCFILE = ROOT / "Procfile"
VENV_PYTHON = ".venv/bin/python"  # the Procfile's interpreter, relative to the checkout
PRODUCTION_WORKERS = 2
_DEFAULTED = re.compile(r"\$\{(\w+):-([^}]*)\}")

Which = Literal["make run", "production"]
WHICH: tuple[Which, ...] = ("make run", "production")


def procfile_line(app: str) -> str:
    for line in PROCFILE.read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == app:
            return command.strip()
    raise LookupError(f"the Procfile has no {app!r} process")


def procfile_argv(app: Literal["bff", "api"], variables: Mapping[str, str]) -> list[str]:
    """The Procfile's line for `app`, its `${NAME:-default}`s expanded from `variables` as the
    shell honcho runs it would, and its interpreter this test run's."""
    line = _DEFAULTED.sub(lambda m: variables.get(m.group(1), m.group(2)), procfile_line(app))
    if "$" in line:
        raise ValueError(f"the Procfile's {app} line uses a form this parser does not expand")
    argv = shlex.split(line)
    if argv[0] != VENV_PYTHON:
        raise ValueError(f"the Procfile's {app} line does not start with {VENV_PYTHON}")
    return [sys.executable, *argv[1:]]


def command(which: Which, app: Literal["bff", "api"], port: int) -> list[str]:
    if which == "make run":
        prefix = app.upper()
        return procfile_argv(app, {f"{prefix}_HOST": LOOPBACK, f"{prefix}_PORT": str(port)})
    argv = [*serving_argv(app), "--host", LOOPBACK, "--port", str(port)]
    return [*argv, "--workers", str(PRODUCTION_WORKERS)]


def workers(which: Which) -> int:
    return 1 if which == "make run" else PRODUCTION_WORKERS
