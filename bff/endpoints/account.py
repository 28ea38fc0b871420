"""The account pages: "My devices" (GET /sessions, revoke one or all others) and the password
change (GET /account, POST /account/password). Every revocation goes through the Revoker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bff.audit import Audit
from bff.endpoints.guard import SessionGuard
from bff.endpoints.rendering import PageRenderer
from bff.endpoints.responses import sign_out, to_login
from bff.errors import BadRequest, Forbidden, HTTPProblem, NotFound, Overloaded, Throttled
from bff.oauth.clients import ClientStore
from bff.oauth.consents import ConsentStore
from bff.oauth.families import Family, RefreshFamilies
from bff.revocation import Revoker
from bff.security.passwords import MAX_PASSWORD_LENGTH, Passwords, check_new_password
from bff.security.ratelimit import RateLimit
from bff.sessions.base import Session
from bff.sessions.manager import SessionManager, set_session_cookie
from bff.useragent import summarize
from bff.users import User, UserStore

REVOKED_EVENT = "session.revoked"
REMOVED = "A removed application"
MAX_SID_LENGTH = 64
WRONG_PASSWORD = "The current password is not correct."
MISMATCH = "The new password and its confirmation do not match."
UNCHANGED = "The new password must differ from the current one."
THROTTLED = "Too many attempts. Try again later."


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


@dataclass(frozen=True, kw_only=True)
class App:
    """An app or device holding a grant of the user's (a refresh family), or an app the user
    allowed that holds none right now (its consent would let it back in), as the page shows it."""

    family_id: str  # "" for a consent without a live grant
    client_id: str
    client_name: str
    scopes: str
    first_used: str
    last_used: str
    ip: str


@dataclass(frozen=True, kw_only=True)
class DeviceEndpoints:
    guard: SessionGuard
    pages: PageRenderer
    sessions: SessionManager
    families: RefreshFamilies
    clients: ClientStore
    consents: ConsentStore
    revoker: Revoker

    def routes(self) -> list[Route]:
        return [
            Route("/sessions", self.page, methods=["GET"]),
            Route("/sessions/revoke", self.revoke, methods=["POST"]),
            Route("/sessions/revoke-others", self.revoke_others, methods=["POST"]),
            Route("/sessions/revoke-app", self.revoke_app, methods=["POST"]),
            Route("/sessions/revoke-all", self.revoke_all, methods=["POST"]),
        ]

    async def page(self, request: Request) -> Response:
        session = await self.guard.current(request)
        if session is None:
            return to_login("/sessions")
        live = await self.sessions.live(session.user_id)
        live.sort(key=lambda s: (s.sid != session.sid, -s.last_seen))
        devices = [_device(s, current=s.sid == session.sid) for s in live]
        context = {"devices": devices, "apps": await self._apps(session.user_id)}
        return await self.pages.render(request, session, "sessions.html", context)

    async def revoke_app(self, request: Request) -> Response:
        """Revoke one grant (`family`), or everything one app holds of the user (`client`: its
        grants and the consent that would let it back in without asking)."""
        session, form = await self.guard.form(request)
        if session is None:
            return to_login("/sessions")
        family_id, client_id = form.get("family", ""), form.get("client", "")
        ended = await self._revocable(session.user_id, family_id, client_id)
        for family in ended:
            await self.revoker.end_family(family.family_id, event="family.revoked", request=request)
        await self.consents.forget(session.user_id, client_id or ended[0].client_id)
        return RedirectResponse("/sessions", status_code=303)

    async def _revocable(self, user_id: str, family_id: str, client_id: str) -> list[Family]:
        # another user's grant is not found, like an unknown one
        if family_id:
            valid = len(family_id) <= MAX_SID_LENGTH
            family = await self.families.get(family_id) if valid else None
            if family is None or family.user_id != user_id:
                raise NotFound("no such app")
            return [family]
        ended = [f for f in await self.families.of_user(user_id) if f.client_id == client_id]
        consented = {c for c, _, _ in await self.consents.clients_of(user_id)}
        if not client_id or not (ended or client_id in consented):
            raise NotFound("no such app")
        return ended

    async def revoke_all(self, request: Request) -> Response:
        """Sign out everywhere: every session (this one too) and every app."""
        session, _ = await self.guard.form(request)
        if session is None:
            return to_login("/sessions")
        await self.revoker.end_user(
            session.user_id, apps=True, event=REVOKED_EVENT, request=request
        )
        return sign_out(RedirectResponse("/login", status_code=303))

    async def _apps(self, user_id: str) -> list[App]:
        families = await self.families.of_user(user_id)
        apps = [await self._app(family) for family in families]
        holding = {family.client_id for family in families}
        allowed: dict[str, tuple[tuple[str, ...], float]] = {}
        for client_id, scopes, granted_at in await self.consents.clients_of(user_id):
            if client_id not in holding:
                allowed[client_id] = scopes, granted_at
        for client_id, (scopes, granted_at) in allowed.items():
            client = await self.clients.get(client_id)
            apps.append(
                App(
                    family_id="",
                    client_id=client_id,
                    client_name=client.name if client else REMOVED,
                    scopes=" ".join(scopes),
                    first_used=_utc(granted_at),
                    last_used="allowed, not signed in now",
                    ip="",
                )
            )
        return apps

    async def _app(self, family: Family) -> App:
        client = await self.clients.get(family.client_id)
        return App(
            family_id=family.family_id,
            client_id=family.client_id,
            client_name=client.name if client else REMOVED,
            scopes=" ".join(family.scopes),
            first_used=_utc(family.created_at),
            last_used=_utc(family.last_used_at),
            ip=family.last_ip,
        )

    async def revoke(self, request: Request) -> Response:
        session, form = await self.guard.form(request)
        if session is None:
            return to_login("/sessions")
        sid = form.get("sid", "")
        if not sid or len(sid) > MAX_SID_LENGTH:
            raise BadRequest("sid is missing or invalid")
        # end_sid searches only this user's sessions: another user's sid is not found
        ended = await self.revoker.end_sid(
            sid, user_id=session.user_id, event=REVOKED_EVENT, request=request
        )
        if ended is None:
            raise NotFound("no such session")
        if ended.sid == session.sid:
            return sign_out(RedirectResponse("/login", status_code=303))
        return RedirectResponse("/sessions", status_code=303)

    async def revoke_others(self, request: Request) -> Response:
        session, _ = await self.guard.form(request)
        if session is None:
            return to_login("/sessions")
        await self.revoker.end_user(
            session.user_id, keep_sid=session.sid, event=REVOKED_EVENT, request=request
        )
        return RedirectResponse("/sessions", status_code=303)


@dataclass(frozen=True, kw_only=True)
class PasswordEndpoints:
    guard: SessionGuard
    pages: PageRenderer
    sessions: SessionManager
    users: UserStore
    passwords: Passwords
    # a stolen cookie must not become an unthrottled oracle for the current password
    attempts: RateLimit
    revoker: Revoker
    audit: Audit

    def routes(self) -> list[Route]:
        return [
            Route("/account", self.page, methods=["GET"]),
            Route("/account/password", self.change, methods=["POST"]),
        ]

    async def page(self, request: Request) -> Response:
        session = await self.guard.current(request)
        if session is None:
            return to_login("/account")
        changed = request.query_params.get("changed") == "1"
        return await self._form(request, session, changed=changed)

    async def change(self, request: Request) -> Response:
        session, form = await self.guard.form(request)
        if session is None:
            return to_login("/account")
        user = await self.users.by_id(session.user_id)
        if user is None:
            raise Forbidden("the account no longer exists")
        current = form.get("current_password", "")
        new, confirm = form.get("new_password", ""), form.get("confirm_password", "")
        problem = _password_problem(current, new, confirm)
        if problem:
            return await self._form(request, session, error=problem, status=400)
        try:
            await self.attempts.enforce(user.id, THROTTLED)
        except Throttled as exc:
            self.audit.event("password.change_throttled", request, user_id=user.id, sid=session.sid)
            return await self._refused(request, session, exc)
        try:
            matched = await self.passwords.verify(user.password_hash, current)
        except Overloaded as exc:
            await self.attempts.hit(user.id, amount=-1)  # shed, never checked: given back
            return await self._refused(request, session, exc)
        if not matched:
            self.audit.event("password.change_failed", request, user_id=user.id, sid=session.sid)
            return await self._form(request, session, error=WRONG_PASSWORD, status=400)
        await self.attempts.reset(user.id)
        try:
            new_hash = await self.passwords.hash(new)
        except Overloaded as exc:
            return await self._refused(request, session, exc)  # nothing changed yet
        return await self._replace_sessions(request, user, new_hash)

    async def _refused(self, request: Request, session: Session, problem: HTTPProblem) -> Response:
        """The form again, with the problem's status (429, 503), message and Retry-After."""
        response = await self._form(
            request, session, error=problem.description, status=problem.status
        )
        response.headers.update(problem.headers)
        return response

    async def _replace_sessions(self, request: Request, user: User, new_hash: str) -> Response:
        await self.users.set_password_hash(user.id, new_hash)
        # every session and app grant ends, this session too: a new id at every privilege change
        await self.revoker.end_user(user.id, apps=True, event=REVOKED_EVENT, request=request)
        cookie_value, fresh = await self.sessions.start(
            user_id=user.id,
            role=user.role,
            user_agent=request.headers.get("user-agent", ""),
            ip=request.state.client_ip,
            request=request,
        )
        self.audit.event("password.changed", request, user_id=user.id, sid=fresh.sid)
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
        return await self.pages.render(request, session, "account.html", context, status=status)


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
