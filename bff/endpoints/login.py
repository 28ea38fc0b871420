"""GET/POST /login and POST /logout: the form-based session channel."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from bff.audit import Audit
from bff.endpoints.bodies import read_form
from bff.endpoints.guard import SessionGuard
from bff.endpoints.responses import sign_out
from bff.errors import BadRequest, HTTPProblem, Overloaded, Throttled
from bff.revocation import Revoker
from bff.security.csrf import CsrfTokens
from bff.security.passwords import MAX_PASSWORD_LENGTH, Passwords
from bff.security.ratelimit import LoginThrottle
from bff.security.redirects import safe_next
from bff.security.unambiguous import one_cookie, one_param
from bff.sessions.manager import SAME_SITE, SessionManager, set_session_cookie
from bff.users import MAX_EMAIL_LENGTH, User, UserStore, normalize_email

LOGIN_COOKIE = "__Host-login-csrf"
LOGIN_COOKIE_MAX_AGE = 3600
FAILURE_MESSAGE = "Invalid email or password."
EXPIRED_MESSAGE = "The sign-in form expired. Please try again."
# why a page sent the user here (`/login?reason=…`, set by the browser app's session watch):
# fixed texts, so a link cannot put words of its own on our sign-in page
REASONS = {
    "expired": "Your session reached its time limit. Sign in again to carry on.",
    "ended": "You were signed out. Sign in again to carry on.",
    "replaced": "Someone signed in again on this browser, so your page was signed out.",
}


@dataclass(frozen=True, kw_only=True)
class LoginEndpoints:
    guard: SessionGuard
    sessions: SessionManager
    users: UserStore
    passwords: Passwords
    throttle: LoginThrottle
    revoker: Revoker
    csrf: CsrfTokens
    templates: Jinja2Templates
    audit: Audit
    max_body: int

    def routes(self) -> list[Route]:
        return [
            Route("/login", self.form, methods=["GET"]),
            Route("/login", self.submit, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
        ]

    async def form(self, request: Request) -> Response:
        reason = REASONS.get(one_param(request, "reason") or "", "")
        return self._render(request, next_url=safe_next(one_param(request, "next")), notice=reason)

    async def submit(self, request: Request) -> Response:
        self.guard.require_same_origin(request)
        form = await read_form(request, self.max_body)
        next_url = safe_next(form.get("next"))
        nonce = one_cookie(request, LOGIN_COOKIE) or ""
        if not nonce or not self.csrf.check_login(form.get("csrf_token", ""), nonce):
            return self._render(request, next_url=next_url, error=EXPIRED_MESSAGE, status=403)
        email, password = form.get("email", ""), form.get("password", "")
        if len(email) > MAX_EMAIL_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
            raise BadRequest("email or password too long")
        ip, normalized = request.state.client_ip, _normalized(email)
        # a malformed email still has an account key: it is throttled like any other guess
        account = normalized or email.strip().lower()
        try:
            await self.throttle.admit(email=account, ip=ip)
        except Throttled as exc:
            self.audit.event("login.throttled", request)
            return self._refused(request, exc, next_url=next_url, email=email)
        try:
            user = await self._check_password(request, normalized, password)
        except Overloaded as exc:
            # shed, never checked: the attempt is given back, so retrying costs nothing
            await self.throttle.refund(email=account, ip=ip)
            return self._refused(request, exc, next_url=next_url, email=email)
        if user is None:
            return self._render(
                request, next_url=next_url, error=FAILURE_MESSAGE, status=401, email=email
            )
        try:
            await self.throttle.succeeded(email=account, ip=ip)
        except Throttled as exc:
            self.audit.event("login.throttled", request, user_id=user.id)
            return self._refused(request, exc, next_url=next_url, email=email)
        return await self._sign_in(request, user, password, next_url)

    async def logout(self, request: Request) -> Response:
        session, _ = await self.guard.form(request, slide=False)
        if session is not None:
            await self.revoker.end_session(session, event="logout", request=request)
        else:
            # a browser withholds the Lax cookie from a cross-site post: without this check, any
            # page could clear our cookie and leave the session alive, orphaned
            self.guard.require_same_origin(request)
        return sign_out(RedirectResponse("/login", status_code=303))

    async def _check_password(
        self, request: Request, email: str | None, password: str
    ) -> User | None:
        user = await self.users.by_email(email) if email else None
        # hash even for an unknown user: equal timing
        matched = await self.passwords.verify(user.password_hash if user else None, password)
        if user is None or not matched:
            self.audit.event("login.failed", request, user_id=user.id if user else None)
            return None
        return user

    async def _sign_in(
        self, request: Request, user: User, password: str, next_url: str
    ) -> Response:
        if self.passwords.needs_rehash(user.password_hash):
            try:
                await self.users.set_password_hash(user.id, await self.passwords.hash(password))
            except Overloaded:
                pass  # the sign-in stands; the rehash waits for a later one
        # never carry a pre-login session over: the old id dies, a new one is issued
        previous = await self.guard.current(request, slide=False)
        if previous is not None:
            await self.revoker.end_session(previous, event="session.replaced", request=request)
        cookie_value, session = await self.sessions.start(
            user_id=user.id,
            role=user.role,
            user_agent=request.headers.get("user-agent", ""),
            ip=request.state.client_ip,
            request=request,
        )
        self.audit.event("login.succeeded", request, user_id=user.id, sid=session.sid)
        response = RedirectResponse(next_url, status_code=303)
        set_session_cookie(response, cookie_value)
        response.delete_cookie(
            LOGIN_COOKIE, path="/", secure=True, httponly=True, samesite=SAME_SITE
        )
        return response

    def _refused(
        self, request: Request, problem: HTTPProblem, *, next_url: str, email: str
    ) -> Response:
        """The form again, with the problem's status (429, 503), message and Retry-After."""
        response = self._render(
            request,
            next_url=next_url,
            error=problem.description,
            status=problem.status,
            email=email,
        )
        response.headers.update(problem.headers)
        return response

    def _render(
        self,
        request: Request,
        *,
        next_url: str,
        error: str = "",
        status: int = 200,
        email: str = "",
        notice: str = "",
    ) -> Response:
        nonce = one_cookie(request, LOGIN_COOKIE) or ""
        fresh = not (0 < len(nonce) <= 64)
        if fresh:
            nonce = secrets.token_urlsafe(32)
        response = self.templates.TemplateResponse(
            request,
            "login.html",
            {
                "csrf_token": self.csrf.for_login(nonce),
                "next": next_url,
                "error": error,
                "email": email,
                "notice": notice,
            },
            status_code=status,
        )
        if fresh:
            response.set_cookie(
                LOGIN_COOKIE,
                nonce,
                path="/",
                secure=True,
                httponly=True,
                samesite=SAME_SITE,
                max_age=LOGIN_COOKIE_MAX_AGE,
            )
        return response


def _normalized(email: str) -> str | None:
    try:
        return normalize_email(email)
    except BadRequest:
        return None
