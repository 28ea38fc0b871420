"""bench/REPORT.md from a run's results: one function per section, assembled by `render`."""

from __future__ import annotations

import shlex
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from urllib.parse import urlencode

from api.authentication import CACHE_SIZE as API_CLAIMS_CACHE
from bench import profile, report_targets, targets
from bench.clients import CLIENT_CREDENTIALS, SCOPE
from bench.configs import DEFAULT_ARGON2, FLOOR_ARGON2, Argon2, Config
from bench.knobs import Knobs
from bench.measurement import MAX_NON2XX_SHARE, WrkResult
from bench.profile import Place, Profile
from bench.results import Results, StackRecord, TokenGrantResult, fmt_counts
from bench.scenarios import REFRESH_MARGIN, STORM_LEAD
from bench.session import READY_TIMEOUT
from bench.stack import BENCH_EMAIL, STORM_EMAIL
from bench.storm import STORM_MAX_BURSTS, STORM_SIZE
from bench.wrk import THREADS, TIMEOUT
from bff.sessions.manager import COOKIE_NAME
from bff.settings import Settings

Lines = list[str]
RUN_COLUMNS = "req/s | p50 ms | p99 ms | max ms | non-2xx | server CPU | other CPU"
PROFILE_LEGEND = (
    "The rows that missed the goal, profiled: each sample of the BFF's main thread (its event "
    "loop) is charged to its innermost frame in a project module or an installed package; the "
    "standard library's (json, logging, dataclasses, asyncio streams) to the frame that called "
    "it; C code (SQLite, the ES256 signature) runs inside the frame that called it. µs per "
    "request: the measured run's server CPU per request times the share."
)


def render(results: Results) -> str:
    """The report: its sections in order, the empty ones left out."""
    sections: tuple[Callable[[Results], Lines], ...] = (
        header,
        harness_errors,
        report_targets.targets_table,
        summary,
        machine,
        method,
        report_targets.anchor_details,
        report_targets.hot_path_details,
        session_read_details,
        storm_details,
        api_read_details,
        token_grant_details,
        report_targets.workers_details,
        report_targets.soak_details,
        observations,
        configurations,
    )
    return "\n\n".join("\n".join(lines) for section in sections if (lines := section(results)))


def header(results: Results) -> Lines:
    return [
        "# Load benchmark report",
        "",
        f"Date: {results.started.strftime('%Y-%m-%d %H:%M UTC')} · `make bench` "
        f"(`python -m bench`) · total run time {results.elapsed_s:.0f} s",
        "",
        "A load benchmark, not a timed test: the numbers are for this machine and this run, the "
        "ratios are what the targets judge. A missed target is a FAIL here, not a failed build.",
        *quick_run(results),
    ]


QUICK = (  # the knobs that shorten or change a run (BENCH_ONLY among them)
    *("duration", "segment", "warmup", "connections", "cold_tokens", "profile", "only"),
    *("pin", "workers", "soak", "soak_warmup", "soak_interval"),
)


def knob(value: object) -> str:
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    return str(int(value)) if isinstance(value, bool) else str(value)


def quick_run(results: Results) -> Lines:
    """The knobs that differ from the defaults: such a run is a quick look, not the report."""
    defaults = Knobs()
    changed = {
        name: getattr(results.knobs, name)
        for name in QUICK
        if getattr(results.knobs, name) != getattr(defaults, name)
    }
    if not changed:
        return []
    shown = ", ".join(f"`BENCH_{name.upper()}={knob(v)}`" for name, v in changed.items())
    return ["", f"**A quick run, not the full report**: {shown}."]


def harness_errors(results: Results) -> Lines:
    if not results.errors:
        return []
    lines = ["## Harness errors", ""]
    for error in results.errors:
        lines += ["```", error.strip()[-3000:], "```"]
    return lines


