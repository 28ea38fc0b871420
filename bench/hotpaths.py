"""H: where each hot path's time goes, in µs per request: BFF `/healthz` and `/bff/user` (SQLite,
Redis), API `/me` with a warm and with a cold token. py-spy samples the server during a run of
its own (sampling slows the server), and each sample is charged to what the request paid for
(bench.costs); the µs come from an unsampled run of the same load, E's when it ran."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from bench.comparisons import BFF_HEALTHZ, BFF_USER, ME_COLD, ME_COLD_EDDSA, ME_WARM
from bench.measurement import WrkResult
from bench.ours import Ours
from bench.profile import profile
from bench.results import HotPath
from bench.wrk import Load, Wrk
from bff.testing.launcher import Process


def hot_paths(
    ours: Ours, wrk: Wrk, scratch: Path, measured: Mapping[str, WrkResult]
) -> list[HotPath]:
    """The stack's hot paths profiled; `measured` holds unsampled runs by hot path key."""
    if wrk.knobs.profile <= 0:
        return []
    st = ours.stack
    user = (
        f"bff-user-{st.config.store}",
        f"{BFF_USER}, {st.config.title}",
        ours.bff_user(),
        st.bff,
    )
    paths: list[tuple[str, str, Load, Process]] = {
        "sqlite": [
            ("bff-healthz", BFF_HEALTHZ, ours.bff_healthz(), st.bff),
            user,
            ("api-me-warm", ME_WARM, ours.api_me_warm(), st.api),
            ("api-me-cold", ME_COLD, ours.api_me_cold(), st.api),
        ],
        "redis": [user],
        "eddsa": [("api-me-cold-eddsa", ME_COLD_EDDSA, ours.api_me_cold(), st.api)],
    }.get(st.config.key, [])
    found = []
    for key, title, load, server in paths:
        print(f"   H: where the time goes, {title}", flush=True)
        run = measured.get(key) or _measured(wrk, load, server)
        beside = [process for process in st.processes if process is not server]
        sampled = replace(load, label=f"{load.label}-hot")
        spied = profile(wrk, sampled, server, beside=beside, what=title, scratch=scratch)
        found.append(HotPath(config=st.config, key=key, title=title, measured=run, profile=spied))
    return found


def _measured(wrk: Wrk, load: Load, server: Process) -> WrkResult:
    wrk.warm(load)
    return wrk.run(load, server=server)
