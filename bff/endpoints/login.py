"""GET/POST /login and POST /logout: the form-based session channel."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bff.endpoints.common import read_form, require_same_origin
from bff.errors import BadRequest, Forbidden, Throttled
from bff.security.passwords import MAX_PASSWORD_LENGTH
from bff.security.redirects import safe_next
from bff.services import Services
from bff.sessions.manager import SAME_SITE, clear_session_cookie, set_session_cookie
from bff.users import MAX_EMAIL_LENGTH, normalize_email

LOGIN_COOKIE = "__Host-login-csrf"
FAILURE_MESSAGE = "Invalid email or password."
EXPIRED_MESSAGE = "The sign-in form expired. Please try again."
FORM_TYPE = "application/x-www-form-urlencoded"
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'


class LoginEndpoints:
    def __init__(self, services: Services) -> None:
        self.s = services

    async def form(self, request: Request) -> Response:
        return self._render(request, next_url=safe_next(request.query_params.get("next")))

    async def submit(self, request: Request) -> Response:
        require_same_origin(request, self.s.settings.trusted_origins)
        form = await read_form(request, self.s.settings.login_max_body)
        next_url = safe_next(form.get("next"))
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not self.s.csrf.check_login(form.get("csrf_token", ""), nonce):
            return self._render(request, next_url=next_url, error=EXPIRED_MESSAGE, status=403)
        email, password = form.get("email", ""), form.get("password", "")
        if len(email) > MAX_EMAIL_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
            raise BadRequest("email or password too long")
        ip, normalized = request.state.client_ip, _normalized(email)
        # a malformed email still has an account key: it is throttled like any other guess
        account = normalized or email.strip().lower()
        try:
            await self.s.throttle.admit(email=account, ip=ip)
        except Throttled as exc:
            self.s.audit.event("login.throttled", request)
            response = self._render(
                request, next_url=next_url, error=exc.description, status=429, email=email
            )
            response.headers.update(exc.headers)
            return response
        user = await self.s.users.by_email(normalized) if normalized else None
        # hash even for an unknown user: equal timing
        matched = await self.s.passwords.verify(user.password_hash if user else None, password)
        if user is None or not matched:
            self.s.audit.event("login.failed", request, user_id=user.id if user else None)
            return self._render(
                request, next_url=next_url, error=FAILURE_MESSAGE, status=401, email=email
            )
        await self.s.throttle.succeeded(email=account, ip=ip)
        if self.s.passwords.needs_rehash(user.password_hash):
            await self.s.users.set_password_hash(user.id, await self.s.passwords.hash(password))
        await self._end_previous(request)
        cookie_value, session = await self.s.sessions.start(
            user_id=user.id,
            role=user.role,
            user_agent=request.headers.get("user-agent", ""),
            ip=ip,
        )
        self.s.audit.event("login.succeeded", request, user_id=user.id, sid=session.sid)
        response = RedirectResponse(next_url, status_code=303)
        set_session_cookie(response, cookie_value)
        response.delete_cookie(
            LOGIN_COOKIE, path="/", secure=True, httponly=True, samesite=SAME_SITE
        )
        return response

    async def logout(self, request: Request) -> Response:
        require_same_origin(request, self.s.settings.trusted_origins)
        session = await self.s.sessions.current(request, slide=False)
        if session is not None:
            # no form at all is a missing CSRF token (403), not a media-type error
            has_form = request.headers.get("content-type", "").startswith(FORM_TYPE)
            form = await read_form(request, self.s.settings.login_max_body) if has_form else {}
            if not self.s.csrf.check_session(form.get("csrf_token", ""), session.sid):
                raise Forbidden("invalid CSRF token")
            await self.s.revoker.end_session(session, event="logout", request=request)
        response = RedirectResponse("/login", status_code=303)
        clear_session_cookie(response)
        response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response

    async def _end_previous(self, request: Request) -> None:
        # never carry a pre-login session over: the old id dies, a new one is issued
        previous = await self.s.sessions.current(request, slide=False)
        if previous is not None:
            await self.s.revoker.end_session(previous, event="session.replaced", request=request)

    def _render(
        self,
        request: Request,
        *,
        next_url: str,
        error: str = "",
        status: int = 200,
        email: str = "",
    ) -> Response:
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        fresh = not (0 < len(nonce) <= 64)
        if fresh:
            nonce = secrets.token_urlsafe(32)
        response = self.s.templates.TemplateResponse(
            request,
            "login.html",
            {
                "csrf_token": self.s.csrf.for_login(nonce),
                "next": next_url,
                "error": error,
                "email": email,
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
                max_age=3600,
            )
        return response


def _normalized(email: str) -> str | None:
    try:
        return normalize_email(email)
    except BadRequest:
        return None


def routes(services: Services) -> list[Route]:
    endpoints = LoginEndpoints(services)
    return [
        Route("/login", endpoints.form, methods=["GET"]),
        Route("/login", endpoints.submit, methods=["POST"]),
        Route("/logout", endpoints.logout, methods=["POST"]),
    ]
