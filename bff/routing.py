"""Starlette's router with its routes indexed by fixed path.

Starlette tries every route in order, a regular expression each, until one matches: with thirty
routes, `/healthz` paid for twenty of them. Here a request whose path is one of the routes' fixed
paths (`/bff/user`, `/healthz`, …) is offered only the routes whose pattern matches that path, in
their order, with Starlette's own rules (the first full match wins, else the first partial one:
the 405). The routes left out would have answered "no match", so the outcome is the same; any
other path (a parameter, a mount, a 404) takes Starlette's full scan.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send

Index = dict[str, tuple[BaseRoute, ...]]


class IndexedRouter(Router):
    _index: Index = {}
    _indexed_routes = -1  # how many routes the index was built from

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            candidates = self._current_index().get(get_route_path(scope))
            if candidates is not None and await _dispatch(self, candidates, scope, receive, send):
                return
        await super().app(scope, receive, send)

    def _current_index(self) -> Index:
        # routes may be added after the router is built (add_route, mount): index them too
        if self._indexed_routes != len(self.routes):
            self._index = index_routes(self.routes)
            self._indexed_routes = len(self.routes)
        return self._index


def index_routes(routes: Sequence[BaseRoute]) -> Index:
    """Each fixed path of a route, with every route whose pattern matches it, in order; nothing
    when a route's matching depends on more than its path pattern (a Host route)."""
    if not all(isinstance(route, (Route, Mount, WebSocketRoute)) for route in routes):
        return {}
    # a WebSocketRoute never matches an http request; Route and Mount match by their pattern
    http = [route for route in routes if isinstance(route, (Route, Mount))]
    fixed = [r.path for r in http if isinstance(r, Route) and not r.param_convertors]
    return {path: tuple(route for route in http if route.path_regex.match(path)) for path in fixed}


async def _dispatch(
    router: Router, candidates: tuple[BaseRoute, ...], scope: Scope, receive: Receive, send: Send
) -> bool:
    """Starlette's matching loop over `candidates`; False when none matched."""
    scope.setdefault("router", router)
    partial: tuple[BaseRoute, Scope] | None = None
    for route in candidates:
        match, child_scope = route.matches(scope)
        if match is Match.FULL:
            scope["route"] = route
            scope.update(child_scope)
            await route.handle(scope, receive, send)
            return True
        if match is Match.PARTIAL and partial is None:
            partial = (route, child_scope)
    if partial is None:
        return False
    scope["route"] = partial[0]
    scope.update(partial[1])
    await partial[0].handle(scope, receive, send)
    return True
