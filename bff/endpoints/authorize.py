"""GET/POST /oauth/authorize: the authorization code grant's front channel (RFC 6749 §4.1, PKCE
RFC 7636, RFC 9207's `iss`, RFC 8252's loopback redirects).

Until the client and its redirect URI are known good, every error is a page here, never a
redirect: an open redirector would hand a code or an error to anyone. After that, errors go back
to the client with `state` and `iss`. The user signs in through the normal sign-in page if needed,
then sees a consent page naming the client and the scopes; a consent is remembered per client and
scope set. Only S256 PKCE is accepted; `plain` and a missing challenge are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bff.audit import Audit
from bff.clock import Clock
from bff.endpoints.guard import SessionGuard
from bff.endpoints.rendering import PageRenderer
from bff.endpoints.responses import to_login
from bff.errors import BadRequest
from bff.oauth import scopes as scope_rules
from bff.oauth.clients import AUTHORIZATION_CODE, Client, ClientStore, redirect_uri_matches
from bff.oauth.codes import PKCE_VALUE, AuthorizationCodes
from bff.oauth.consents import ConsentStore
from bff.oauth.errors import OAuthError
from bff.sessions.base import Session

PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
MAX_STATE = 1024
CSP_SOURCE = re.compile(
    r"(https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9a-fA-F:]+\](:[0-9]{1,5})?|[a-z][a-z0-9+.\-]*:)"
)


@dataclass(frozen=True, kw_only=True)
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    redirect_uri_given: bool
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str
    params: dict[str, str]  # as received: carried through the consent form


class PageError(Exception):
    """An error shown as a page: the redirect URI cannot be trusted yet."""


class RedirectError(Exception):
    """An error sent back to the client's (verified) redirect URI."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True, kw_only=True)