def summary(results: Results) -> Lines:
    lines = [
        "## Summary",
        "",
        "| benchmark | configuration | target | measured | result |",
        "|---|---|---|---|---|",
    ]
    for a in results.a:
        lines.append(
            f"| A. `/bff/user` vs `/healthz` req/s | {a.config.title} | {targets.A} | "
            f"{a.ratio:.2f}x ({a.user.rps:.0f} / {a.healthz.rps:.0f} req/s) | "
            f"{targets.verdict(targets.A, a.ratio, a.runs)} |"
        )
    for b in results.b:
        extra = " (informational)" if b.config.informational else ""
        lines.append(
            f"| B. `/bff/user` p99 under {STORM_SIZE}-login storm / idle | {b.config.title} | "
            f"{targets.B} | {b.ratio:.2f}x ({ms(b.storm.p99_ms)} / {ms(b.idle.p99_ms)} ms) | "
            f"{targets.verdict(targets.B, b.ratio, b.runs)}{extra} |"
        )
    for c in results.c:
        lines.append(
            f"| C. API `/me` (cached token) vs `/healthz` req/s | {c.config.title} | "
            f"{targets.C} | {c.ratio:.2f}x ({c.warm.rps:.0f} / {c.healthz.rps:.0f} req/s) | "
            f"{targets.verdict(targets.C, c.ratio, (c.healthz, c.warm))} |"
        )
        lines.append(
            f"| C. API `/me` cold path (fresh token per request) | {c.config.title} | "
            f"report only | {c.cold.rps:.0f} req/s ({c.cold_ratio:.2f}x `/healthz`) | "
            f"{'measured' if c.cold.valid else 'FAIL (non-2xx/socket errors)'} |"
        )
    for d in results.d:
        for (what, how), run, rate, _ in grant_rows(d):
            lines.append(
                f"| D. {what}/s ({how}), `POST /oauth/token`, one worker | {d.config.title} | "
                f"{targets.D} | {rate:.0f}/s ({anchored(rate)}; p50 {ms(run.p50_ms)} / p99 "
                f"{ms(run.p99_ms)} ms; `/healthz` {d.healthz.rps:.0f}/s) | "
                f"{grant_verdict(d, run, rate)} |"
            )
    return lines if len(lines) > 4 else []


def machine(results: Results) -> Lines:
    lines = ["## Machine", "", "| | |", "|---|---|"]
    return lines + [f"| {key} | {value} |" for key, value in results.machine.items()]


