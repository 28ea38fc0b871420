"""The four benchmarks, each on a running stack, each returning its result. A and C compare two
endpoints in alternating segments; B measures the same endpoint idle and then beside a login
storm; D measures the OAuth token endpoint's two hot grants beside `/healthz`."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

from bench import targets
from bench.clients import (
    CLIENT_CREDENTIALS,
    SCOPE,
    TOKEN_PATH,
    BenchClients,
    register_clients,
    request_token,
)
from bench.commands import redis_calls
from bench.errors import HarnessError
from bench.families import RefreshSupply
from bench.measurement import WrkResult
from bench.profile import Profile, profile
from bench.results import (
    ApiReadResult,
    SessionReadResult,
    StormResult,
    TokenGrantResult,
    fmt_counts,
)
from bench.session import BenchSession, LoginForm, bff_token, expect_ok, wait_api_accepts
from bench.stack import Stack
from bench.storm import StormStats, login_storm, storm_forms
from bench.tokens import mint_tokens, write_token_file
from bench.wrk import Load, Wrk

STORM_LEAD = 1.0  # seconds the first burst is queued at the BFF before wrk starts
STORM_DRAIN = 30.0  # for the storm to wind down once wrk has ended
REFRESH_MARGIN = 1.5  # refresh tokens for this many times the rotations a run could make
MIN_REFRESH_TOKENS = 1000


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


def token_grants(st: Stack, wrk: Wrk, scratch: Path) -> TokenGrantResult:
    """D: `POST /oauth/token` with client credentials, then with a refresh rotation per request
    (a distinct live token each), on the one worker, beside the same process's `/healthz`."""
    key, knobs = st.config.key, wrk.knobs
    clients = register_clients(st)
    request_token(st, CLIENT_CREDENTIALS, clients.service_headers)
    supply = RefreshSupply(st.env, clients.app_id, (SCOPE,), scratch)
    if "refresh_token" not in request_token(st, clients.refresh_form(supply.take(1)[0]), {}):
        raise HarnessError("precondition: a refresh rotation answered no new refresh token")
    grant = Load(
        label=f"{key}-oauth-client-credentials",
        url=f"{st.bff_url}{TOKEN_PATH}",
        script="form",
        args=(urlencode(CLIENT_CREDENTIALS),),
        headers=clients.service_headers,
    )
    healthz, _ = _measured(
        st, wrk, Load(label=f"{key}-bff-healthz-oauth", url=f"{st.bff_url}/healthz")
    )
    granted, grant_calls = _measured(st, wrk, grant)
    # a rotation is a client-credentials grant plus grant-record writes: it is no faster
    tokens = knobs.refresh_tokens or _refresh_tokens(granted.rps, knobs.duration)
    refresh = _refresh_load(st, clients, supply.file(f"{key}-refresh", tokens))
    warm = None
    if knobs.warmup > 0:
        warm_file = supply.file(f"{key}-refresh-warm", _refresh_tokens(granted.rps, knobs.warmup))
        warm = _refresh_load(st, clients, warm_file)
    rotated, rotation_calls = _measured(st, wrk, refresh, warm=warm)
    grant_profile = rotation_profile = None
    if _missed(wrk, granted):
        grant_profile = _profile(st, wrk, grant, "client credentials", scratch)
    if _missed(wrk, rotated):
        more = supply.file(f"{key}-refresh-profile", _refresh_tokens(rotated.rps, knobs.profile))
        again = _refresh_load(st, clients, more)
        rotation_profile = _profile(st, wrk, again, "refresh rotation", scratch)
    exhausted = rotated.requests + knobs.connections >= tokens
    return TokenGrantResult(
        config=st.config,
        healthz=healthz,
        client_credentials=granted,
        refresh=rotated,
        refresh_tokens=tokens,
        exhausted=exhausted,
        grant_calls=grant_calls,
        rotation_calls=rotation_calls,
        families=supply.started,
        start_s=supply.seconds,
        grant_profile=grant_profile,
        rotation_profile=rotation_profile,
        notes=_grant_notes(st, granted, rotated, exhausted, (grant_profile, rotation_profile)),
    )


def _measured(
    st: Stack, wrk: Wrk, load: Load, *, warm: Load | None = None
) -> tuple[WrkResult, Counter[str]]:
    """A warm-up (of `warm`, else of the same load), then the measured run, and the Redis
    commands sent meanwhile."""
    wrk.warm(warm or load)
    before = redis_calls(st)
    run = wrk.run(load, server=st.bff)
    return run, redis_calls(st) - before


def _refresh_tokens(rps: float, seconds: int) -> int:
    return max(MIN_REFRESH_TOKENS, math.ceil(rps * seconds * REFRESH_MARGIN))


def _refresh_load(st: Stack, clients: BenchClients, tokens: Path) -> Load:
    """Rotations as the public client, with the tokens of a file of their own."""
    return Load(
        label=f"{st.config.key}-oauth-refresh",
        url=f"{st.bff_url}{TOKEN_PATH}",
        script="refresh",
        args=(str(tokens), clients.app_id),
    )


def _missed(wrk: Wrk, run: WrkResult) -> bool:
    """Whether a D run missed the goal and is to be profiled."""
    return wrk.knobs.profile > 0 and not targets.D.met(run.rate(200))


def _profile(st: Stack, wrk: Wrk, load: Load, what: str, scratch: Path) -> Profile:
    beside = [process for process in st.processes if process is not st.bff]
    return profile(wrk, load, st.bff, beside=beside, what=what, scratch=scratch)


def _grant_notes(
    st: Stack,
    granted: WrkResult,
    rotated: WrkResult,
    exhausted: bool,
    profiles: tuple[Profile | None, ...],
) -> tuple[str, ...]:
    notes = []
    for what, run in (("client-credentials grants", granted), ("refresh rotations", rotated)):
        if others := run.other_statuses(200):
            notes.append(
                f"{st.config.title}: {what} answered {fmt_counts(others)} besides 200 (counted "
                "as no grant): 400 is a refused grant (for a refresh, a token unknown or used "
                "twice), 401 a failed client authentication, 429 its throttle."
            )
    if exhausted:
        notes.append(
            f"{st.config.title}: wrk may have run out of refresh tokens and stopped early, so "
            "the rotation rate is a floor: raise BENCH_REFRESH_TOKENS."
        )
    notes += [
        f"{st.config.title}: no profile of {p.what}: {p.error}" for p in profiles if p and p.error
    ]
    return tuple(notes)
