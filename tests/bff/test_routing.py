"""The indexed router sends every request where Starlette's own linear scan would."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.routing import BaseRoute, Host, Match, Router

from bff.app import create_app
from bff.routing import IndexedRouter, index_routes
from bff.settings import Settings

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS")


def linear(routes: list[BaseRoute], scope: dict[str, object]) -> tuple[BaseRoute | None, Match]:
    """Starlette's choice: the first full match, else the first partial one."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route, match
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial, Match.PARTIAL if partial else Match.NONE


def indexed(routes: list[BaseRoute], scope: dict[str, object]) -> tuple[BaseRoute | None, Match]:
    candidates = index_routes(routes).get(str(scope["path"]))
    return linear(list(candidates), scope) if candidates is not None else linear(routes, scope)


@pytest.fixture
def routes(tmp_path: Path) -> list[BaseRoute]:
    app = create_app(Settings(var_dir=tmp_path))
    assert isinstance(app.router, IndexedRouter) and not app.router.redirect_slashes
    return list(app.routes)


def test_every_path_and_method_reaches_the_route_starlette_picks(
    routes: list[BaseRoute],
) -> None:
    paths = {getattr(route, "path", "") for route in routes}
    paths |= {"/api/notes/1", "/static/app.css", "/nope", "/bff/user/", "/healthz/x", ""}
    for path in sorted(paths):
        for method in METHODS:
            scope = {"type": "http", "path": path, "method": method, "root_path": ""}
            assert indexed(routes, scope) == linear(routes, scope), (method, path)


def test_every_fixed_path_is_indexed_with_the_routes_that_match_it(
    routes: list[BaseRoute],
) -> None:
    index = index_routes(routes)
    assert [route.path for route in index["/bff/user"]] == ["/bff/user"]  # type: ignore[attr-defined]
    assert "/api/{path:path}" not in index  # a parameter: Starlette's scan


def test_a_router_with_a_host_route_is_not_indexed() -> None:
    assert index_routes([Host("api.test", app=Router())]) == {}
