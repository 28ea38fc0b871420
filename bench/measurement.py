"""One wrk measurement, and the segments of an alternating pair merged into one: sums, and
percentiles from the segments' quantile functions weighted by their request counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MAX_NON2XX_SHARE = 0.01  # more than this and a run measures error pages, not the endpoint

Histogram = list[tuple[float, float]]  # (latency us, requests) points, sorted by latency


@dataclass(frozen=True, kw_only=True)
class WrkResult:
    label: str
    command: str  # redacted
    requests: int
    duration_s: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    raw: Path
    server_cpu: float = 0.0  # cores used by the measured server process during the run
    other_cpu: float = 0.0  # cores used by processes the bench did not start (noise)
    hist: Histogram = field(default_factory=list, repr=False)  # what merging segments needs
    segments: int = 1
    # every response's status, when the script counts them (bench/lua/statuses.lua)
    statuses: Mapping[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def cpu_us(self) -> float:
        """Server CPU per request, in microseconds."""
        return self.server_cpu * self.duration_s / self.requests * 1e6 if self.requests else 0.0

    def rate(self, status: int) -> float:
        """Responses with `status` per second (0 unless the script counted statuses)."""
        return self.statuses.get(status, 0) / self.duration_s if self.duration_s else 0.0

    def other_statuses(self, status: int) -> dict[int, int]:
        """The counted responses whose status is not `status`."""
        return {k: n for k, n in self.statuses.items() if k != status}

    @property
    def failures(self) -> int:
        return self.non2xx + self.socket_errors

    @property
    def valid(self) -> bool:
        return self.requests > 0 and self.failures <= MAX_NON2XX_SHARE * self.requests


def merge(label: str, parts: list[WrkResult]) -> WrkResult:
    """Segments of one measurement as one result (percentiles to a 0.1 % step, 0.01 % above
    p99)."""
    hist = sorted(point for part in parts for point in part.hist)
    duration = sum(p.duration_s for p in parts)
    return WrkResult(
        label=label,
        command=parts[0].command,
        requests=sum(p.requests for p in parts),
        duration_s=duration,
        non2xx=sum(p.non2xx for p in parts),
        socket_errors=sum(p.socket_errors for p in parts),
        p50_ms=percentile(hist, 50) / 1000,
        p75_ms=percentile(hist, 75) / 1000,
        p90_ms=percentile(hist, 90) / 1000,
        p99_ms=percentile(hist, 99) / 1000,
        max_ms=max(p.max_ms for p in parts),
        raw=parts[0].raw,
        server_cpu=sum(p.server_cpu * p.duration_s for p in parts) / duration,
        other_cpu=sum(p.other_cpu * p.duration_s for p in parts) / duration,
        hist=hist,
        segments=len(parts),
        statuses=sum((Counter(p.statuses) for p in parts), Counter()),
    )


def percentile(hist: Histogram, p: float) -> float:
    total = sum(weight for _, weight in hist)
    if not total:
        return 0.0
    seen = 0.0
    for value, weight in hist:
        seen += weight
        if seen >= p / 100 * total - 1e-9:
            return value
    return hist[-1][0]


def read_hist(path: Path, requests: int) -> Histogram:
    """wrk's quantile function, as done.lua writes it, as (latency us, requests) points: each
    quantile stands for the requests between it and the previous one. The file is removed."""
    points: Histogram = []
    if not path.exists():
        return points
    previous = 0.0
    for line in path.read_text().splitlines():
        q, _, value = line.partition(" ")
        points.append((float(value), (float(q) - previous) / 100 * requests))
        previous = float(q)
    path.unlink()
    return points
