"""The targets the report judges, and the verdict on a row: its ratio (or, for D, its rate)
against the target, unless its runs measured error pages or ran beside other work."""

from __future__ import annotations

from dataclasses import dataclass

from bench.measurement import WrkResult

NOISY_CPU = 0.25  # cores used by other processes during a run before the report flags it


@dataclass(frozen=True)
class Target:
    bound: float
    at_least: bool  # the ratio must be at least `bound`; else at most
    unit: str = "x"

    def met(self, ratio: float) -> bool:
        return ratio >= self.bound if self.at_least else ratio <= self.bound

    def __str__(self) -> str:
        return f"{'>=' if self.at_least else '<='} {self.bound}{self.unit}"


A = Target(0.5, at_least=True)  # /bff/user req/s >= 0.5 x BFF /healthz req/s
B = Target(3.0, at_least=False)  # p99 under a login storm <= 3 x idle p99
C = Target(0.8, at_least=True)  # API /me req/s >= 0.8 x API /healthz req/s
# Keycloak's sizing guide: client-credentials grants, and refreshes, per second per vCPU
KEYCLOAK_PER_VCPU = 120
# one worker is one event loop, at most one core: its rate is judged as the rate per core
D = Target(10 * KEYCLOAK_PER_VCPU, at_least=True, unit=" req/s")


# E, against the anchors (the shared bench/ folder's README): ours / theirs, req/s
ME_WARM_VS_EXPRESS = Target(3.0, at_least=True)  # /me, cached claims vs Express's JWT route
ME_WARM_VS_HELLO = Target(0.8, at_least=True)  # /me, cached claims vs bare Starlette /hello
ME_COLD_VS_JWT = Target(1.0, at_least=True)  # /me, a fresh token each vs Starlette + PyJWT
USER_VS_EXPRESS = Target(2.0, at_least=True)  # /bff/user vs Express /dashboard, same store
REDIS_VS_SQLITE = Target(0.8, at_least=True)  # /bff/user on Redis vs on SQLite
HEALTHZ_VS_HELLO = Target(0.8, at_least=True)  # BFF /healthz vs bare Starlette /hello
# G: every RSS sample within this share of the soak's first one
RSS_DRIFT = 0.10


def is_noisy(run: WrkResult) -> bool:
    return run.other_cpu > NOISY_CPU


def verdict(target: Target, ratio: float, runs: tuple[WrkResult, ...]) -> str:
    if not all(run.valid for run in runs):
        return "FAIL (non-2xx/socket errors)"
    noisy = " (noisy: other processes used CPU)" if any(map(is_noisy, runs)) else ""
    return ("PASS" if target.met(ratio) else "FAIL") + noisy
