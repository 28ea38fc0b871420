"""Process supervision for the harnesses that run real servers: the bench, the e2e stack and the
tests' Redis server.

A `Command` says what to run and how to tell that it is ready. A `Process` runs one command: its
stdout and stderr are copied into a log file by a thread as they come (the pipe is always read, so
a chatty child never blocks on a full pipe), it is waited for until ready, stopped with SIGTERM and
then SIGKILL, or killed at once (an outage drill), paused and resumed (a hung server), and
started again with the same argv, so on the same port. A `ProcessGroup` stops whatever it
started, in reverse order, however its block ends. A process that exits before it is ready, or is
not ready in time, raises `LaunchError` with the tail of its log. Processes are signalled by pid,
never by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, Protocol, Self

import httpx

LOOPBACK = "127.0.0.1"
TAIL_CHARS = 4000
PROBE_INTERVAL = 0.1  # between health probes
JOIN_TIMEOUT = 2.0  # for the output thread to copy the last bytes once the process has ended

Stopped = Literal["not running", "terminated", "killed"]


class LaunchError(Exception):
    """A process exited before it was ready, or was not ready in time. The message names it and
    ends with the tail of its log."""


def free_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on right now, picked by the kernel (another process could still
    take it before ours binds it: rare enough on a test machine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Readiness(Protocol):
    """How to tell that a started process is ready to serve."""

    @property
    def timeout(self) -> float: ...

    def wait(self, process: Process) -> bool:
        """True once `process` is ready; False when it ended first or `timeout` seconds passed."""
        ...


@dataclass(frozen=True)
class HttpReady:
    """Ready when GET `url` answers 200."""

    url: str
    timeout: float = 20.0

    def wait(self, process: Process) -> bool:
        deadline = time.monotonic() + self.timeout
        # a loopback probe must not be sent to a proxy named in the environment
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while process.running and time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.url).status_code == 200:
                        return True
                process.wait_exited(PROBE_INTERVAL)
        return False


@dataclass(frozen=True)
class LineReady:
    """Ready when `text` appears in the process's output (redis-server: "Ready to accept
    connections"), seen as the output arrives: no polling."""

    text: str
    timeout: float = 10.0

    def wait(self, process: Process) -> bool:
        return process.wait_for_output(self.text, self.timeout)


@dataclass(frozen=True, kw_only=True)
class Command:
    name: str  # in messages, and the log file's name in a ProcessGroup
    argv: Sequence[str]
    env: Mapping[str, str] | None = None  # None: this process's own environment
    cwd: Path | None = None
    ready: Readiness | None = None  # None: ready as soon as it is started
    stop_timeout: float = 5.0  # after SIGTERM, before SIGKILL


