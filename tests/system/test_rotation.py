"""The rotation drill: keys rotate twice while the browser keeps calling; no request fails."""

from __future__ import annotations

import jwt
import pytest

from tests.conftest import JSON, System, login

pytestmark = pytest.mark.anyio

STEP = 15


async def test_no_request_fails_while_keys_rotate(system: System, user_id: str) -> None:
    await login(system.bff)
    ring = system.bff_app.state.components.key_ring
    tokens: list[tuple[str, int]] = []
    kids_seen: set[str] = set()
    failures: list[tuple[int, int]] = []
    for elapsed in range(0, 40 * 60, STEP):
        if elapsed in (60, 15 * 60):
            ring.rotate()
        minted = await system.bff.post("/bff/token", headers=JSON)
        assert minted.status_code == 200
        token = minted.json()["access_token"]
        kids_seen.add(jwt.get_unverified_header(token)["kid"])
        tokens.append((token, jwt.decode(token, options={"verify_signature": False})["exp"]))
        now = system.clock.now()
        for token, exp in tokens:
            if exp > now:  # every token still alive must keep working
                response = await system.api.get("/me", headers={"Authorization": f"Bearer {token}"})
                if response.status_code != 200:
                    failures.append((elapsed, response.status_code))
        if (await system.bff.get("/dashboard")).status_code != 200:
            failures.append((elapsed, -1))
        system.clock.advance(STEP)
    assert failures == []
    assert len(kids_seen) == 3  # two rotations really happened
    published = (await system.bff.get("/.well-known/jwks.json")).json()["keys"]
    assert len(published) == 1  # the retired keys are gone once their tokens have expired
