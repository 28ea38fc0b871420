"""The report's sections for the targets against the anchors: the targets table (each row a ratio
from this run, both absolute figures, PASS or FAIL), E's runs, H's per-request costs, F's
production workers and G's RSS soak."""

from __future__ import annotations

from bench import costs, targets
from bench.measurement import WrkResult
from bench.profile import Place
from bench.results import HotPath, Results, RssSeries, SoakResult
from bench.storm import STORM_SIZE

Lines = list[str]
RUN_COLUMNS = "req/s | p50 ms | p99 ms | max ms | non-2xx | server CPU | other CPU"
# the costs of H's overview, as the issue names them (the rest are in each hot path's table)
OVERVIEW = (
    costs.SERVER,
    costs.FRAMEWORK,
    costs.MIDDLEWARE,
    costs.COOKIES,
    costs.SESSION,
    costs.TOKEN,
    costs.JSON,
)


def targets_table(results: Results) -> Lines:
    lines = [
        "## Targets",
        "",
        "Each ratio is from this run: ours and the anchor's in alternating segments on the same "
        "CPU with the same wrk command (see E); both absolute figures are shown. A row that "
        "missed names the profile (H) that shows where its time goes.",
        "",
        "| target | measured | bound | ratio | result |",
        "|---|---|---|---|---|",
    ]
    hot = {path.key: path for path in results.h}
    for e in results.e:
        explained = ""
        if not e.target.met(e.ratio) and e.hot_path in hot:
            explained = f"; where its time goes: H, {hot[e.hot_path].title}"
        extra = " (informational)" if e.config.informational else ""
        lines.append(
            f"| {e.ours_label} vs {e.anchor_label} | {e.ours.rps:.0f} / {e.anchor.rps:.0f} "
            f"req/s | {e.target} | {e.ratio:.2f}x | "
            f"{targets.verdict(e.target, e.ratio, e.runs)}{extra}{explained} |"
        )
    if not results.e:
        lines.append(f"| against the anchors (E) | not measured: {anchors_state(results)} | | | |")
    for b in results.b:
        if not b.config.informational:
            lines.append(
                f"| p99 of BFF `GET /bff/user` during a {STORM_SIZE}-login storm vs idle, "
                f"{b.config.title} | {b.storm.p99_ms:.2f} / {b.idle.p99_ms:.2f} ms | {targets.B} "
                f"| {b.ratio:.2f}x | {targets.verdict(targets.B, b.ratio, b.runs)} |"
            )
    for f in results.f:
        for endpoint, run in f.rows:
            lines.append(
                f"| production configuration ({f.config.workers} workers per app, unpinned): "
                f"{endpoint} | {run.rps:.0f} req/s | report only | | "
                f"{'measured' if run.valid else 'FAIL (non-2xx/socket errors)'} |"
            )
    for g in results.g:
        for series in g.series:
            lines.append(
                f"| {series.name.upper()} RSS over a {g.seconds} s soak at load (after "
                f"{g.warmup} s) | {mib(series.start)} → {mib(series.end)} MiB (min "
                f"{mib(series.low)}, max {mib(series.high)}) | within ±{targets.RSS_DRIFT:.0%} | "
                f"{series.drift:+.1%} | {soak_verdict(g, series)} |"
            )
    return lines


def anchors_state(results: Results) -> str:
    if results.knobs.only and "E" not in results.knobs.only:
        return "E was not chosen (BENCH_ONLY)"
    return f"the anchors' folder: {results.anchors or 'not found'}"


def anchor_details(results: Results) -> Lines:
    lines = ["## E. Against the anchors", ""]
    if not results.e:
        return [*lines, f"Not measured: {anchors_state(results)}."]
    lines += [
        f"Anchors from `{results.anchors}` (installed into `$ANCHORS_STATE`, "
        f"`{results.knobs.anchors_state}`; nothing of them is copied into the project). "
        f"Pinning: {results.pinning}. Each pair runs as alternating {results.knobs.segment} s "
        f"segments, {results.knobs.segments * results.knobs.segment} s per side, after a "
        f"{results.knobs.warmup} s warm-up of each; one worker each, no access log on either "
        "side. The cold `/me` side goes on through its token file across segments "
        "(`tokens.lua` keeps its position), so no segment repeats a token the claims cache "
        "may still hold.",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {fact} |" for name, fact in results.anchor_facts.items()),
        "",
        f"| configuration | endpoint | {RUN_COLUMNS} | ratio | result |",
        "|---" * (RUN_COLUMNS.count("|") + 5) + "|",
    ]
    for e in results.e:
        verdict = targets.verdict(e.target, e.ratio, e.runs)
        lines.append(
            f"| {e.config.title} | {e.ours_label} | {cells(e.ours)} | {e.ratio:.2f}x | {verdict} |"
        )
        lines.append(f"| | {e.anchor_label} | {cells(e.anchor)} | | |")
    return lines


