"""The client's address behind trusted proxies: every header line counts, the nearest first."""

from __future__ import annotations

from bff.security.proxies import client_ip, forwarded_https, parse_networks

TRUSTED = parse_networks(["127.0.0.0/8", "10.0.0.0/8"])


def _scope(*headers: tuple[str, str], peer: str = "127.0.0.1") -> dict[str, object]:
    raw = [(name.encode(), value.encode()) for name, value in headers]
    return {"type": "http", "client": (peer, 5555), "headers": raw}


def test_the_client_is_the_first_untrusted_hop_from_the_nearest() -> None:
    scope = _scope(("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.1.1.1"))
    assert client_ip(scope, TRUSTED) == "203.0.113.9"


def test_a_proxy_that_adds_its_own_line_is_read_as_the_last_hop() -> None:
    # HAProxy's `option forwardfor` adds a line: the client's own line must not win
    scope = _scope(("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "203.0.113.9"))
    assert client_ip(scope, TRUSTED) == "203.0.113.9"


def test_forwarded_headers_from_an_untrusted_peer_are_ignored() -> None:
    scope = _scope(("x-forwarded-for", "6.6.6.6"), peer="198.51.100.1")
    assert client_ip(scope, TRUSTED) == "198.51.100.1"
    spoofed = _scope(("x-forwarded-proto", "https"), peer="198.51.100.1")
    assert not forwarded_https(spoofed, TRUSTED)


def test_the_nearest_proxy_says_whether_tls_ended_in_front_of_us() -> None:
    assert forwarded_https(_scope(("x-forwarded-proto", "https")), TRUSTED)
    assert not forwarded_https(_scope(("x-forwarded-proto", "https, http")), TRUSTED)
    two_lines = _scope(("x-forwarded-proto", "https"), ("x-forwarded-proto", "http"))
    assert not forwarded_https(two_lines, TRUSTED)
