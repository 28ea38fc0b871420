"""The one process launcher of the harnesses, on small real child processes: ready on a line or
an HTTP 200, a clear error with the log's tail, stop, kill -9 and start again, pause and resume,
a group that stops everything."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import httpx
import pytest

from bff.testing.launcher import (
    Command,
    HttpReady,
    LaunchError,
    LineReady,
    Process,
    ProcessGroup,
    Readiness,
    free_port,
)

PYTHON = sys.executable


def _python(
    name: str, code: str, *, ready: Readiness | None = None, stop_timeout: float = 5.0
) -> Command:
    argv = [PYTHON, "-u", "-c", code]
    return Command(name=name, argv=argv, ready=ready, stop_timeout=stop_timeout)


SERVER = """
import http.server, sys
class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
print("listening", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Ok).serve_forever()
"""


def test_free_port_is_free_on_loopback() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_ready_on_a_line_of_output_then_stopped(tmp_path: Path) -> None:
    command = _python(
        "liner",
        "import signal; print('warming'); print('Ready now'); signal.pause()",
        ready=LineReady("Ready now", timeout=10),
    )
    process = Process(command, log=tmp_path / "liner.log").start()
    assert process.running
    assert process.stop() == "terminated"
    assert not process.running
    assert "warming" in (tmp_path / "liner.log").read_text()


def test_ready_on_http_200_and_started_again_on_the_same_port_after_kill(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = Command(
        name="web", argv=[PYTHON, "-c", SERVER, str(port)], ready=HttpReady(url, timeout=10)
    )
    process = Process(command, log=tmp_path / "web.log").start()
    first = process.pid
    process.kill()  # an outage drill: no chance to clean up
    assert process.wait_exited(5) and process.returncode == -9
    process.start()
    assert process.running and process.pid != first
    process.stop()


def test_a_paused_process_answers_nothing_until_resumed(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = Command(
        name="web", argv=[PYTHON, "-c", SERVER, str(port)], ready=HttpReady(url, timeout=10)
    )
    process = Process(command, log=tmp_path / "web.log").start()
    try:
        process.pause()  # a hung server: the port still accepts, nothing answers
        with httpx.Client(trust_env=False, timeout=0.5) as client:
            with pytest.raises(httpx.ReadTimeout):
                client.get(url)
            process.resume()
            assert client.get(url).status_code == 200
    finally:
        process.stop()


def test_a_process_that_exits_before_ready_is_a_launch_error_with_its_log(tmp_path: Path) -> None:
    command = _python(
        "crash",
        "import sys; print('bad config: PORT'); sys.exit(3)",
        ready=LineReady("never", timeout=10),
    )
    with pytest.raises(LaunchError) as failed:
        Process(command, log=tmp_path / "crash.log").start()
    assert "crash" in str(failed.value) and "bad config: PORT" in str(failed.value)


def test_a_process_not_ready_in_time_is_stopped_and_reported(tmp_path: Path) -> None:
    command = _python("slow", "import signal; signal.pause()", ready=LineReady("ok", timeout=0.5))
    process = Process(command, log=tmp_path / "slow.log")
    with pytest.raises(LaunchError):
        process.start()
    assert not process.running


def test_a_child_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    code = (
        "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up'); signal.pause()"
    )
    command = _python("stubborn", code, ready=LineReady("up", timeout=10), stop_timeout=0.5)
    process = Process(command, log=tmp_path / "stubborn.log").start()
    assert process.stop() == "killed"


def test_a_chatty_child_never_blocks_on_a_full_pipe(tmp_path: Path) -> None:
    code = "import sys; sys.stdout.write('x' * 5_000_000); print(); print('done')"
    command = _python("chatty", code, ready=LineReady("done", timeout=20))
    process = Process(command, log=tmp_path / "chatty.log").start()
    process.wait_exited(10)
    assert process.returncode == 0


def test_a_group_stops_everything_it_started_even_when_its_block_fails(tmp_path: Path) -> None:
    started: list[Process] = []
    with pytest.raises(RuntimeError), ProcessGroup(log_dir=tmp_path) as group:
        for n in range(2):
            code = "import signal; print('up'); signal.pause()"
            started.append(group.start(_python(f"p{n}", code, ready=LineReady("up"))))
        raise RuntimeError("the test body failed")
    assert started and not any(process.running for process in started)
    assert {path.name for path in tmp_path.iterdir()} == {"p0.log", "p1.log"}
