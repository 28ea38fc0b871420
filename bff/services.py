"""What the endpoints share: built once by the app factory, opened in its lifespan."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from starlette.templating import Jinja2Templates

from bff.audit import Audit
from bff.clock import Clock
from bff.revocation import RevocationFeed, Revoker
from bff.security.csrf import CsrfTokens
from bff.security.keys import KeyRing
from bff.security.passwords import Passwords
from bff.security.ratelimit import LoginThrottle
from bff.security.tokens import TokenMinter
from bff.sessions.manager import SessionManager
from bff.settings import Settings
from bff.tokencache import SessionTokenCache
from bff.users import UserStore


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: Settings
    clock: Clock
    users: UserStore
    sessions: SessionManager
    passwords: Passwords
    throttle: LoginThrottle
    csrf: CsrfTokens
    keys: KeyRing
    minter: TokenMinter
    token_cache: SessionTokenCache
    feed: RevocationFeed
    revoker: Revoker
    audit: Audit
    templates: Jinja2Templates
    api: httpx.AsyncClient
