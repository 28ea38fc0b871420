"""What a request pays for: each py-spy sample of the event loop charged to one cost of serving a
request (the server itself, Starlette, the middleware, cookie parsing, the session read, the token
check, JSON, …), for H's "where the time goes" tables.

A sample goes to its innermost frame that says what the work is for: the standard library's
frames (json, ipaddress, secrets, …), Starlette's header structures and the clock are charged to
their caller, so the security-header middleware's MutableHeaders work is middleware and a
session store's JSON decoding is the session read. The response body's encoding (a `render`, or
the json module called by an endpoint) is JSON.
"""

from __future__ import annotations

import os
import re
import sysconfig
from collections import Counter

from bench.knobs import ROOT

SERVER = "the server: uvicorn, httptools, the event loop"
FRAMEWORK = "Starlette: routing, Request, Response"
MIDDLEWARE = "middleware: security headers, CORS, nosniff, Starlette's error layers"
COOKIES = "cookie parsing"
GUARD = "request checks: X-CSRF, origin, values sent once"
SESSION = "the session read: store, SQLite or Redis"
TOKEN = "the token check: claims cache, JWKS, revocations, PyJWT"
JSON = "JSON: the response body"
ENDPOINT = "the endpoint's own code"
OTHER = "everything else"
ORDER = (SERVER, FRAMEWORK, MIDDLEWARE, COOKIES, GUARD, SESSION, TOKEN, JSON, ENDPOINT, OTHER)

_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>.*):\d+\)$")
_PACKAGES = tuple(dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib")))
_LOOP = tuple(f"{os.sep}asyncio{os.sep}{name}.py" for name in ("runners", "base_events"))
_THREAD_ROOT = f"{os.sep}threading.py"
_TRANSPARENT = ("starlette/datastructures.py", "bff/clock.py", "api/clock.py")
# (path prefix, category), the first that fits
_PLACES = (
    ("uvicorn/", SERVER),
    ("httptools/", SERVER),
    ("uvloop/", SERVER),
    ("click/", SERVER),
    ("serving/", SERVER),
    ("starlette/middleware/", MIDDLEWARE),
    ("starlette/_exception_handler.py", MIDDLEWARE),
    ("starlette/", FRAMEWORK),
    ("bff/routing.py", FRAMEWORK),
    ("bff/security/headers.py", MIDDLEWARE),
    ("bff/security/proxies.py", MIDDLEWARE),
    ("api/headers.py", MIDDLEWARE),
    ("api/cors.py", MIDDLEWARE),
    ("bff/endpoints/guard.py", GUARD),
    ("bff/security/csrf.py", GUARD),
    ("bff/security/unambiguous.py", GUARD),  # one_cookie: cookie parsing, below
    ("bff/sessions/", SESSION),
    ("bff/db.py", SESSION),
    ("bff/redisconn.py", SESSION),
    ("redis/", SESSION),
    ("api/authentication.py", TOKEN),
    ("api/jwks.py", TOKEN),
    ("api/revocation.py", TOKEN),
    ("jwt/", TOKEN),
    ("cryptography/", TOKEN),
    ("bff/endpoints/", ENDPOINT),
    ("api/endpoints.py", ENDPOINT),
    ("api/responses.py", ENDPOINT),
)
_RENDERS = ("starlette/responses.py", "bff/endpoints/responses.py", "api/responses.py")


def costs(collapsed: str) -> Counter[tuple[str, str]]:
    """py-spy's raw output as samples per (cost, function), the main thread's only."""
    charged: Counter[tuple[str, str]] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if stack and count.isdigit() and _THREAD_ROOT + ":" not in frames[0]:
            charged[cost_of(frames)] += int(count)
    return charged


def cost_of(frames: list[str]) -> tuple[str, str]:
    """The cost a sample's stack (outermost first) is charged to, and the function there."""
    json_below = False
    for frame in reversed(frames):
        match = _FRAME.match(frame)
        if match is None:
            continue
        function, path = match["function"], match["path"]
        where = _relative(path)
        if where is None:  # the standard library: its caller pays
            json_below = json_below or f"{os.sep}json{os.sep}" in path
            if path.endswith(_LOOP):
                return SERVER, function
            continue
        if where.startswith(_TRANSPARENT):
            continue
        category = _category(where, function)
        if category in (FRAMEWORK, ENDPOINT) and (json_below or _is_render(where, function)):
            return JSON, function
        return category, function
    return OTHER, ""


def _category(where: str, function: str) -> str:
    if where.startswith("bff/security/unambiguous.py") and function.startswith("one_cookie"):
        return COOKIES
    return next((category for prefix, category in _PLACES if where.startswith(prefix)), OTHER)


def _is_render(where: str, function: str) -> bool:
    return where.startswith(_RENDERS) and function.endswith("render")


def _relative(path: str) -> str | None:
    """A package's path from its top folder, a project module's from the checkout; None for the
    standard library and frozen or generated code."""
    for packages in _PACKAGES:
        if path.startswith(packages + os.sep):
            return path[len(packages) + 1 :].replace(os.sep, "/")
    if path.startswith(str(ROOT) + os.sep):
        return path[len(str(ROOT)) + 1 :].replace(os.sep, "/")
    return None
