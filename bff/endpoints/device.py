"""GET/POST /device: where a signed-in user enters the code a device shows (RFC 8628 §3.3), sees
which application asks for what, and approves or denies.

The page warns to approve only a request the user started on a device of their own: the device
flow's known phishing risk is an attacker sending a code of theirs (RFC 8628 §5.4). Code guesses
are limited per user and per network, in the shared counters.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bff.audit import Audit
from bff.endpoints.guard import SessionGuard
from bff.endpoints.rendering import PageRenderer
from bff.endpoints.responses import to_login
from bff.errors import Throttled
from bff.oauth import scopes as scope_rules
from bff.oauth.clients import ClientStore
from bff.oauth.devices import DeviceGrants, display_user_code, normalize_user_code
from bff.security.ratelimit import RateLimit, client_network
from bff.security.unambiguous import one_param
from bff.sessions.base import Session

UNKNOWN = "That code is not valid or has expired. Check it on your device and try again."
TOO_MANY = "Too many codes tried. Wait a few minutes and try again."


@dataclass(frozen=True, kw_only=True)
class DeviceCodeEndpoints:
    guard: SessionGuard
    pages: PageRenderer
    devices: DeviceGrants
    clients: ClientStore
    guesses_per_user: RateLimit
    guesses_per_network: RateLimit
    audit: Audit

    def routes(self) -> list[Route]:
        return [Route("/device", self.page, methods=["GET", "POST"])]

    async def page(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._submit(request)
        session = await self.guard.current(request)
        if session is None:
            query = f"?{request.url.query}" if request.url.query else ""
            return to_login("/device" + query)
        typed = one_param(request, "user_code") or ""
        return await self._enter(request, session, typed=typed[:32])

    async def _submit(self, request: Request) -> Response:
        session, form = await self.guard.form(request)
        if session is None:
            return to_login("/device")
        typed = form.get("user_code", "")[:32]
        try:
            await self.guesses_per_user.enforce(session.user_id, TOO_MANY)
            await self.guesses_per_network.enforce(
                client_network(request.state.client_ip), TOO_MANY
            )
        except Throttled as exc:
            response = await self._enter(
                request, session, typed=typed, error=exc.description, status=429
            )
            response.headers.update(exc.headers)
            return response
        code = normalize_user_code(typed)
        grant = await self.devices.pending(code) if code else None
        client = await self.clients.get(grant.client_id) if grant else None
        if code is None or grant is None or client is None:
            return await self._enter(request, session, typed=typed, error=UNKNOWN, status=400)
        decision = form.get("decision")
        if decision not in ("allow", "deny"):
            context = {
                "client": client,
                "scopes": scope_rules.described(scope_rules.for_user(grant.scopes, session.role)),
                "user_code": display_user_code(code),
            }
            return await self.pages.render(request, session, "device_confirm.html", context)
        allow = decision == "allow"
        if allow:
            self.guard.require_user_navigation(request)
        if not await self.devices.decide(
            code, user_id=session.user_id, role=session.role, approve=allow
        ):
            return await self._enter(request, session, typed=typed, error=UNKNOWN, status=400)
        self.audit.event(
            "device.approved" if allow else "device.denied",
            request,
            user_id=session.user_id,
            client_id=client.client_id,
        )
        context = {"client": client, "approved": allow}
        return await self.pages.render(request, session, "device_done.html", context)

    async def _enter(
        self,
        request: Request,
        session: Session,
        *,
        typed: str,
        error: str = "",
        status: int = 200,
    ) -> Response:
        context = {"user_code": typed, "error": error}
        return await self.pages.render(request, session, "device.html", context, status=status)