def method(results: Results) -> Lines:
    knobs, defaults = results.knobs, Settings()
    return [
        "## Method",
        "",
        "- Each configuration: a fresh temporary var dir shared by both apps (`BFF_VAR_DIR` = "
        "`API_VAR_DIR`), `python -m bff init`, `python -m bff users add "
        f"{BENCH_EMAIL} --password …` (and `{STORM_EMAIL}`, the storm's user) with the "
        "configuration's argon2 parameters (so no login rehashes), then the BFF and, once it is "
        "healthy, the API, each as one uvicorn worker on a free loopback port:",
        "",
        "  ```sh",
        *(f"  {command}" for command in commands_of(results, "bff", "api")),
        "  ```",
        "",
        "  Redis configuration: a private "
        + ", ".join(f"`{command}`" for command in commands_of(results, "redis"))
        + f" and `BFF_SESSION_STORE=redis://127.0.0.1:$REDIS_PORT/0`. Other settings are the "
        f"defaults (`BFF_LOG_LEVEL={defaults.log_level}`: audit lines go to a log file; "
        f"`BFF_PASSWORD_WORKERS={defaults.password_workers}`).",
        f"- The benchmark session: `GET /login` (login CSRF cookie + form token), `POST /login`, "
        f"the `{COOKIE_NAME}` value sent as an explicit `Cookie` header (it is `Secure`, so "
        "clients keep it from plain http), plus `X-CSRF: 1`.",
        f"- wrk: `wrk -t{THREADS} -c{knobs.connections} -d{knobs.duration}s --latency --timeout "
        f"{TIMEOUT}`, after a {knobs.warmup} s warm-up run of the same command; a Lua `done()` "
        "(`bench/lua/done.lua`) prints the exact request count and percentiles. The pairs that A "
        f"and C compare run as alternating {knobs.segment} s segments (A B B A A B …, "
        f"{knobs.segments * knobs.segment} s per endpoint in all), so the machine's speed drift "
        "(the same endpoint varied by ±20 % between 2 s runs on this VM, with nothing else "
        "running) lands on both sides of the ratio; their percentiles come from the segments' "
        "quantile functions (0.1 % steps, 0.01 % above p99) merged by request count. A run with "
        f"more than {MAX_NON2XX_SHARE:.0%} non-2xx answers or socket errors fails its row. "
        '"server CPU" is the measured process\'s CPU in cores over the run (one event loop '
        'saturates near 1.0); "other CPU" is what processes the bench did not start used '
        "meanwhile, from /proc/stat: on a shared 2-core machine anything well above 0 makes that "
        "run noisy.",
        f"- CPU pinning: {results.pinning}, every thread of each process (as the anchors' "
        "`run.sh` does); B's BFF may use every CPU during its storm (its argon2 thread is what "
        "the storm is about), and F's production workers are not pinned.",
        "- B's target is judged on the default argon2id parameters "
        f"({argon2(DEFAULT_ARGON2)}, p={defaults.argon2_parallelism}: the realistic storm); the "
        f"OWASP-floor row ({argon2(FLOOR_ARGON2)}) shows a storm with more, cheaper logins per "
        "second and is informational.",
        f"- B: the idle run first, then the same wrk run while bursts of {STORM_SIZE} concurrent "
        f"`POST /login` as `{STORM_EMAIL}` (a user of its own: past "
        f"{defaults.max_sessions_per_user} sessions a user's oldest end, and the measured one "
        "must not), each with its own fresh login-CSRF pair fetched beforehand, run back to "
        f"back from {STORM_LEAD:.0f} s before wrk starts until it ends (at most "
        f"{STORM_MAX_BURSTS} bursts); logins still in flight when wrk ends are abandoned and the "
        "stack is stopped.",
        "- C: the warm token comes from `POST /bff/token`; before measuring, `GET /me` must "
        f"answer 200 (bounded retry, {READY_TIMEOUT:.0f} s: the API refuses tokens until it "
        f"follows the revocation feed). Cold path: {knobs.cold_tokens} tokens minted by the "
        "bench through the BFF's composition root built from the stack's own environment "
        "(`Components(Settings.from_env(env)).session_tokens`, for the benchmark session read "
        "from the stack's store: the key ring, issuer, audience, lifetime and claims of "
        "`POST /bff/token`), cycled by `bench/lua/tokens.lua`; the API's verified-claims cache "
        f"holds {spaced(API_CLAIMS_CACHE)} tokens first-in first-out, so cycling more than "
        "that misses every time.",
        "",
        "Exact wrk commands (session and token redacted; `plain.lua` only adds `done()`, "
        "`tokens.lua` also cycles the token file named after `--`):",
        "",
        "```sh",
        *(c if n == 1 else f"{c}    # run {n} times" for c, n in Counter(results.commands).items()),
        "```",
    ]


def session_read_details(results: Results) -> Lines:
    rows = []
    for a in results.a:
        base, user = ("`GET /healthz`", a.healthz), ("`GET /bff/user`", a.user)
        rows += compared(a.config, base, user, a.ratio, targets.A)
    title = (
        f"## A. BFF `/bff/user` vs `/healthz` (target: `/bff/user` {targets.A} `/healthz` "
        "req/s, per store)"
    )
    return runs_table(title, "store | endpoint", rows)


def storm_details(results: Results) -> Lines:
    rows = []
    for b in results.b:
        idle, storm = ("idle", b.idle), (f"{STORM_SIZE}-login storm", b.storm)
        rows += compared(b.config, idle, storm, b.ratio, targets.B)
    title = (
        f"## B. `/bff/user` p99 during a login storm (target: p99 under load {targets.B} idle p99)"
    )
    table = runs_table(title, "configuration | run", rows, ratio="p99 ratio")
    return table + storm_logins(results) if table else []


