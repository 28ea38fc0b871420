"""Server-rendered pages: the dashboard (API data fetched server-side) and the JS app shell."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bff.endpoints.rendering import render_page, to_login
from bff.services import Services
from bff.sessions.base import Session

API_TIMEOUT = 5.0


class PageEndpoints:
    def __init__(self, services: Services) -> None:
        self.s = services

    async def index(self, request: Request) -> Response:
        session = await self.s.sessions.current(request)
        return RedirectResponse("/dashboard" if session else "/login", status_code=303)

    async def dashboard(self, request: Request) -> Response:
        session = await self.s.sessions.current(request)
        if session is None:
            return _to_login(request)
        me, problem = await self._fetch_me(session)
        return await render_page(
            self.s,
            request,
            session,
            "dashboard.html",
            {"me": me, "problem": problem},
            status=200 if problem is None else 502,
        )

    async def app_page(self, request: Request) -> Response:
        session = await self.s.sessions.current(request)
        if session is None:
            return _to_login(request)
        return await render_page(
            self.s, request, session, "app.html", {"api_url": self.s.settings.api_public_url}
        )

    async def _fetch_me(self, session: Session) -> tuple[dict[str, Any] | None, str | None]:
        # the token is minted here and never leaves the server
        token = self.s.token_cache.token_for(session)
        try:
            response = await self.s.api.get(
                "/me", headers={"Authorization": f"Bearer {token.token}"}, timeout=API_TIMEOUT
            )
        except httpx.HTTPError:
            return None, "The API cannot be reached right now."
        if response.status_code != 200:
            return None, f"The API answered {response.status_code}."
        try:
            body = response.json()
        except ValueError:
            return None, "The API answered with something that is not JSON."
        return (body, None) if isinstance(body, dict) else (None, "Unexpected API answer.")


def _to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return to_login(target)


def routes(services: Services) -> list[Route]:
    endpoints = PageEndpoints(services)
    return [
        Route("/", endpoints.index, methods=["GET"]),
        Route("/dashboard", endpoints.dashboard, methods=["GET"]),
        Route("/app", endpoints.app_page, methods=["GET"]),
    ]