class AuthorizeEndpoints:
    guard: SessionGuard
    pages: PageRenderer
    clients: ClientStore
    codes: AuthorizationCodes
    consents: ConsentStore
    audit: Audit
    clock: Clock
    issuer: str

    def routes(self) -> list[Route]:
        return [Route("/oauth/authorize", self.authorize, methods=["GET", "POST"])]

    async def authorize(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._decide(request)
        session = await self.guard.current(request)
        params = _single_params(request)
        try:
            client, redirect_uri, given = await self._client_and_redirect(params)
        except PageError as problem:
            return await self._error_page(request, session, str(problem))
        if session is None:
            return to_login(request.url.path + "?" + request.url.query)
        try:
            asked = self._validate(params, client, redirect_uri, given, session)
        except RedirectError as error:
            return self._redirect(redirect_uri, params.get("state"), error=error)
        # a public client's identity cannot be assured (any program may claim its id and listen
        # on a loopback port): it is asked every time (RFC 8252 §8.6, RFC 6749 §10.2)
        remembered = not client.public and await self.consents.covers(
            session.user_id, client.client_id, asked.scopes
        )
        if remembered:
            return await self._issue(request, session, asked)
        context = {
            "client": client,
            "scopes": scope_rules.described(asked.scopes),
            "params": asked.params,
        }
        # the form's answer redirects to the client: the page's form-action must allow it
        request.state.form_targets = tuple(filter(None, [form_action_source(redirect_uri)]))
        return await self.pages.render(request, session, "consent.html", context)

    async def _decide(self, request: Request) -> Response:
        session, form = await self.guard.form(request)
        if session is None:
            return to_login("/oauth/authorize")
        if form.get("decision") == "allow":
            self.guard.require_user_navigation(request)
        params = {name: form[name] for name in PARAMS if name in form}
        try:
            client, redirect_uri, given = await self._client_and_redirect(params)
        except PageError as problem:
            return await self._error_page(request, session, str(problem))
        try:
            asked = self._validate(params, client, redirect_uri, given, session)
        except RedirectError as error:
            return self._redirect(redirect_uri, params.get("state"), error=error)
        if form.get("decision") != "allow":
            self.audit.event(
                "consent.denied", request, user_id=session.user_id, client_id=client.client_id
            )
            denied = RedirectError("access_denied", "the user denied the request")
            return self._redirect(redirect_uri, asked.state, error=denied)
        if not client.public:  # a public client is asked every time: nothing to remember
            await self.consents.grant(
                session.user_id, client.client_id, asked.scopes, now=self.clock.now()
            )
        self.audit.event(
            "consent.granted",
            request,
            user_id=session.user_id,
            client_id=client.client_id,
            scope=" ".join(asked.scopes),
        )
        return await self._issue(request, session, asked)

    async def _client_and_redirect(self, params: dict[str, str]) -> tuple[Client, str, bool]:
        client_id = params.get("client_id", "")
        client = await self.clients.get(client_id) if client_id else None
        if client is None:
            raise PageError("This application is not registered here.")
        requested = params.get("redirect_uri")
        if requested is None:
            if len(client.redirect_uris) != 1:
                raise PageError("The application did not say where to return.")
            return client, client.redirect_uris[0], False
        if not any(redirect_uri_matches(uri, requested) for uri in client.redirect_uris):
            raise PageError("The application asked to return to an address it did not register.")
        return client, requested, True

    def _validate(
        self,
        params: dict[str, str],
        client: Client,
        redirect_uri: str,
        given: bool,
        session: Session,
    ) -> AuthorizationRequest:
        response_type = params.get("response_type")
        if not response_type:
            raise RedirectError("invalid_request", "response_type is required")
        if response_type != "code":
            raise RedirectError("unsupported_response_type", "response_type must be code")
        if AUTHORIZATION_CODE not in client.grants:
            raise RedirectError("unauthorized_client", "this client may not use codes")
        state = params.get("state")
        if state is not None and len(state) > MAX_STATE:
            raise RedirectError("invalid_request", "state is too long")
        challenge = params.get("code_challenge", "")
        if not PKCE_VALUE.fullmatch(challenge):
            raise RedirectError("invalid_request", "an S256 code_challenge is required (PKCE)")
        if params.get("code_challenge_method") != "S256":
            raise RedirectError("invalid_request", "code_challenge_method must be S256")
        try:
            asked = scope_rules.requested(params.get("scope"), client.scopes)
        except OAuthError as error:
            raise RedirectError(error.code, error.description) from None
        scopes = scope_rules.for_user(asked, session.role)
        if not scopes:
            raise RedirectError("invalid_scope", "you hold none of the requested scopes")
        return AuthorizationRequest(
            client=client,
            redirect_uri=redirect_uri,
            redirect_uri_given=given,
            scopes=scopes,
            state=state,
            code_challenge=challenge,
            params=params,
        )

    async def _issue(
        self, request: Request, session: Session, asked: AuthorizationRequest
    ) -> Response:
        code = await self.codes.issue(
            client_id=asked.client.client_id,
            redirect_uri=asked.redirect_uri,
            redirect_uri_given=asked.redirect_uri_given,
            code_challenge=asked.code_challenge,
            user_id=session.user_id,
            role=session.role,
            scopes=asked.scopes,
        )
        return self._redirect(asked.redirect_uri, asked.state, code=code)

    def _redirect(
        self,
        redirect_uri: str,
        state: str | None,
        *,
        code: str | None = None,
        error: RedirectError | None = None,
    ) -> Response:
        extra: list[tuple[str, str]] = []
        if code is not None:
            extra.append(("code", code))
        if error is not None:
            extra += [("error", error.code), ("error_description", error.description)]
        if state is not None:
            extra.append(("state", state))
        extra.append(("iss", self.issuer))  # RFC 9207: which server answered
        parts = urlsplit(redirect_uri)
        query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *extra])
        target = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})

    async def _error_page(
        self, request: Request, session: Session | None, message: str
    ) -> Response:
        context = {"message": message}
        if session is None:
            return self.pages.templates.TemplateResponse(
                request, "oauth_error.html", {**context, "session": None}, status_code=400
            )
        return await self.pages.render(request, session, "oauth_error.html", context, status=400)


def form_action_source(uri: str) -> str:
    """The CSP source that allows a redirect to `uri`: its origin, or its private-use scheme;
    "" for anything that could not be written safely into the header."""
    parts = urlsplit(uri)
    source = (
        f"{parts.scheme}://{parts.netloc}"
        if parts.scheme in ("http", "https")
        else f"{parts.scheme}:"
    )
    # a registered URI is validated, but a header is no place to trust that: nothing that could
    # end the directive (";", ",", quotes, space) is ever written
    return source if CSP_SOURCE.fullmatch(source) else ""


def _single_params(request: Request) -> dict[str, str]:
    """The authorization request's parameters; one sent twice is refused (RFC 6749 §3.1)."""
    params: dict[str, str] = {}
    for name in PARAMS:
        values = request.query_params.getlist(name)
        if len(values) > 1:
            raise BadRequest(f"the {name} parameter was sent more than once")
        if values:
            params[name] = values[0]
    return params