def storm_logins(results: Results) -> Lines:
    lines = [
        "",
        "Server CPU includes the argon2 worker thread. The storm itself (logins answered while "
        "wrk ran; a login's latency includes its wait in the single argon2 worker's queue):",
        "",
        "| configuration | bursts started / completed | logins answered | statuses | "
        "login p50 s | login max s | abandoned at the end |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in results.b:
        logins, latencies = b.logins, sorted(b.logins.latencies)
        p50 = f"{latencies[len(latencies) // 2]:.1f}" if latencies else "–"
        top = f"{latencies[-1]:.1f}" if latencies else "–"
        lines.append(
            f"| {b.config.title} | {logins.bursts_started} / {logins.bursts_completed} | "
            f"{logins.completed} | {fmt_counts(logins.statuses) or '–'} | {p50} | {top} | "
            f"{logins.cancelled} |"
        )
    return lines


def api_read_details(results: Results) -> Lines:
    rows, notes = [], []
    for c in results.c:
        base, warm = ("`GET /healthz`", c.healthz), ("`GET /me`, one token (cached)", c.warm)
        cold = "`GET /me`, fresh token each (cold)"
        rows += compared(c.config, base, warm, c.ratio, targets.C)
        rows.append(row(c.config, cold, c.cold, f"{c.cold_ratio:.2f}x", "report only"))
        notes.append(
            f"Cold path: {c.tokens} tokens minted in {c.mint_s:.1f} s; wrk sent "
            f"{c.cold.requests} requests ({c.passes:.2f} passes over the token file)."
        )
        if c.tokens <= API_CLAIMS_CACHE and c.passes > 1:
            notes.append(
                f"Not all cold: {c.tokens} tokens fit the API's {API_CLAIMS_CACHE}-entry claims "
                "cache, so passes after the first hit it (raise BENCH_COLD_TOKENS)."
            )
    title = (
        f"## C. API `/me` vs `/healthz` (target: `/me` with a cached token {targets.C} "
        "`/healthz` req/s)"
    )
    table = runs_table(title, "configuration | endpoint", rows)
    return [*table, "", *notes] if table else []


def grant_method(results: Results) -> Lines:
    knobs = results.knobs
    sized = (
        f"{knobs.refresh_tokens} (BENCH_REFRESH_TOKENS)"
        if knobs.refresh_tokens
        else f"{REFRESH_MARGIN}x the client-credentials run's req/s times its seconds (a "
        "rotation is a client-credentials grant plus grant-record writes: it is no faster)"
    )
    return [
        "- D, on the same BFF process after A and C (before B's storm): two clients registered "
        'with the stack\'s environment, `python -m bff clients add "Bench service" --grant '
        f'client_credentials --scope {SCOPE}` and `python -m bff clients add "Bench app" '
        f"--grant device_code --grant refresh_token --public --scope {SCOPE}` (their "
        "`client_id:` and `client_secret:` lines read back), and one `POST /oauth/token` of each "
        "kind must answer 200 first. Then, each after its warm-up: `GET /healthz` (context); "
        f"client credentials, `{urlencode(CLIENT_CREDENTIALS)}` with `Authorization: Basic` "
        "(client_secret_basic); refresh rotation, `grant_type=refresh_token&client_id=…"
        "&refresh_token=…` as the public client, the next token of a file on every request and "
        "none twice (a reuse revokes its family and answers 400), the warm-up with a file of its "
        "own. The refresh families are started by the bench through the BFF's composition root "
        "built from the stack's environment (`Components(Settings.from_env(env)).families"
        ".start(…)`, for the benchmark user read from the user store, scope "
        f"`{SCOPE}`): for the measured run {sized}. `bench/lua/statuses.lua` counts every "
        "response's status: only 200s count as grants and rotations. The goal is a rate: one "
        "worker is one event loop, at most one core (its server CPU is shown), so its req/s is "
        f"judged as the rate per core, against 10x the {targets.KEYCLOAK_PER_VCPU}/s per vCPU "
        "of Keycloak's sizing guide for client-credentials grants and for refreshes; unlike "
        "A-C's ratios, it depends on this machine's CPU (see Machine). A row that "
        f"misses it is profiled: py-spy ({profile.RATE} Hz) samples the BFF during another "
        f"{knobs.profile} s run of the same load (not the measured one).",
    ]


def token_grant_details(results: Results) -> Lines:
    rows, notes = [], []
    for d in results.d:
        rows.append(row(d.config, "`GET /healthz` (context)", d.healthz))
        for (what, how), run, rate, _ in grant_rows(d):
            verdict = grant_verdict(d, run, rate)
            rows.append(row(d.config, f"{what} ({how})", run, anchored(rate), verdict))
        notes += grant_counts(d)
    title = (
        f"## D. OAuth `POST /oauth/token`, one worker (goal: {targets.D} per core, 10x "
        f"Keycloak's {targets.KEYCLOAK_PER_VCPU}/s per vCPU)"
    )
    table = runs_table(title, "configuration | request", rows, ratio="vs Keycloak")
    profiles = [
        line
        for d in results.d
        for (what, _), run, _, found in grant_rows(d)
        if found is not None
        for line in cpu_profile(f"{what}, {d.config.title}", found, run)
    ]
    if not table:
        return []
    return [*table, "", *notes, *(["", PROFILE_LEGEND, *profiles] if profiles else [])]


def grant_counts(d: TokenGrantResult) -> Lines:
    notes = [
        f"- {d.config.title}: {spaced(d.families)} refresh families started in "
        f"{d.start_s:.1f} s ({d.families / d.start_s if d.start_s else 0:.0f}/s), "
        f"{spaced(d.refresh_tokens)} of them for the measured run; wrk sent "
        f"{spaced(d.refresh.requests)} rotations ({fmt_counts(d.refresh.statuses)})."
    ]
    if d.grant_calls or d.rotation_calls:
        notes.append(
            f"- {d.config.title}: Redis commands (`INFO commandstats`: an `evalsha` is one round "
            "trip, and the commands its Lua script runs inside Redis count too): "
            f"{calls_per(d.grant_calls, d.client_credentials)} per client-credentials grant, "
            f"{calls_per(d.rotation_calls, d.refresh)} per rotation."
        )
    return notes


def cpu_profile(title: str, found: Profile, measured: WrkResult) -> Lines:
    """A profile's section; its µs come from the measured run, which py-spy did not slow."""
    run, cpu_us = found.run, measured.cpu_us
    if run is None or found.error:
        return []
    beside = "".join(
        f"; {name} {cores:.2f} cores" for name, cores in found.beside.items() if cores >= 0.05
    )
    return [
        "",
        f"### Where the CPU goes: {title}",
        "",
        f"py-spy, {found.samples} samples over a {run.duration_s:.0f} s run of its own (at "
        f"{run.rps:.0f} req/s: sampling slows the server; the BFF used {run.server_cpu:.2f} "
        f"cores{beside}). The measured run used {cpu_us:.0f} µs of server CPU per request, so "
        f"{1e6 / cpu_us if cpu_us else 0:.0f} req/s would fill a core.",
        "",
        "| where | CPU share | µs per request | hottest function there (its share) |",
        "|---|---|---|---|",
        *(
            f"| `{place.where}` | {found.share(place):.1%} | "
            f"{found.share(place) * cpu_us:.0f} | {hottest(found, place)} |"
            for place in found.places
        ),
    ]


def calls_per(calls: Mapping[str, int], run: WrkResult) -> str:
    """Commands per request, `2.0 (hmget 2.0)`; the bench's own INFO left out."""
    if not run.requests:
        return "–"
    rates = {name: n / run.requests for name, n in calls.items() if name != "info"}
    shown = ", ".join(f"{name} {r:.1f}" for name, r in sorted(rates.items()) if r >= 0.05)
    return f"{sum(rates.values()):.1f} ({shown})"


def hottest(found: Profile, place: Place) -> str:
    if not place.hottest:
        return ""
    return f"`{place.hottest}` ({place.hottest_samples / found.samples:.1%})"


GrantRow = tuple[tuple[str, str], WrkResult, float, Profile | None]


def grant_rows(d: TokenGrantResult) -> list[GrantRow]:
    """D's two measured rows: (what, how), the run, its rate of 200s, its profile."""
    return [
        (
            ("`client_credentials` grants", "`client_secret_basic`"),
            d.client_credentials,
            d.grants,
            d.grant_profile,
        ),
        (
            ("`refresh_token` rotations", "public client"),
            d.refresh,
            d.rotations,
            d.rotation_profile,
        ),
    ]


def grant_verdict(d: TokenGrantResult, run: WrkResult, rate: float) -> str:
    if run is d.refresh and d.exhausted:
        return "FAIL (ran out of refresh tokens)"
    verdict = targets.verdict(targets.D, rate, (run,))
    others = sum(run.other_statuses(200).values())
    return f"{verdict} ({others} non-200)" if others and verdict.startswith("PASS") else verdict


def anchored(rate: float) -> str:
    return f"{rate / targets.KEYCLOAK_PER_VCPU:.1f}x Keycloak's {targets.KEYCLOAK_PER_VCPU}/s"


def observations(results: Results) -> Lines:
    notes = list(results.observations)
    noisy = [run for run in results.runs if targets.is_noisy(run)]
    if noisy:
        notes.append(
            "Other processes on this machine used CPU during "
            + ", ".join(f"`{run.label}` ({run.other_cpu:.2f} cores)" for run in noisy)
            + ": those numbers are disturbed; rerun `make bench` on a quiet machine to confirm."
        )
    return ["## Observations", "", *(f"- {note}" for note in notes)] if notes else []


def configurations(results: Results) -> Lines:
    return [
        "## Configurations",
        "",
        "| configuration | settings |",
        "|---|---|",
        *(f"| {record.title} | {settings(record)} |" for record in results.stacks),
        "",
        "Raw wrk output of this run: `bench/results/*.raw` (git-ignored, session and tokens "
        "redacted from the command line only).",
    ]


def runs_table(title: str, columns: str, rows: Lines, *, ratio: str = "ratio") -> Lines:
    """A section of wrk runs: its title and table (`columns`, a run's cells, ratio, result);
    nothing without rows."""
    head = f"| {columns} | {RUN_COLUMNS} | {ratio} | result |"
    return [title, "", head, "|---" * head.count(" | ") + "|---|", *rows] if rows else []


def compared(
    config: Config,
    baseline: tuple[str, WrkResult],
    measured: tuple[str, WrkResult],
    ratio: float,
    target: targets.Target,
) -> Lines:
    """A baseline's row, then the measured run's with its ratio and verdict."""
    verdict = targets.verdict(target, ratio, (baseline[1], measured[1]))
    return [row(config, *baseline), row(config, *measured, f"{ratio:.2f}x", verdict)]


def row(config: Config, what: str, run: WrkResult, ratio: str = "", result: str = "") -> str:
    """A run's row; a baseline's has no ratio and no result."""
    tail = f"{ratio} | {result} |" if ratio else "| |"
    return f"| {config.title} | {what} | {cells(run)} | {tail}"


def cells(run: WrkResult) -> str:
    return (
        f"{run.rps:.0f} | {ms(run.p50_ms)} | {ms(run.p99_ms)} | {ms(run.max_ms)} | "
        f"{run.failures} | {run.server_cpu:.2f} | {run.other_cpu:.2f}"
    )


def ms(value: float) -> str:
    return f"{value:.2f}"


def argon2(params: Argon2) -> str:
    return f"t={params.time_cost}, m={params.memory_kib // 1024} MiB"


def settings(record: StackRecord) -> str:
    return ", ".join(f"`{key}={value}`" for key, value in sorted(record.settings.items()))


def commands_of(results: Results, *names: str) -> list[str]:
    """The first stack's commands for `names`, as one would type them: ports as variables."""
    for record in results.stacks:
        if all(name in record.commands for name in names):
            return [typed(name, record.commands[name]) for name in names]
    return []


def typed(name: str, argv: tuple[str, ...]) -> str:
    shown = ["python" if arg == sys.executable else arg for arg in argv]
    for flag, value in (("--port", f"${name.upper()}_PORT"), ("--dir", "$DIR")):
        if flag in shown:
            shown[shown.index(flag) + 1] = value
    return " ".join(arg if arg.startswith("$") else shlex.quote(arg) for arg in shown)


def spaced(number: int) -> str:
    return f"{number:,}".replace(",", " ")
