"""The load benchmark behind `make bench` (`python -m bench`): real uvicorn processes, wrk, and
a markdown report, bench/REPORT.md, with the raw wrk output in bench/results/.

Every configuration gets its own temporary var dir, its own free loopback ports and (for the
Redis configuration) its own redis-server; the BFF and the API run as one uvicorn worker each
(F: several), the BFF started first and sharing its var dir with the API (revocation feed
secret, SQLite files). Servers are pinned to one CPU, wrk and redis-server to the other.

  A. BFF GET /healthz vs GET /bff/user (session cookie + X-CSRF: 1), SQLite and Redis stores.
  B. p99 of GET /bff/user idle, then while bursts of 50 concurrent POST /login run (default
     argon2id parameters; the OWASP floor as an extra, informational row).
  C. API GET /healthz vs GET /me with one token (verified-claims cache), and the cold path: a
     fresh token per request, minted through the BFF's composition root from the stack's own
     environment.
  D. BFF POST /oauth/token on one worker, SQLite and Redis stores: client_credentials grants
     (client_secret_basic) and refresh rotations (a distinct live refresh token per request,
     families started through the composition root) per second, GET /healthz beside them, against
     10x Keycloak's 120/s per vCPU; a row that misses it is profiled with py-spy.
  E. Against the performance anchors (../shared/bench: the seed Express app on MemoryStore and
     connect-redis, its JWT route, bare Starlette + PyJWT), started beside our servers on the same
     CPU, in alternating segments: the targets table's ratios.
  F. The production configuration: two workers per app, nothing pinned, req/s.
  G. The RSS soak: BFF and API RSS under load for ten minutes, within ±10 %.
  H. Where each hot path's time goes, µs per request by cost (py-spy).

Exit status: 0 when every measurement was taken (a missed target is a FAIL in the report, not an
error); 1 on a harness failure. Every process started here is stopped however the run ends.

Knobs (environment): BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 32),
BENCH_WARMUP (s, default 1), BENCH_SEGMENT (s per alternating A/B segment, default 2),
BENCH_COLD_TOKENS (default 20000), BENCH_REFRESH_TOKENS (default 0: sized from D's
client-credentials rate), BENCH_PROFILE (s of py-spy per H hot path and per missed D row,
default 5; 0: none), BENCH_RESULTS (raw output dir), BENCH_ONLY, BENCH_REPORT, BENCH_PIN,
BENCH_ANCHORS, ANCHORS_STATE, BENCH_WORKERS, BENCH_SOAK, BENCH_SOAK_WARMUP, BENCH_SOAK_INTERVAL:
see bench/README.md.
"""
