"""E: our hot endpoints against the anchors, each pair in alternating segments (A B B A …) with
the same wrk command, the servers on the same CPU: the ratios of the targets table.

On the SQLite stack: BFF `/healthz` and bare Starlette `/hello`; `/bff/user` and Express
`/dashboard` on its MemoryStore; API `/me` with a warm token and Express's JWT route (its key
preloaded) and bare Starlette `/hello`; `/me` with a fresh token each and Starlette + PyJWT's
EdDSA `/jwt`. On the Redis stack: `/bff/user` and Express `/dashboard` on connect-redis (the same
redis-server), and the same request to the SQLite stack's BFF, running beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench import targets
from bench.anchors import Baseline, Express
from bench.ours import Ours
from bench.results import AnchorResult
from bench.session import expect_ok
from bench.targets import Target
from bench.wrk import Load, Wrk
from bff.testing.launcher import Process

ME_WARM = "API `GET /me`, valid ES256 token, claims cache warm"
ME_COLD = "API `GET /me`, a fresh ES256 token every request (cold)"
ME_COLD_EDDSA = "API `GET /me`, a fresh EdDSA token every request (cold; BFF_SIGNING_ALG=EdDSA)"
BFF_USER = "BFF `GET /bff/user`"
BFF_HEALTHZ = "BFF `GET /healthz`"


@dataclass(frozen=True)
class Side:
    """One side of a comparison: what it is called, its load, the process that serves it."""

    label: str
    load: Load
    server: Process


def against_sqlite_anchors(
    ours: Ours, express: Express, baseline: Baseline, wrk: Wrk
) -> list[AnchorResult]:
    bff, api = ours.stack.bff, ours.stack.api
    healthz = Side(BFF_HEALTHZ, ours.bff_healthz(), bff)
    user = Side(f"{BFF_USER}, SQLite", ours.bff_user(), bff)
    warm = Side(ME_WARM, ours.api_me_warm(), api)
    cold = Side(ME_COLD, ours.api_me_cold(), api)
    hello = Side("bare Starlette `GET /hello`", baseline.hello(), baseline.process)
    dashboard = Side("Express `GET /dashboard`, MemoryStore", express.dashboard(), express.process)
    jwt_route = Side(
        "Express `GET /api/dashboard-keyobject` (HS256)", express.keyobject(), express.process
    )
    pyjwt = Side("bare Starlette + PyJWT `GET /jwt` (EdDSA)", baseline.jwt(), baseline.process)
    return [
        compare(ours, wrk, healthz, hello, targets.HEALTHZ_VS_HELLO, "bff-healthz"),
        compare(ours, wrk, user, dashboard, targets.USER_VS_EXPRESS, "bff-user-sqlite"),
        compare(ours, wrk, warm, jwt_route, targets.ME_WARM_VS_EXPRESS, "api-me-warm"),
        compare(ours, wrk, warm, hello, targets.ME_WARM_VS_HELLO, "api-me-warm"),
        compare(ours, wrk, cold, pyjwt, targets.ME_COLD_VS_JWT, "api-me-cold"),
    ]


def against_eddsa_anchor(ours: Ours, baseline: Baseline, wrk: Wrk) -> list[AnchorResult]:
    """The cold path with the anchor's algorithm: informational beside the ES256 row."""
    cold = Side(ME_COLD_EDDSA, ours.api_me_cold(), ours.stack.api)
    pyjwt = Side("bare Starlette + PyJWT `GET /jwt` (EdDSA)", baseline.jwt(), baseline.process)
    return [compare(ours, wrk, cold, pyjwt, targets.ME_COLD_VS_JWT, "api-me-cold-eddsa")]


def against_redis_anchors(
    ours: Ours, express: Express, sqlite: Ours | None, wrk: Wrk
) -> list[AnchorResult]:
    user = Side(f"{BFF_USER}, Redis", ours.bff_user(), ours.stack.bff)
    dashboard = Side(
        "Express `GET /dashboard`, connect-redis (the same redis-server)",
        express.dashboard(),
        express.process,
    )
    rows = [compare(ours, wrk, user, dashboard, targets.USER_VS_EXPRESS, "bff-user-redis")]
    if sqlite is not None:  # the SQLite stack still runs beside this one
        same = Side("the same BFF `GET /bff/user` on SQLite", sqlite.bff_user(), sqlite.stack.bff)
        rows.append(compare(ours, wrk, user, same, targets.REDIS_VS_SQLITE, "bff-user-redis"))
    return rows


def compare(
    ours: Ours, wrk: Wrk, side: Side, anchor: Side, target: Target, hot_path: str
) -> AnchorResult:
    for checked in (side.load, anchor.load):
        if checked.script == "plain":  # the cold path's tokens were checked when minted
            expect_ok(checked.url, checked.headers)
    print(f"   E: {side.label} vs {anchor.label}", flush=True)
    measured, theirs = wrk.alternate(
        side.load, anchor.load, server=side.server, other=anchor.server
    )
    return AnchorResult(
        config=ours.stack.config,
        ours_label=side.label,
        anchor_label=anchor.label,
        target=target,
        ours=measured,
        anchor=theirs,
        hot_path=hot_path,
    )
