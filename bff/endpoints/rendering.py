"""What every server-rendered page of a session shares: its context and the way to sign in."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bff.services import Services
from bff.sessions.base import Session


async def render_page(
    services: Services,
    request: Request,
    session: Session,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> Response:
    """A page for a signed-in user: the user's email and the session's form CSRF token added."""
    user = await services.users.by_id(session.user_id)
    return services.templates.TemplateResponse(
        request,
        template,
        {
            **context,
            "session": session,
            "email": user.email if user else "",
            "csrf_token": services.csrf.for_session(session.sid),
        },
        status_code=status,
    )


def to_login(path: str) -> Response:
    """303 to the sign-in form, coming back to `path` (a local path) afterwards."""
    return RedirectResponse(f"/login?next={quote(path, safe='')}", status_code=303)
