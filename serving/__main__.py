"""`python -m serving bff|api [options]`: serve an app with every production limit.

The Procfile (`make run`) and the production command both run this; so do the harnesses (through
`bff.testing.servers`), so what is tested and benchmarked is what ships.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from serving.limits import Limits
from serving.server import KEEP_ALIVE_TIMEOUT, PORTS, Options, ServingError, serve

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m serving", description=__doc__.splitlines()[0])
    p.add_argument("app", choices=sorted(PORTS), help="which app to serve")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to bind (default: bff 8000, api 8001)")
    p.add_argument("--workers", type=_positive, default=1, help="worker processes (default 1)")
    p.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="one line per request (default off: it costs 20-40%% of /healthz's rate)",
    )
    p.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    p.add_argument(
        "--trusted-proxies",
        metavar="NETWORKS",
        help="comma-separated IPs/networks whose X-Forwarded-For/-Proto the BFF believes "
        "(default: none, the headers are ignored)",
    )
    p.add_argument(
        "--header-timeout",
        type=_seconds,
        default=Limits.header_timeout,
        metavar="SECONDS",
        help=f"to send a whole request head (default {Limits.header_timeout:g})",
    )
    p.add_argument(
        "--body-timeout",
        type=_seconds,
        default=Limits.body_timeout,
        metavar="SECONDS",
        help=f"to send a whole request body, from the head's end (default {Limits.body_timeout:g})",
    )
    p.add_argument(
        "--send-timeout",
        type=_seconds,
        default=Limits.send_timeout,
        metavar="SECONDS",
        help="a client may leave a response untaken, then the connection is aborted "
        f"(default {Limits.send_timeout:g})",
    )
    p.add_argument(
        "--keep-alive-timeout",
        type=_positive,
        default=KEEP_ALIVE_TIMEOUT,
        metavar="SECONDS",
        help=f"an idle keep-alive connection stays open (default {KEEP_ALIVE_TIMEOUT})",
    )
    p.add_argument(
        "--max-connections",
        type=_positive,
        default=Limits.max_connections,
        metavar="N",
        help=f"per worker, beyond which a connection gets 503 (default {Limits.max_connections}, "
        "lowered to fit the open-files limit)",
    )
    return p


def main(argv: Sequence[str]) -> int:
    args = parser().parse_args(argv)
    options = Options(
        app=args.app,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
        log_level=args.log_level,
        trusted_proxies=args.trusted_proxies,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        send_timeout=args.send_timeout,
        keep_alive_timeout=args.keep_alive_timeout,
        max_connections=args.max_connections,
    )
    try:
        return serve(options)
    except ServingError as exc:
        print(f"python -m serving: {exc}", file=sys.stderr)
        return 2


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 3600 seconds")
    return value


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
