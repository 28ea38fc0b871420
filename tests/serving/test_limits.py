"""The served request-head limits, on a real uvicorn process started as `make run` starts it: a
head over 16 KiB or with too many fields is 431 before the app runs, and a flood of header bytes
never stalls the server."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bff.testing.launcher import ProcessGroup, free_port
from bff.testing.servers import uvicorn_app
from serving.limits import MAX_HEAD_BYTES, MAX_HEADERS, HeadMeter

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    var = tmp_path_factory.mktemp("served")
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "API_VAR_DIR": str(var), "API_REVOCATION_SECRET": "unused"}
    with ProcessGroup(log_dir=var) as group:
        group.start(uvicorn_app("api", port=port, env=env, cwd=ROOT))
        yield f"http://127.0.0.1:{port}"


def _exchange(url: str, head: bytes, *, chunk: int = 65536) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        try:
            for start in range(0, len(head), chunk):
                conn.sendall(head[start : start + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-head: the answer is already waiting
        answer = b""
        while chunk_read := conn.recv(65536):
            answer += chunk_read
    status = int(answer.split(b" ", 2)[1])
    return status, answer.split(b"\r\n\r\n", 1)[1]


def _get(headers: list[tuple[str, str]]) -> bytes:
    lines = [f"{name}: {value}" for name, value in [("Host", "api.test"), *headers]]
    return (
        "GET /healthz HTTP/1.1\r\n" + "\r\n".join(lines) + "\r\nConnection: close\r\n\r\n"
    ).encode()


def test_a_head_within_the_limits_is_served(api_url: str) -> None:
    status, _ = _exchange(api_url, _get([("X-Pad", "a" * (MAX_HEAD_BYTES - 200))]))
    assert status == 200


def test_a_head_over_16_kib_is_431_in_the_documented_format(api_url: str) -> None:
    status, body = _exchange(api_url, _get([("X-Pad", "a" * MAX_HEAD_BYTES)]))
    assert status == 431
    assert json.loads(body)["error"] == "request_header_fields_too_large"


def test_too_many_header_fields_are_431(api_url: str) -> None:
    status, _ = _exchange(api_url, _get([(f"X-{n}", "1") for n in range(MAX_HEADERS + 1)]))
    assert status == 431
    status, _ = _exchange(api_url, _get([(f"X-{n}", "1") for n in range(MAX_HEADERS - 5)]))
    assert status == 200


def test_a_flood_of_header_bytes_is_cut_short_and_the_server_keeps_answering(
    api_url: str,
) -> None:
    started = time.monotonic()
    status, _ = _exchange(api_url, _get([("X-Flood", "a" * (64 * 1024 * 1024))]))
    assert status == 431
    assert time.monotonic() - started < 5  # refused at 16 KiB, not read to the end
    assert httpx.get(f"{api_url}/healthz", timeout=2).status_code == 200


def test_a_body_sent_with_a_small_head_does_not_count_towards_it() -> None:
    meter = HeadMeter()
    head = b"POST /notes HTTP/1.1\r\nHost: api.test\r\nContent-Length: 100000\r\n\r\n"
    assert meter.add(head + b"x" * 100_000)
    assert meter.bytes == len(head) and meter.lines == 4


def test_a_head_end_split_across_reads_is_found() -> None:
    meter = HeadMeter()
    head = b"GET / HTTP/1.1\r\nHost: api.test\r\n\r\n"
    for n in range(len(head)):
        assert meter.add(head[n : n + 1])
    assert meter.bytes == len(head)
    assert meter.add(b"x" * 100_000)  # the body that follows, in whatever reads
    assert meter.bytes == len(head)


def test_the_meter_refuses_past_either_limit() -> None:
    assert not HeadMeter().add(b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD_BYTES)
    many = b"GET / HTTP/1.1\r\n" + b"X: 1\r\n" * (MAX_HEADERS + 1) + b"\r\n"
    assert not HeadMeter().add(many)


def test_keep_alive_requests_are_counted_one_head_at_a_time(api_url: str) -> None:
    with httpx.Client(base_url=api_url) as client:
        pad = {"X-Pad": "a" * (MAX_HEAD_BYTES // 2)}
        assert [client.get("/healthz", headers=pad).status_code for _ in range(5)] == [200] * 5
