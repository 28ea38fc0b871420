"""The one guard of every session-bound endpoint (pages, forms, `/bff/*`, `/api/*`), always in
this order:

1. no live session: 401 (`Unauthenticated`); pages and their forms redirect to sign-in instead;
2. no anti-forgery proof (`X-CSRF: 1` on JSON calls, the session's token on forms): 403;
3. on unsafe methods, a browser saying the request came from another origin: 403.

An ambiguous request is refused with 400 before it is judged: the session cookie, `X-CSRF`,
`Origin`, `Sec-Fetch-Site` or a form field sent twice. The session slides only once every check
has passed, so a refused request never extends it.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from bff.endpoints.bodies import read_form
from bff.errors import Forbidden, SessionChanged, Unauthenticated
from bff.security.csrf import SAFE_METHODS, CsrfTokens, is_same_origin
from bff.security.unambiguous import one_cookie, one_header
from bff.sessions.base import Session
from bff.sessions.manager import COOKIE_NAME, SessionManager

# the session a page was rendered for (its public handle), sent with its JSON calls
SESSION_HEADER = "x-bff-sid"

FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True, kw_only=True)
class SessionGuard:
    sessions: SessionManager
    csrf: CsrfTokens
    origins: frozenset[str]
    max_form_bytes: int

    async def current(self, request: Request, *, slide: bool = True) -> Session | None:
        """The request's live session, or None: for pages, which answer anonymous users with
        the sign-in form, and for the few endpoints that act without one."""
        return await self.sessions.find(one_cookie(request, COOKIE_NAME), slide=slide)

    async def json(self, request: Request, *, slide: bool = True) -> Session:
        """A JSON call's session: 401, then `X-CSRF: 1` (403), then the origin (403)."""
        session = await self.current(request, slide=False)
        if session is None:
            raise Unauthenticated("no valid session")
        # a cross-site page cannot set a custom header without a CORS preflight we never grant
        if one_header(request, "x-csrf") != "1":
            raise Forbidden("missing X-CSRF: 1 header")
        self._check_origin(request)
        # a page names the session it was rendered for: once the cookie holds another one (a
        # sign-in in another tab), its calls are refused, never answered for that other user
        expected = one_header(request, SESSION_HEADER)
        if expected is not None and expected != session.sid:
            raise SessionChanged("this page belongs to a session that has ended: reload it")
        return await self.sessions.slide(session) if slide else session

    async def form(
        self, request: Request, *, slide: bool = True
    ) -> tuple[Session | None, dict[str, str]]:
        """A form post's session and fields; (None, {}) when anonymous, before anything else.
        Then the form token (403; a body that is not a form carries none), then the origin."""
        session = await self.current(request, slide=False)
        if session is None:
            return None, {}
        form = await self._read_form(request)
        if not self.csrf.check_session(form.get("csrf_token", ""), session.sid):
            raise Forbidden("invalid CSRF token")
        self._check_origin(request)
        return (await self.sessions.slide(session) if slide else session), form

    def require_same_origin(self, request: Request) -> None:
        """The origin check alone, for the sign-in form (which has no session yet)."""
        if not is_same_origin(request, self.origins):
            raise Forbidden("cross-origin request refused")

    def require_user_navigation(self, request: Request) -> None:
        """For a post that gives an app access of its own (a consent, a device approval): a form
        the user set off. A browser sending Fetch Metadata says so (`Sec-Fetch-Mode: navigate`,
        `Sec-Fetch-Dest: document`, `Sec-Fetch-User: ?1`); fetch, a synthetic click and a
        form.submit() outside a user gesture cannot, so an injected script cannot turn the
        session into a refresh token in the background (within the seconds after a real click
        or key press it still could: the README's known limit). A request with none of these
        headers (curl, a browser without Fetch Metadata) passes: the origin and the form token
        are still checked."""
        mode = one_header(request, "sec-fetch-mode")
        dest = one_header(request, "sec-fetch-dest")
        user = one_header(request, "sec-fetch-user")
        if mode is None and dest is None and user is None:
            return
        # WebKit (Safari, every iOS browser) sends Mode and Dest but never User; a script in the
        # page cannot change the User-Agent its navigations carry
        activated = user == "?1" or (user is None and _without_fetch_user(request))
        if (mode, dest) != ("navigate", "document") or not activated:
            raise Forbidden("this answer must come from your own click on the page")

    def _check_origin(self, request: Request) -> None:
        if request.method not in SAFE_METHODS:
            self.require_same_origin(request)

    async def _read_form(self, request: Request) -> dict[str, str]:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != FORM_TYPE:
            return {}  # no form, no token: refused as a missing token, not as a media type
        return await read_form(request, self.max_form_bytes)


def _without_fetch_user(request: Request) -> bool:
    """A WebKit browser, which sends no Sec-Fetch-User (WebKit bug 247697): Safari, and on iOS
    every browser; Chromium and Firefox send it and name themselves."""
    agent = request.headers.get("user-agent", "")
    return "AppleWebKit/" in agent and not any(
        name in agent for name in ("Chrome/", "Chromium/", "Firefox/")
    )
