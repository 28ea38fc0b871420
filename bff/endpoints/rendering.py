"""Server-rendered pages of a session: the template, the user's email and the form token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from bff.security.csrf import CsrfTokens
from bff.sessions.base import Session
from bff.users import UserStore


@dataclass(frozen=True, kw_only=True)
class PageRenderer:
    templates: Jinja2Templates
    users: UserStore
    csrf: CsrfTokens

    async def render(
        self,
        request: Request,
        session: Session,
        template: str,
        context: dict[str, Any],
        *,
        status: int = 200,
    ) -> Response:
        """A page for a signed-in user: the user's email and the session's form CSRF token added."""
        user = await self.users.by_id(session.user_id)
        return self.templates.TemplateResponse(
            request,
            template,
            {
                **context,
                "session": session,
                "email": user.email if user else "",
                "csrf_token": self.csrf.for_session(session.sid),
            },
            status_code=status,
        )
