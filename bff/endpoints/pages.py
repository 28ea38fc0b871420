"""Server-rendered pages: the dashboard (API data fetched server-side) and the notes app, whose
first notes are rendered here with the session's server-side token (readable with JavaScript
off) and handed to its script, which carries on with a token of its own or through /api/*."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bff.endpoints.guard import SessionGuard
from bff.endpoints.rendering import PageRenderer
from bff.endpoints.responses import to_login
from bff.errors import SessionEnding
from bff.sessions.base import Session
from bff.tokencache import SessionTokenCache

API_TIMEOUT = 5.0
FIRST_NOTES = 50  # the API's default page
NOTE_TEXTS = {"id": 64, "title": 200, "body": 10_000}  # the API's own limits (api/schemas.py)
NOTE_FIELDS = (*NOTE_TEXTS, "created_at", "updated_at")
LAST_PRINTABLE_SECOND = 253_402_300_800  # 10000-01-01: the pages' dates have four digits


@dataclass(frozen=True, kw_only=True)
class PageEndpoints:
    guard: SessionGuard
    pages: PageRenderer
    tokens: SessionTokenCache
    api: httpx.AsyncClient
    api_public_url: str
    js_tokens: bool = True  # False: the app calls the API through /api/* only (pure-BFF mode)

    def routes(self) -> list[Route]:
        return [
            Route("/", self.index, methods=["GET"]),
            Route("/dashboard", self.dashboard, methods=["GET"]),
            Route("/app", self.app_page, methods=["GET"]),
        ]

    async def index(self, request: Request) -> Response:
        session = await self.guard.current(request)
        return RedirectResponse("/dashboard" if session else "/login", status_code=303)

    async def dashboard(self, request: Request) -> Response:
        session = await self.guard.current(request)
        if session is None:
            return _to_login(request)
        try:
            me, problem = await self._fetch_me(session)
        except SessionEnding:
            # not an upstream failure: the page is fine, the session has seconds left
            me, problem, status = None, "Your session is about to end. Sign in again.", 200
        else:
            status = 200 if problem is None else 502
        return await self.pages.render(
            request, session, "dashboard.html", {"me": me, "problem": problem}, status=status
        )

    async def app_page(self, request: Request) -> Response:
        session = await self.guard.current(request)
        if session is None:
            return _to_login(request)
        try:
            listed, problem = await self._fetch(session, f"/notes?limit={FIRST_NOTES}")
        except SessionEnding:
            listed, problem = None, "Your session is about to end. Sign in again."
        notes = _notes_of(listed)
        if listed is not None and notes is None:
            problem = "Unexpected API answer."
        context = {
            "api_url": self.api_public_url,
            "mode": "token" if self.js_tokens else "proxy",
            "notes": notes,
            "problem": problem,
        }
        return await self.pages.render(request, session, "app.html", context)

    async def _fetch_me(self, session: Session) -> tuple[dict[str, Any] | None, str | None]:
        return await self._fetch(session, "/me")

    async def _fetch(self, session: Session, path: str) -> tuple[dict[str, Any] | None, str | None]:
        # the token is minted here and never leaves the server
        token = self.tokens.token_for(session)
        try:
            response = await self.api.get(
                path, headers={"Authorization": f"Bearer {token.token}"}, timeout=API_TIMEOUT
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


def _notes_of(listed: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The notes of a GET /notes answer, each with the fields the page shows; None when it is
    not the API's shape (the page then says so instead of rendering half a list)."""
    notes = listed.get("notes") if listed is not None else None
    if not isinstance(notes, list) or not all(_is_note(note) for note in notes):
        return None
    return [{name: note[name] for name in NOTE_FIELDS} for note in notes]


def _is_note(note: object) -> bool:
    """The API's note shape within the API's own bounds: a timestamp the page can print
    (before year 10000), text no longer than the API keeps."""
    if not isinstance(note, dict):
        return False
    texts = all(
        isinstance(note.get(name), str) and len(note[name]) <= most
        for name, most in NOTE_TEXTS.items()
    )
    times = all(
        type(note.get(name)) is int and 0 <= note[name] < LAST_PRINTABLE_SECOND
        for name in ("created_at", "updated_at")
    )
    return texts and times


def _to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return to_login(target)