def hot_path_details(results: Results) -> Lines:
    if not results.h:
        return []
    lines = [
        "## H. Where the time goes (µs of server CPU per request)",
        "",
        "py-spy samples the server's event loop during a run of its own, each sample charged to "
        "what the request paid for (`bench/costs.py`: its innermost frame that says what the "
        "work is for; the standard library, Starlette's header structures and the clock count "
        "for their caller). The µs are the unsampled run's server CPU per request (E's, when it "
        "ran) times each share: py-spy slows the run it samples.",
        "",
        "| hot path | total | " + " | ".join(short(c) for c in OVERVIEW) + " |",
        "|---" * (len(OVERVIEW) + 2) + "|",
    ]
    for path in results.h:
        if path.profile.error or not path.profile.samples:
            lines.append(f"| {path.title} | no profile: {path.profile.error or 'no samples'} |")
            continue
        spent = us_by_cost(path)
        lines.append(
            f"| {path.title} | {path.measured.cpu_us:.0f} | "
            + " | ".join(f"{spent.get(c, 0.0):.0f}" for c in OVERVIEW)
            + " |"
        )
    for path in results.h:
        lines += hot_path_table(path)
    return lines


def hot_path_table(path: HotPath) -> Lines:
    found = path.profile
    if found.error or not found.samples or found.run is None:
        return []
    cpu_us = path.measured.cpu_us
    return [
        "",
        f"### {path.title}",
        "",
        f"{found.samples} samples over {found.run.duration_s:.0f} s (at {found.run.rps:.0f} "
        f"req/s, sampled); the unsampled run: {path.measured.rps:.0f} req/s, {cpu_us:.0f} µs "
        f"of server CPU per request ({path.measured.server_cpu:.2f} cores).",
        "",
        "| cost | µs per request | share | hottest function there (its share) |",
        "|---|---|---|---|",
        *(
            f"| {place.where} | {found.share(place) * cpu_us:.1f} | {found.share(place):.1%} | "
            f"{hottest(found.samples, place)} |"
            for place in found.costs
        ),
    ]


def us_by_cost(path: HotPath) -> dict[str, float]:
    found = path.profile
    return {p.where: found.share(p) * path.measured.cpu_us for p in found.costs}


def workers_details(results: Results) -> Lines:
    if not results.f:
        return []
    lines = [
        "## F. The production configuration",
        "",
        "Each app with several uvicorn workers, nothing pinned (wrk included): req/s only, "
        "beside this run's one pinned worker (E's run, else A's and C's) for scale.",
        "",
        f"| configuration | endpoint | {RUN_COLUMNS} | one worker req/s | scale |",
        "|---" * (RUN_COLUMNS.count("|") + 5) + "|",
    ]
    for f in results.f:
        for endpoint, run in f.rows:
            one = f.one_worker.get(endpoint, 0.0)
            scale = f"{run.rps / one:.2f}x" if one else "–"
            lines.append(f"| {f.config.title} | {endpoint} | {cells(run)} | {one:.0f} | {scale} |")
    return lines


def soak_details(results: Results) -> Lines:
    if not results.g:
        return []
    lines = ["## G. RSS soak", ""]
    for g in results.g:
        lines += [
            f"{g.config.title}: both apps loaded together for {g.warmup} s of warm-up and "
            f"{g.seconds} s of soak by two wrk runs of {results.knobs.connections // 2} "
            "connections each; VmRSS from /proc every "
            f"{results.knobs.soak_interval} s after the warm-up. Target: every sample within "
            f"±{targets.RSS_DRIFT:.0%} of the first.",
            "",
            "| process | after warm-up MiB | start | end | min | max | furthest from start | "
            "samples | result |",
            "|---|---|---|---|---|---|---|---|---|",
            *(rss_row(g, series) for series in g.series),
            "",
            f"| load | {RUN_COLUMNS} |",
            "|---" * (RUN_COLUMNS.count("|") + 2) + "|",
            *(f"| {what} | {cells(run)} |" for what, run in g.loads),
        ]
    return lines


def rss_row(g: SoakResult, series: RssSeries) -> str:
    return (
        f"| {series.name} | {mib(series.warm_kib)} | {mib(series.start)} | {mib(series.end)} | "
        f"{mib(series.low)} | {mib(series.high)} | {series.drift:+.1%} | "
        f"{len(series.samples)} | {soak_verdict(g, series)} |"
    )


def soak_verdict(g: SoakResult, series: RssSeries) -> str:
    if len(series.samples) < 2:
        return "FAIL (too few samples)"
    return targets.verdict(
        targets.Target(targets.RSS_DRIFT, at_least=False), abs(series.drift), g.runs
    )


def short(cost: str) -> str:
    return cost.split(":")[0]


def hottest(samples: int, place: Place) -> str:
    if not place.hottest or not samples:
        return ""
    return f"`{place.hottest}` ({place.hottest_samples / samples:.1%})"


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"


def cells(run: WrkResult) -> str:
    return (
        f"{run.rps:.0f} | {run.p50_ms:.2f} | {run.p99_ms:.2f} | {run.max_ms:.2f} | "
        f"{run.failures} | {run.server_cpu:.2f} | {run.other_cpu:.2f}"
    )
