"""The three benchmarks, each on a running stack with the benchmark session, each returning its
result. A and C compare two endpoints in alternating segments; B measures the same endpoint idle
and then beside a login storm."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

from bench.errors import HarnessError
from bench.measurement import WrkResult
from bench.results import ApiReadResult, SessionReadResult, StormResult, fmt_counts
from bench.session import BenchSession, LoginForm, bff_token, expect_ok, wait_api_accepts
from bench.stack import Stack
from bench.storm import StormStats, login_storm, storm_forms
from bench.tokens import mint_tokens, write_token_file
from bench.wrk import Load, Wrk

STORM_LEAD = 1.0  # seconds the first burst is queued at the BFF before wrk starts
STORM_DRAIN = 30.0  # for the storm to wind down once wrk has ended


def session_read(st: Stack, session: BenchSession, wrk: Wrk) -> SessionReadResult:
    """A: `/bff/user` (session lookup, CSRF header, JSON) against the same app's `/healthz`."""
    user = Load(
        label=f"{st.config.key}-bff-user", url=f"{st.bff_url}/bff/user", headers=session.headers
    )
    expect_ok(user.url, user.headers)
    healthz, measured = wrk.alternate(
        Load(label=f"{st.config.key}-bff-healthz", url=f"{st.bff_url}/healthz"),
        user,
        server=st.bff,
    )
    return SessionReadResult(config=st.config, healthz=healthz, user=measured)


def api_read(st: Stack, session: BenchSession, wrk: Wrk, scratch: Path) -> ApiReadResult:
    """C: `/me` with one token (its verified claims cached) against `/healthz`, then with a
    fresh token on every request, more tokens than the API's claims cache holds."""
    token = bff_token(st, session)
    ready = wait_api_accepts(st, token)
    notes: list[str] = []
    if set(ready.seen) - {200}:
        notes.append(
            f"{st.config.title}: the API answered {fmt_counts(ready.seen)} to GET /me with a "
            f"valid token before its first 200 ({ready.after_s:.1f} s after start)."
        )
    me = f"{st.api_url}/me"
    healthz, warm = wrk.alternate(
        Load(label=f"{st.config.key}-api-healthz", url=f"{st.api_url}/healthz"),
        Load(
            label=f"{st.config.key}-api-me-warm",
            url=me,
            headers={"Authorization": f"Bearer {token}"},
        ),
        server=st.api,
    )
    minted_at = time.monotonic()
    tokens = mint_tokens(st.env, session, wrk.knobs.cold_tokens)
    mint_s = time.monotonic() - minted_at
    token_file = scratch / f"{st.config.key}-tokens.txt"
    write_token_file(token_file, tokens)
    expect_ok(me, {"Authorization": f"Bearer {tokens[-1]}"})  # the API accepts our minting
    cold = wrk.run(
        Load(
            label=f"{st.config.key}-api-me-cold", url=me, script="tokens", args=(str(token_file),)
        ),
        server=st.api,
    )
    return ApiReadResult(
        config=st.config,
        healthz=healthz,
        warm=warm,
        cold=cold,
        tokens=len(tokens),
        mint_s=mint_s,
        notes=tuple(notes),
    )


def storm_latency(st: Stack, session: BenchSession, wrk: Wrk) -> StormResult:
    """B: `/bff/user`'s p99 idle, then while bursts of logins keep the argon2 worker busy."""
    user = Load(
        label=f"{st.config.key}-bff-user-idle",
        url=f"{st.bff_url}/bff/user",
        headers=session.headers,
    )
    expect_ok(user.url, user.headers)
    forms = storm_forms(st)
    wrk.warm(user)
    idle = wrk.run(user, server=st.bff)
    beside = replace(user, label=f"{st.config.key}-bff-user-storm")
    loaded, logins = asyncio.run(_beside_storm(st, wrk, beside, forms))
    notes = []
    if logins.completed and set(logins.statuses) != {"303"}:
        notes.append(
            f"{st.config.title}: storm logins answered {fmt_counts(logins.statuses)} "
            "(303 is a successful login)."
        )
    if not logins.statuses.get("303"):
        notes.append(
            f"{st.config.title}: no storm login completed inside the {wrk.knobs.duration} s "
            f"window ({logins.cancelled} in flight when it ended): the argon2 queue was still "
            "draining."
        )
    return StormResult(config=st.config, idle=idle, storm=loaded, logins=logins, notes=tuple(notes))


async def _beside_storm(
    st: Stack, wrk: Wrk, load: Load, forms: list[LoginForm]
) -> tuple[WrkResult, StormStats]:
    stats = StormStats()
    stop = asyncio.Event()
    storm = asyncio.create_task(login_storm(st, forms, stats, stop))
    try:
        await asyncio.sleep(STORM_LEAD)
        if storm.done():
            storm.result()
            raise HarnessError("the login storm ended before wrk started")
        result = await wrk.run_async(load, server=st.bff)
    finally:
        stop.set()
        try:
            await asyncio.wait_for(storm, timeout=STORM_DRAIN)
        except TimeoutError:
            storm.cancel()
    return result, stats
