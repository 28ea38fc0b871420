"""The account pages: "My devices" (GET /sessions, revoke one or all others) and the password
change (GET /account, POST /account/password). Every revocation goes through the Revoker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bff.endpoints.common import read_form, require_same_origin
from bff.endpoints.login import CLEAR_SITE_DATA
from bff.endpoints.rendering import render_page, to_login
from bff.errors import BadRequest, Forbidden, NotFound, Throttled
from bff.security.passwords import MAX_PASSWORD_LENGTH, check_new_password
from bff.services import Services
from bff.sessions.base import Session
from bff.sessions.manager import clear_session_cookie, set_session_cookie
from bff.useragent import summarize
from bff.users import User

REVOKED_EVENT = "session.revoked"
MAX_SID_LENGTH = 64
WRONG_PASSWORD = "The current password is not correct."
MISMATCH = "The new password and its confirmation do not match."
UNCHANGED = "The new password must differ from the current one."
# a stolen cookie must not become an unthrottled oracle for the current password
PASSWORD_ATTEMPTS = 5
PASSWORD_WINDOW = 15 * 60


@dataclass(frozen=True, kw_only=True)
class Device:
    """One live session as the devices page shows it; never holds the cookie value."""

    sid: str
    label: str
    user_agent: str
    ip: str
    created: str
    last_seen: str
    current: bool


class _AccountPages:
    def __init__(self, services: Services) -> None:
        self.s = services

    async def _checked_form(self, request: Request) -> tuple[Session | None, dict[str, str]]:
        """Same-origin, bounded form, and the session's CSRF token; (None, form) when anonymous."""
        require_same_origin(request, self.s.settings.trusted_origins)
        form = await read_form(request, self.s.settings.login_max_body)
        session = await self.s.sessions.current(request)
        if session is not None and not self.s.csrf.check_session(
            form.get("csrf_token", ""), session.sid
        ):
            raise Forbidden("invalid CSRF token")
        return session, form


class DeviceEndpoints(_AccountPages):
    async def page(self, request: Request) -> Response:
        session = await self.s.sessions.current(request)
        if session is None:
            return to_login("/sessions")
        devices = await self._devices(session)
        return await render_page(self.s, request, session, "sessions.html", {"devices": devices})

    async def revoke(self, request: Request) -> Response:
        session, form = await self._checked_form(request)
        if session is None:
            return to_login("/sessions")
        sid = form.get("sid", "")
        if not sid or len(sid) > MAX_SID_LENGTH:
            raise BadRequest("sid is missing or invalid")
        # end_sid searches only this user's sessions: another user's sid is not found
        ended = await self.s.revoker.end_sid(
            sid, user_id=session.user_id, event=REVOKED_EVENT, request=request
        )
        if ended is None:
            raise NotFound("no such session")
        if ended.sid == session.sid:
            return _signed_out()
        return RedirectResponse("/sessions", status_code=303)

    async def revoke_others(self, request: Request) -> Response:
        session, _ = await self._checked_form(request)
        if session is None:
            return to_login("/sessions")
        await self.s.revoker.end_user(
            session.user_id, keep_sid=session.sid, event=REVOKED_EVENT, request=request
        )
        return RedirectResponse("/sessions", status_code=303)

    async def _devices(self, current: Session) -> list[Device]:
        now = self.s.clock.now()
        sessions = await self.s.sessions.store.list_user(current.user_id)
        live = [s for s in sessions if s.is_live(now)]
        live.sort(key=lambda s: (s.sid != current.sid, -s.last_seen))
        return [_device(s, current=s.sid == current.sid) for s in live]


class PasswordEndpoints(_AccountPages):
    async def page(self, request: Request) -> Response:
        session = await self.s.sessions.current(request)
        if session is None:
            return to_login("/account")
        changed = request.query_params.get("changed") == "1"
        return await self._form(request, session, changed=changed)

    async def change(self, request: Request) -> Response:
        session, form = await self._checked_form(request)
        if session is None:
            return to_login("/account")
        user = await self.s.users.by_id(session.user_id)
        if user is None:
            raise Forbidden("the account no longer exists")
        current = form.get("current_password", "")
        new, confirm = form.get("new_password", ""), form.get("confirm_password", "")
        problem = _password_problem(current, new, confirm)
        if problem:
            return await self._form(request, session, error=problem, status=400)
        throttled = await self._throttled(request, session)
        if throttled is not None:
            return throttled
        if not await self.s.passwords.verify(user.password_hash, current):
            self.s.audit.event("password.change_failed", request, user_id=user.id, sid=session.sid)
            return await self._form(request, session, error=WRONG_PASSWORD, status=400)
        await self.s.sessions.store.reset(_attempts_key(user.id))
        return await self._replace_sessions(request, user, new)

    async def _throttled(self, request: Request, session: Session) -> Response | None:
        attempts = await self.s.sessions.store.hit(
            _attempts_key(session.user_id), window=PASSWORD_WINDOW, now=self.s.clock.now()
        )
        if attempts <= PASSWORD_ATTEMPTS:
            return None
        exc = Throttled("Too many attempts. Try again later.", retry_after=PASSWORD_WINDOW)
        self.s.audit.event(
            "password.change_throttled", request, user_id=session.user_id, sid=session.sid
        )
        response = await self._form(request, session, error=exc.description, status=429)
        response.headers.update(exc.headers)
        return response

    async def _replace_sessions(self, request: Request, user: User, password: str) -> Response:
        await self.s.users.set_password_hash(user.id, await self.s.passwords.hash(password))
        # every session ends, this one too: a new session id at every privilege change
        await self.s.revoker.end_user(user.id, event=REVOKED_EVENT, request=request)
        cookie_value, fresh = await self.s.sessions.start(
            user_id=user.id,
            role=user.role,
            user_agent=request.headers.get("user-agent", ""),
            ip=request.state.client_ip,
        )
        self.s.audit.event("password.changed", request, user_id=user.id, sid=fresh.sid)
        response = RedirectResponse("/account?changed=1", status_code=303)
        set_session_cookie(response, cookie_value)
        return response

    async def _form(
        self,
        request: Request,
        session: Session,
        *,
        error: str = "",
        changed: bool = False,
        status: int = 200,
    ) -> Response:
        context = {"error": error, "changed": changed}
        return await render_page(self.s, request, session, "account.html", context, status=status)


def _password_problem(current: str, new: str, confirm: str) -> str:
    """What is wrong with the form before any hashing, or "" when it may go on."""
    if not current or len(current) > MAX_PASSWORD_LENGTH:
        return WRONG_PASSWORD
    try:
        check_new_password(new)
    except BadRequest as exc:
        return exc.description
    if new != confirm:
        return MISMATCH
    return UNCHANGED if new == current else ""


def _attempts_key(user_id: str) -> str:
    return f"password-change:{user_id}"


def _device(session: Session, *, current: bool) -> Device:
    return Device(
        sid=session.sid,
        label=summarize(session.user_agent),
        user_agent=session.user_agent,
        ip=session.ip,
        created=_utc(session.created_at),
        last_seen=_utc(session.last_seen),
        current=current,
    )


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _signed_out() -> Response:
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response


def routes(services: Services) -> list[Route]:
    devices = DeviceEndpoints(services)
    password = PasswordEndpoints(services)
    return [
        Route("/sessions", devices.page, methods=["GET"]),
        Route("/sessions/revoke", devices.revoke, methods=["POST"]),
        Route("/sessions/revoke-others", devices.revoke_others, methods=["POST"]),
        Route("/account", password.page, methods=["GET"]),
        Route("/account/password", password.change, methods=["POST"]),
    ]
