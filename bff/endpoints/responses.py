"""What several endpoints answer the same way: no caching, and signing a browser out."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from starlette.responses import JSONResponse, RedirectResponse, Response

from bff.sessions.manager import clear_session_cookie

# tokens and session data must never sit in a shared or back-button cache
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# what stays inside our origin: "cookies" would clear every cookie of the whole site (sibling
# apps on the same registrable domain); our own cookie is cleared with Set-Cookie instead
CLEAR_SITE_DATA = '"cache", "storage"'
# Starlette's JSON settings, in an encoder built once: json.dumps with them builds one per call
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class FastJSONResponse(JSONResponse):
    """Starlette's JSONResponse, byte for byte, for the hottest routes."""

    def render(self, content: Any) -> bytes:
        return _ENCODER.encode(content).encode("utf-8")


def sign_out(response: Response) -> Response:
    """Clear the session cookie and what the browser keeps for this origin."""
    clear_session_cookie(response)
    response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response


def to_login(path: str) -> Response:
    """303 to the sign-in form, coming back to `path` (a local path) afterwards."""
    return RedirectResponse(f"/login?next={quote(path, safe='')}", status_code=303)
