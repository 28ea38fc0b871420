"""The Redis commands a run made the BFF send (each one a round trip), from the bench's own
redis-server's `INFO commandstats`; nothing for a stack without Redis."""

from __future__ import annotations

from collections import Counter

import redis

from bench.stack import Stack

INFO_TIMEOUT = 5.0


def redis_calls(st: Stack) -> Counter[str]:
    """Calls per command since the server started (our own INFO calls included)."""
    if st.redis is None:
        return Counter()
    url = st.env["BFF_SESSION_STORE"]
    with redis.Redis.from_url(url, socket_timeout=INFO_TIMEOUT) as client:
        stats = client.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})
