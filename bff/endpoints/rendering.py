"""Server-rendered pages of a session: the template, the user's email and the form token."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from bff.security.csrf import CsrfTokens
from bff.sessions.base import Session
from bff.users import UserStore


def utc(seconds: int) -> str:
    """A timestamp as the pages show it, the same on the server and in the app's script."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))


def iso_utc(seconds: int) -> str:
    """A timestamp for `<time datetime>`, as the script's `toISOString()` writes it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(seconds))


def add_filters(templates: Jinja2Templates) -> None:
    templates.env.filters["utc"] = utc
    templates.env.filters["iso_utc"] = iso_utc


@dataclass(frozen=True, kw_only=True)
class SessionWatch:
    """What every signed-in page's script watches its session with (frontend/static/js/session.js):
    how often it asks the BFF whether the session lives, and how long before the idle timeout
    it warns."""

    poll_seconds: int = 10
    warning_seconds: int = 120


@dataclass(frozen=True, kw_only=True)
class PageRenderer:
    templates: Jinja2Templates
    users: UserStore
    csrf: CsrfTokens
    watch: SessionWatch = SessionWatch()

    async def render(
        self,
        request: Request,
        session: Session,
        template: str,
        context: dict[str, Any],
        *,
        status: int = 200,
    ) -> Response:
        """A page for a signed-in user: the user's email, the session's form CSRF token and the
        session watch's settings added."""
        user = await self.users.by_id(session.user_id)
        return self.templates.TemplateResponse(
            request,
            template,
            {
                **context,
                "session": session,
                "email": user.email if user else "",
                "csrf_token": self.csrf.for_session(session.sid),
                "watch": self.watch,
            },
            status_code=status,
        )
