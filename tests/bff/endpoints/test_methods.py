"""State never changes on GET or HEAD: every state-changing route is POST-only."""

from __future__ import annotations

import pytest

from tests.conftest import JSON, System, login

pytestmark = pytest.mark.anyio

POST_ONLY = [
    "/login",
    "/logout",
    "/bff/token",
    "/bff/logout",
    "/sessions/revoke",
    "/sessions/revoke-others",
    "/account/password",
]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", [p for p in POST_ONLY if p != "/login"])
async def test_state_changing_routes_refuse_safe_methods(
    system: System, user_id: str, method: str, path: str
) -> None:
    await login(system.bff)
    response = await system.bff.request(method, path, headers=JSON)
    assert response.status_code == 405
    assert "POST" in response.headers["allow"]
    assert (await system.bff.get("/bff/user", headers=JSON)).status_code == 200
