"""The stack configurations the bench measures, and which benchmarks run on each. The argon2
parameters come from the BFF's own settings: its defaults, and the floor it accepts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bff.settings import ARGON2_MIN_MEMORY_KIB, ARGON2_MIN_TIME_COST, Settings


@dataclass(frozen=True, kw_only=True)
class Argon2:
    time_cost: int
    memory_kib: int

    @property
    def env(self) -> dict[str, str]:
        return {
            "BFF_ARGON2_TIME_COST": str(self.time_cost),
            "BFF_ARGON2_MEMORY_KIB": str(self.memory_kib),
        }

    @property
    def label(self) -> str:
        return f"argon2 t={self.time_cost} m={self.memory_kib // 1024}MiB"


DEFAULT_ARGON2 = Argon2(time_cost=Settings.argon2_time_cost, memory_kib=Settings.argon2_memory_kib)
FLOOR_ARGON2 = Argon2(time_cost=ARGON2_MIN_TIME_COST, memory_kib=ARGON2_MIN_MEMORY_KIB)


# A-D: the BFF and API against themselves; E: against the anchors; F: the production workers;
# G: the RSS soak; H: where each hot path's time goes
Benchmark = Literal["A", "B", "C", "D", "E", "F", "G", "H"]


@dataclass(frozen=True, kw_only=True)
class Config:
    key: str  # names its work dir and its wrk runs
    store: Literal["sqlite", "redis"]
    argon2: Argon2
    benchmarks: tuple[Benchmark, ...]  # the ones run on it (the runner orders them)
    informational: bool = False  # its B row is context, not the target's configuration
    note: str = ""
    workers: int = 1  # uvicorn workers per app
    signing_alg: str = ""  # BFF_SIGNING_ALG; empty: the BFF's default
    pinned: bool = True  # on the run's server CPU (when the run pins); else on every CPU

    @property
    def title(self) -> str:
        store = {"sqlite": "SQLite", "redis": "Redis"}[self.store]
        workers = f", {self.workers} workers" if self.workers > 1 else ""
        return (
            f"{store} store, {self.argon2.label}{workers}{f' ({self.note})' if self.note else ''}"
        )


SQLITE = Config(
    key="sqlite", store="sqlite", argon2=DEFAULT_ARGON2, benchmarks=("A", "B", "C", "D", "E", "H")
)
REDIS = Config(
    key="redis", store="redis", argon2=DEFAULT_ARGON2, benchmarks=("A", "B", "D", "E", "H")
)
# E's cold path with the algorithm of the anchor it is compared with (the default is ES256)
EDDSA = Config(
    key="eddsa",
    store="sqlite",
    argon2=DEFAULT_ARGON2,
    benchmarks=("E", "H"),
    signing_alg="EdDSA",
    informational=True,  # the targets name ES256; this row compares like with like
    note="EdDSA access tokens",
)
# run side by side (E compares the two BFFs), their B storms last
SIDE_BY_SIDE = (SQLITE, REDIS, EDDSA)
# then each on its own
ALONE = (
    Config(
        key="sqlite-floor",
        store="sqlite",
        argon2=FLOOR_ARGON2,
        benchmarks=("B",),
        informational=True,
        note="OWASP floor",
    ),
    Config(
        key="workers",
        store="sqlite",
        argon2=DEFAULT_ARGON2,
        benchmarks=("F",),
        workers=2,  # replaced by BENCH_WORKERS
        pinned=False,  # two workers want both CPUs, as in production
        note="production",
    ),
    Config(key="soak", store="sqlite", argon2=DEFAULT_ARGON2, benchmarks=("G",), note="soak"),
)
CONFIGS = (*SIDE_BY_SIDE, *ALONE)
