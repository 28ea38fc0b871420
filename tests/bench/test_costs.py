"""H's charging of a py-spy sample to what the request paid for."""

from __future__ import annotations

import sysconfig

from bench import costs
from bench.knobs import ROOT

PACKAGES = sysconfig.get_paths()["purelib"]
STDLIB = sysconfig.get_paths()["stdlib"]


def frame(function: str, path: str) -> str:
    return f"{function} ({path}:1)"


def package(function: str, module: str) -> str:
    return frame(function, f"{PACKAGES}/{module}")


def ours(function: str, module: str) -> str:
    return frame(function, f"{ROOT}/{module}")


def stdlib(function: str, module: str) -> str:
    return frame(function, f"{STDLIB}/{module}")


SERVER = package("RequestResponseCycle.run_asgi", "uvicorn/protocols/http/httptools_impl.py")
HEADERS_MW = ours("SecurityHeadersMiddleware.__call__", "bff/security/headers.py")


def test_header_structures_count_for_the_middleware_that_uses_them() -> None:
    stack = [
        SERVER,
        HEADERS_MW,
        package("MutableHeaders.__setitem__", "starlette/datastructures.py"),
    ]
    assert costs.cost_of(stack) == (costs.MIDDLEWARE, "SecurityHeadersMiddleware.__call__")


def test_the_response_body_encoding_is_json() -> None:
    render = ours("FastJSONResponse.render", "bff/endpoints/responses.py")
    stack = [SERVER, render, stdlib("JSONEncoder.encode", "json/encoder.py")]
    assert costs.cost_of(stack)[0] == costs.JSON


def test_a_session_stores_json_decoding_is_the_session_read() -> None:
    store = ours("RedisSessionStore.get", "bff/sessions/redis.py")
    stack = [SERVER, store, stdlib("loads", "json/__init__.py")]
    assert costs.cost_of(stack)[0] == costs.SESSION


def test_cookie_parsing_is_told_from_the_other_one_value_checks() -> None:
    cookie = ours("one_cookie", "bff/security/unambiguous.py")
    header = ours("one_header", "bff/security/unambiguous.py")
    assert costs.cost_of([SERVER, cookie])[0] == costs.COOKIES
    assert costs.cost_of([SERVER, header])[0] == costs.GUARD


def test_threads_other_than_the_event_loop_are_left_out() -> None:
    worker = stdlib("Thread._bootstrap", "threading.py")
    collapsed = f"{worker};{ours('hash', 'bff/security/passwords.py')} 7\n{SERVER} 3\n"
    assert costs.costs(collapsed) == {(costs.SERVER, "RequestResponseCycle.run_asgi"): 3}
