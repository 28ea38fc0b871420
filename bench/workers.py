"""F: the production configuration, several uvicorn workers per app on every CPU (nothing
pinned, wrk included), loaded on the same endpoints as E: req/s only, beside the one pinned
worker's figures of this run for scale."""

from __future__ import annotations

from collections.abc import Mapping

from bench.comparisons import BFF_HEALTHZ, BFF_USER, ME_COLD, ME_WARM
from bench.ours import Ours
from bench.results import WorkersResult
from bench.wrk import Wrk


def production_workers(ours: Ours, wrk: Wrk, one_worker: Mapping[str, float]) -> WorkersResult:
    st = ours.stack
    rows = []
    for endpoint, load, server in (
        (BFF_HEALTHZ, ours.bff_healthz(), st.bff),
        (f"{BFF_USER}, SQLite", ours.bff_user(), st.bff),
        (ME_WARM, ours.api_me_warm(), st.api),
        (ME_COLD, ours.api_me_cold(), st.api),
    ):
        print(f"   F: {endpoint}, {st.config.workers} workers", flush=True)
        wrk.warm(load)
        rows.append((endpoint, wrk.run(load, server=server)))
    return WorkersResult(config=st.config, rows=tuple(rows), one_worker=dict(one_worker))
