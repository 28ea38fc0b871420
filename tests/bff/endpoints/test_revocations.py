"""The revocation stream's door: only APIs holding the shared secret may follow it."""

from __future__ import annotations

import pytest

from bff.settings import Settings
from tests.conftest import System

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", "{secret}", "Basic {secret}", "Bearer ", "Bearer  {secret}", "Bearer"],
)
async def test_the_stream_refuses_anyone_without_the_secret(
    system: System, bff_settings: Settings, authorization: str | None
) -> None:
    secret = (bff_settings.var_dir / "revocation_secret").read_text().strip()
    headers = {"Authorization": authorization.format(secret=secret)} if authorization else {}
    response = await system.bff.get("/internal/revocations", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert secret not in response.text
