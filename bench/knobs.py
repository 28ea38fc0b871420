"""The bench's knobs, read from the environment once, by `python -m bench`."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent  # the checkout: where the apps, the CLI and wrk run
# the performance anchors' folder: beside the checkout, or where the shared folder lives
ANCHOR_HOMES = (ROOT.parent / "shared" / "bench", Path("/work/shared/bench"))
OFF = ("", "0", "off", "no", "none")


@dataclass(frozen=True, kw_only=True)
class Knobs:
    duration: int = 10  # seconds per wrk run (and per endpoint of an alternating pair)
    connections: int = 32
    warmup: int = 1  # seconds of the same wrk command before a measured one
    segment: int = 2  # seconds per segment of an alternating pair (A B B A …)
    cold_tokens: int = 20_000  # keep it above the API's claims cache
    # refresh families for D's measured rotation run; 0: sized from its client-credentials run
    refresh_tokens: int = 0
    profile: int = 5  # seconds of py-spy on the BFF for each D row that misses its goal (0: none)
    results: Path = BENCH / "results"  # raw wrk output
    only: frozenset[str] = frozenset()  # benchmarks to run (empty: all): a quick look at one
    report: Path = BENCH / "REPORT.md"
    pin: bool = True  # servers on CPU 1, wrk and redis-server on CPU 0 (as the anchors' run.sh)
    anchors: Path | None = None  # the shared bench/ folder; None: no anchor comparisons
    anchors_state: Path = Path(tempfile.gettempdir()) / "bench-anchors"  # their installs
    workers: int = 2  # the production row's workers per app (0: no such row)
    soak: int = 600  # seconds of the RSS soak after its warm-up (0: no soak)
    soak_warmup: int = 60  # seconds of load before the soak's first RSS sample
    soak_interval: int = 5  # seconds between RSS samples

    @property
    def segments(self) -> int:
        """Segments per endpoint of an alternating pair."""
        return max(1, self.duration // self.segment)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Knobs:
        return cls(
            duration=int(env.get("BENCH_DURATION", cls.duration)),
            connections=int(env.get("BENCH_CONNECTIONS", cls.connections)),
            warmup=int(env.get("BENCH_WARMUP", cls.warmup)),
            segment=int(env.get("BENCH_SEGMENT", cls.segment)),
            cold_tokens=int(env.get("BENCH_COLD_TOKENS", cls.cold_tokens)),
            refresh_tokens=int(env.get("BENCH_REFRESH_TOKENS", cls.refresh_tokens)),
            profile=int(env.get("BENCH_PROFILE", cls.profile)),
            results=Path(env.get("BENCH_RESULTS", str(cls.results))),
            only=frozenset(name for name in env.get("BENCH_ONLY", "").upper().split(",") if name),
            report=Path(env.get("BENCH_REPORT", str(cls.report))),
            pin=env.get("BENCH_PIN", "1").lower() not in OFF,
            anchors=anchor_home(env),
            anchors_state=Path(env.get("ANCHORS_STATE", str(cls.anchors_state))),
            workers=int(env.get("BENCH_WORKERS", cls.workers)),
            soak=int(env.get("BENCH_SOAK", cls.soak)),
            soak_warmup=int(env.get("BENCH_SOAK_WARMUP", cls.soak_warmup)),
            soak_interval=int(env.get("BENCH_SOAK_INTERVAL", cls.soak_interval)),
        )


def anchor_home(env: Mapping[str, str]) -> Path | None:
    """BENCH_ANCHORS names the folder (off: none); unset, the first of ANCHOR_HOMES that exists."""
    named = env.get("BENCH_ANCHORS")
    if named is not None:
        return None if named.strip().lower() in OFF else Path(os.path.expanduser(named))
    return next((home for home in ANCHOR_HOMES if (home / "anchors").is_dir()), None)
