"""The served request-head limits, on real processes started by both commands (`make run`'s
Procfile line and the production command): a head over 16 KiB or with too many fields is 431
before the app runs, and a flood of header bytes never stalls the server."""

from __future__ import annotations

import json
import secrets
import time

import httpx

from serving.limits import MAX_HEAD_BYTES, MAX_HEADERS, HeadMeter
from tests.serving.conftest import Served
from tests.serving.rawhttp import connect, exchange, get, read_answer

SEEN_TIMEOUT = 5.0  # for an access-log line to reach the log


def test_a_head_within_the_limits_is_served(served: Served) -> None:
    status, _ = exchange(served.url, get("/healthz", [("X-Pad", "a" * (MAX_HEAD_BYTES - 200))]))
    assert status == 200


def test_a_head_over_16_kib_is_431_in_the_documented_format(served: Served) -> None:
    status, body = exchange(served.url, get("/healthz", [("X-Pad", "a" * MAX_HEAD_BYTES)]))
    assert status == 431
    assert json.loads(body)["error"] == "request_header_fields_too_large"


def test_too_many_header_fields_are_431(served: Served) -> None:
    # Host, the fields, Connection: 101 fields, then 100
    many = [(f"X-{n}", "1") for n in range(MAX_HEADERS - 1)]
    assert exchange(served.url, get("/healthz", many))[0] == 431
    assert exchange(served.url, get("/healthz", many[:-1]))[0] == 200


def test_a_refused_head_never_reaches_the_app(served: Served) -> None:
    refused, answered = secrets.token_hex(8), secrets.token_hex(8)
    big = [("X-Pad", "a" * MAX_HEAD_BYTES)]
    many = [(f"X-{n}", "1") for n in range(MAX_HEADERS)]
    assert exchange(served.url, get(f"/healthz?{refused}", big))[0] == 431
    assert exchange(served.url, get(f"/healthz?{refused}", many))[0] == 431
    assert exchange(served.url, get(f"/healthz?{answered}"))[0] == 200
    # the access line is written when the app answers: the later request's is there, in order
    assert served.process.wait_for_output(answered, SEEN_TIMEOUT)
    assert refused not in served.process.tail(100_000)


def test_a_flood_of_header_bytes_is_cut_short_and_the_server_keeps_answering(
    served: Served,
) -> None:
    started = time.monotonic()
    status, _ = exchange(served.url, get("/healthz", [("X-Flood", "a" * (64 * 1024 * 1024))]))
    assert status == 431
    assert time.monotonic() - started < 5  # refused at 16 KiB, not read to the end
    assert httpx.get(f"{served.url}/healthz", timeout=2).status_code == 200


def test_keep_alive_requests_are_counted_one_head_at_a_time(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        pad = {"X-Pad": "a" * (MAX_HEAD_BYTES // 2)}
        assert [client.get("/healthz", headers=pad).status_code for _ in range(5)] == [200] * 5


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


def test_malformed_and_upgrade_requests_fill_no_log(served: Served) -> None:
    """uvicorn logs a warning for each malformed request and two for each Upgrade header:
    lines anyone could have written by the thousand a second. Neither is logged; a malformed
    request is 400 in the documented format, an Upgrade header is ignored."""
    status, body = exchange(served.url, b"GARBAGE\x01 / HTTP/1.1\r\n\r\n")
    assert status == 400 and json.loads(body)["error"] == "invalid_request"
    marker = secrets.token_hex(8)
    upgrade = [("Connection", "Upgrade"), ("Upgrade", "websocket")]
    with connect(served.url) as conn:
        conn.sendall(get(f"/healthz?{marker}", upgrade, close=False))
        assert read_answer(conn, 2.0).status == 200
    assert served.process.wait_for_output(marker, SEEN_TIMEOUT)  # what came before is in
    log = served.process.tail(100_000)
    assert "Invalid HTTP request" not in log and "upgrade" not in log.lower()
