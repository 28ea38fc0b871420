"""The device authorization grant (RFC 8628): a code to type at /device, approve or deny,
polling with authorization_pending, slow_down, expired_token and access_denied."""

from __future__ import annotations

from typing import Any

import pytest

from bff.oauth.devices import ALPHABET, normalize_user_code
from tests.bff.oauth.conftest import (
    CLICKED,
    DEVICE_GRANT,
    SAFARI,
    SCRIPTED,
    Registered,
    me,
    register,
    token,
)
from tests.conftest import System, csrf_from

pytestmark = pytest.mark.anyio


async def _cli(system: System) -> Registered:
    return await register(
        system, grants=("device_code", "refresh_token"), public=True, name="Notes CLI"
    )


async def _start(system: System, cli: Registered, **extra: str) -> dict[str, Any]:
    response = await system.bff.post(
        "/oauth/device_authorization", data={**cli.post_auth(), **extra}
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


async def _poll(system: System, cli: Registered, device_code: str) -> dict[str, Any]:
    response = await token(system, cli, grant_type=DEVICE_GRANT, device_code=device_code)
    body: dict[str, Any] = response.json()
    return {"status": response.status_code, **body}


async def _answer(
    system: System, user_code: str, decision: str, headers: dict[str, str] | None = None
) -> str:
    page = await system.bff.get("/device")
    confirm = await system.bff.post(
        "/device", data={"csrf_token": csrf_from(page.text), "user_code": user_code}
    )
    assert confirm.status_code == 200, confirm.text
    done = await system.bff.post(
        "/device",
        data={"csrf_token": csrf_from(confirm.text), "user_code": user_code, "decision": decision},
        headers=headers,
    )
    assert done.status_code == (403 if headers and headers not in (CLICKED, SAFARI) else 200)
    return confirm.text


async def test_the_device_gets_tokens_once_the_user_approves(
    system: System, signed_in: str
) -> None:
    cli = await _cli(system)
    started = await _start(system, cli, scope="notes:read")
    assert started["verification_uri"] == "https://bff.test/device"
    assert started["verification_uri_complete"].endswith(f"?user_code={started['user_code']}")
    assert started["expires_in"] == 600 and started["interval"] == 5
    assert (await _poll(system, cli, started["device_code"]))["error"] == "authorization_pending"
    page = await _answer(system, started["user_code"], "allow")
    assert "Notes CLI" in page and "Read your notes" in page
    assert "Only approve this if you started it yourself" in page
    system.clock.advance(5)
    tokens = await _poll(system, cli, started["device_code"])
    assert tokens["status"] == 200 and tokens["refresh_token"] and tokens["scope"] == "notes:read"
    assert (await me(system, tokens["access_token"])).json()["sub"] == signed_in
    system.clock.advance(5)
    assert (await _poll(system, cli, started["device_code"]))["error"] == "invalid_grant"


async def test_polling_too_fast_slows_the_device_down_by_five_seconds(
    system: System, signed_in: str
) -> None:
    cli = await _cli(system)
    started = await _start(system, cli)
    assert (await _poll(system, cli, started["device_code"]))["error"] == "authorization_pending"
    system.clock.advance(2)
    assert (await _poll(system, cli, started["device_code"]))["error"] == "slow_down"
    system.clock.advance(6)  # the interval is now 10 s
    assert (await _poll(system, cli, started["device_code"]))["error"] == "slow_down"
    system.clock.advance(15)
    assert (await _poll(system, cli, started["device_code"]))["error"] == "authorization_pending"


async def test_a_denied_request_answers_access_denied(system: System, signed_in: str) -> None:
    cli = await _cli(system)
    started = await _start(system, cli)
    await _answer(system, started["user_code"], "deny")
    assert (await _poll(system, cli, started["device_code"]))["error"] == "access_denied"


async def test_an_unanswered_request_expires(system: System, signed_in: str) -> None:
    cli = await _cli(system)
    started = await _start(system, cli)
    system.clock.advance(600)
    assert (await _poll(system, cli, started["device_code"]))["error"] == "expired_token"
    page = await system.bff.get("/device")
    late = await system.bff.post(
        "/device", data={"csrf_token": csrf_from(page.text), "user_code": started["user_code"]}
    )
    assert late.status_code == 400 and "not valid or has expired" in late.text


async def test_the_device_code_is_bound_to_its_client(system: System, signed_in: str) -> None:
    cli, other = await _cli(system), await _cli(system)
    started = await _start(system, cli)
    assert (await _poll(system, other, started["device_code"]))["error"] == "invalid_grant"


def test_user_codes_are_typed_loosely_from_an_unambiguous_alphabet() -> None:
    assert set(ALPHABET).isdisjoint("AEIOU01")
    assert normalize_user_code("bcdf-ghjk") == normalize_user_code("BCDFGHJK") == "BCDFGHJK"
    assert normalize_user_code(" bcdf ghjk ") == "BCDFGHJK"
    assert normalize_user_code("BCDF-GHJ0") is None  # a digit is never in a code
    assert normalize_user_code("BCDF") is None


async def test_the_code_is_typed_case_insensitively_without_its_dash(
    system: System, signed_in: str
) -> None:
    cli = await _cli(system)
    started = await _start(system, cli)
    loose = started["user_code"].replace("-", "").lower()
    page = await _answer(system, loose, "allow")
    assert "Approve" in page
    system.clock.advance(5)
    assert (await _poll(system, cli, started["device_code"]))["status"] == 200


async def test_guessing_user_codes_is_limited(system: System, signed_in: str) -> None:
    page = await system.bff.get("/device")
    statuses = []
    for _ in range(11):
        response = await system.bff.post(
            "/device", data={"csrf_token": csrf_from(page.text), "user_code": "BCDF-GHJK"}
        )
        statuses.append(response.status_code)
    assert statuses[:10] == [400] * 10 and statuses[10] == 429


async def test_an_anonymous_visit_signs_in_first(system: System, user_id: str) -> None:
    response = await system.bff.get("/device?user_code=BCDF-GHJK")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fdevice%3Fuser_code%3DBCDF-GHJK"


async def test_a_client_without_the_device_grant_cannot_start_one(system: System) -> None:
    service = await register(system, grants=("client_credentials",))
    response = await system.bff.post("/oauth/device_authorization", data=service.post_auth())
    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"


async def test_approving_ones_own_code_does_not_reset_the_guess_limit(
    system: System, signed_in: str
) -> None:
    cli = await _cli(system)
    page = await system.bff.get("/device")
    for _ in range(8):
        await system.bff.post(
            "/device", data={"csrf_token": csrf_from(page.text), "user_code": "BCDF-GHJK"}
        )
    started = await _start(system, cli)
    await _answer(system, started["user_code"], "allow")  # two more posts: ten in all
    refused = await system.bff.post(
        "/device", data={"csrf_token": csrf_from(page.text), "user_code": "BCDF-GHJK"}
    )
    assert refused.status_code == 429


async def test_starting_device_sign_ins_is_limited_per_network(system: System) -> None:
    cli = await _cli(system)
    statuses = [
        (await system.bff.post("/oauth/device_authorization", data=cli.post_auth())).status_code
        for _ in range(61)
    ]
    assert statuses[:60] == [200] * 60 and statuses[60] == 429


async def test_signing_out_everywhere_burns_an_approval_not_yet_collected(
    system: System, signed_in: str
) -> None:
    cli = await _cli(system)
    started = await _start(system, cli)
    await _answer(system, started["user_code"], "allow")
    system.clock.advance(1)
    page = await system.bff.get("/sessions")
    await system.bff.post("/sessions/revoke-all", data={"csrf_token": csrf_from(page.text)})
    system.clock.advance(5)
    late = await _poll(system, cli, started["device_code"])
    assert late["status"] == 400 and late["error"] == "invalid_grant"


@pytest.mark.parametrize("sent_by", SCRIPTED)
async def test_a_script_in_the_page_cannot_approve_a_device(
    system: System, signed_in: str, sent_by: str
) -> None:
    cli = await _cli(system)
    started = await _start(system, cli, scope="notes:read")
    await _answer(system, started["user_code"], "allow", headers=SCRIPTED[sent_by])
    assert (await _poll(system, cli, started["device_code"]))["error"] == "authorization_pending"
    await _answer(system, started["user_code"], "allow", headers=CLICKED)
    system.clock.advance(started["interval"])
    assert "access_token" in await _poll(system, cli, started["device_code"])


async def test_safari_which_sends_no_sec_fetch_user_can_approve_a_device(
    system: System, signed_in: str
) -> None:
    cli = await _cli(system)
    started = await _start(system, cli, scope="notes:read")
    await _answer(system, started["user_code"], "allow", headers=SAFARI)
    assert "access_token" in await _poll(system, cli, started["device_code"])