class Process:
    """One command under supervision. `start` after `stop` or `kill` brings it back with the
    same argv; its log file is appended to, so it tells every run."""

    def __init__(self, command: Command, *, log: Path) -> None:
        self.command = command
        self.log = log
        self._popen: subprocess.Popen[bytes] | None = None
        self._output: _Output | None = None

    @property
    def name(self) -> str:
        return self.command.name

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def start(self) -> Self:
        """Start the command and wait until it is ready; a no-op while it runs. A process that
        does not become ready is stopped, then LaunchError is raised."""
        if self.running:
            return self
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        try:
            popen = subprocess.Popen(
                list(self.command.argv),
                env=dict(self.command.env) if self.command.env is not None else None,
                cwd=self.command.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:  # no such program, not executable, no such cwd
            raise LaunchError(f"{self.name} could not be started: {exc}") from exc
        self._popen = popen
        if popen.stdout is not None:  # always, with stdout=PIPE; the check is for the type
            self._output = _Output(popen.stdout, self.log)
        ready = self.command.ready
        if ready is not None and not ready.wait(self):
            # output that has ended means the process is exiting: give it a moment to be reaped
            ended = self._output is None or self._output.ended
            exited = self.wait_exited(JOIN_TIMEOUT if ended else 0.0)
            self.stop()
            problem = (
                f"exited with {self.returncode} before it was ready"
                if exited
                else f"was not ready within {ready.timeout:g} s"
            )
            raise LaunchError(f"{self.name} {problem}; its log ends:\n{self.tail()}")
        return self

    def stop(self) -> Stopped:
        """SIGTERM, then SIGKILL when it has not ended within the command's stop_timeout."""
        popen = self._popen
        if popen is None or popen.poll() is not None:
            self._join_output()
            return "not running"
        popen.terminate()
        outcome: Stopped = "terminated"
        try:
            popen.wait(timeout=self.command.stop_timeout)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=self.command.stop_timeout)
            outcome = "killed"
        self._join_output()
        return outcome

    def kill(self) -> None:
        """SIGKILL at once, with no chance to clean up: what an outage drill needs."""
        if self._popen is not None and self._popen.poll() is None:
            self._popen.kill()
            self._popen.wait(timeout=self.command.stop_timeout)
        self._join_output()

    def pause(self) -> None:
        """SIGSTOP: the process keeps its sockets open and answers nothing (a hung server, or a
        network partition as its clients see it) until `resume`."""
        if self.running and self._popen is not None:
            self._popen.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after `pause`."""
        if self.running and self._popen is not None:
            self._popen.send_signal(signal.SIGCONT)

    def ensure_running(self) -> None:
        """Raise LaunchError, with the tail of the log, when the process has exited."""
        if not self.running:
            self._join_output()
            raise LaunchError(
                f"{self.name} exited with {self.returncode}; its log ends:\n{self.tail()}"
            )

    def wait_for_output(self, text: str, timeout: float) -> bool:
        """True once `text` is in what this run of the process wrote; False when its output
        ended first or `timeout` seconds passed."""
        return self._output is not None and self._output.wait_for(text.encode(), timeout)

    def wait_exited(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the process to exit; True if it has."""
        if self._popen is None:
            return True
        try:
            self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def tail(self, limit: int = TAIL_CHARS) -> str:
        try:
            return self.log.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def _join_output(self) -> None:
        if self._output is not None:
            self._output.join(JOIN_TIMEOUT)


class _Output:
    """A child's output, copied into its log file by a thread of its own as it comes, and
    waitable: for a text to appear in it, or for its end. The log is appended to: what this run
    wrote starts at the log's size when the run started."""

    def __init__(self, pipe: IO[bytes], log: Path) -> None:
        self._log = log
        self._start = log.stat().st_size
        self._ended = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(
            target=self._copy, args=(pipe,), name=f"output of {log.name}", daemon=True
        )
        self._thread.start()

    def wait_for(self, text: bytes, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        keep = len(text) - 1  # a text split across two reads is still found
        seen = b""
        with self._log.open("rb") as log, self._changed:
            log.seek(self._start)
            while True:
                seen += log.read()
                if text in seen:
                    return True
                seen = seen[-keep:] if keep else b""
                left = deadline - time.monotonic()
                if self._ended or left <= 0:
                    return False
                self._changed.wait(left)

    @property
    def ended(self) -> bool:
        with self._changed:
            return self._ended

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _copy(self, pipe: IO[bytes]) -> None:
        try:
            with pipe, self._log.open("ab") as log:
                while chunk := os.read(pipe.fileno(), 65536):
                    log.write(chunk)
                    log.flush()  # before the notice: a waiter reads the file, not the chunk
                    with self._changed:
                        self._changed.notify_all()
        finally:
            with self._changed:
                self._ended = True
                self._changed.notify_all()


class ProcessGroup:
    """Processes started together and stopped together: in reverse order of start, each one
    whatever happened to the others, however the `with` block ends (ExitStack-friendly)."""

    def __init__(self, *, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.forced: list[Process] = []  # SIGTERM did not end them in time: SIGKILL followed
        self._processes: list[Process] = []

    def start(self, command: Command) -> Process:
        process = Process(command, log=self.log_dir / f"{command.name}.log")
        self._processes.append(process)  # before it starts: a failed start is stopped too
        return process.start()

    def running(self) -> list[Process]:
        return [process for process in self._processes if process.running]

    def close(self) -> None:
        processes, self._processes = self._processes, []
        with contextlib.ExitStack() as stops:  # runs every stop, last started first
            for process in processes:
                stops.callback(self._stop, process)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _stop(self, process: Process) -> None:
        if process.stop() == "killed":
            self.forced.append(process)
