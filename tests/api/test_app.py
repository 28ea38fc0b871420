from __future__ import annotations

import pytest

from tests.api.conftest import ApiHarness

pytestmark = pytest.mark.anyio


async def test_a_trailing_slash_is_not_redirected_to_the_host_header(harness: ApiHarness) -> None:
    headers = {"Host": "evil.example", "Authorization": f"Bearer {harness.token()}"}
    response = await harness.client.get("/notes/", headers=headers)
    assert response.status_code == 404
    assert "location" not in response.headers
