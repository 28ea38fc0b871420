"""The client's IP: the socket peer, or X-Forwarded-For only when the peer is a trusted proxy."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def client_ip(scope: Scope, trusted: tuple[Network, ...]) -> str:
    client = scope.get("client")
    peer = client[0] if client else ""
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    forwarded = _header(scope, b"x-forwarded-for")
    if not forwarded:
        return peer
    # walk from the nearest hop back; the first address not ours is the client
    hops = [hop.strip() for hop in forwarded.split(",")][-16:]
    for hop in reversed(hops):
        if not _is_ip(hop):
            return peer
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def forwarded_https(scope: Scope, trusted: tuple[Network, ...]) -> bool:
    """TLS ended at a trusted proxy in front of us (HSTS is then due)."""
    client = scope.get("client")
    if not trusted or not client or not _is_trusted(client[0], trusted):
        return False
    # the nearest proxy's word: the last value (a client may send its own first)
    return _header(scope, b"x-forwarded-proto").split(",")[-1].strip().lower() == "https"


def _header(scope: Scope, name: bytes) -> str:
    """Every line of the header, in order, joined as one list (RFC 9110 §5.3): a proxy that adds
    its own line after the client's must be read as the last hop, never the client's first line."""
    values = [
        bytes(value).decode("latin-1") for key, value in scope.get("headers", []) if key == name
    ]
    return ",".join(values)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=1024)  # the same few peers (the proxies) on every request
def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
