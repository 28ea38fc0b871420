from __future__ import annotations

import logging

import httpx
import pytest

from bff.errors import Overloaded
from bff.security.passwords import BUSY_MESSAGE
from bff.sessions import hash_session_id
from tests.conftest import JSON, PASSWORD, System, csrf_from, login

pytestmark = pytest.mark.anyio

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
    "Safari/537.36"
)
NEW_PASSWORD = "a brand new long passphrase"
COOKIE = "__Host-sid"
POST_ROUTES = ("/sessions/revoke", "/sessions/revoke-others", "/account/password")


def browser(system: System, user_agent: str = CHROME) -> httpx.AsyncClient:
    client = system.new_browser()
    client.headers["User-Agent"] = user_agent
    return client


async def sid_of(client: httpx.AsyncClient) -> str:
    response = await client.get("/bff/user", headers=JSON, params={"slide": "false"})
    assert response.status_code == 200
    return str(response.json()["sid"])


async def is_signed_in(client: httpx.AsyncClient) -> bool:
    status = (await client.get("/bff/user", headers=JSON)).status_code
    assert status in (200, 401)
    return status == 200


async def csrf_of(client: httpx.AsyncClient, path: str = "/sessions") -> str:
    return csrf_from((await client.get(path)).text)


def replay(system: System, cookie_value: str) -> httpx.AsyncClient:
    client = system.new_browser()
    client.cookies.set(COOKIE, cookie_value, domain="bff.test")
    return client


def revoked_sids(system: System) -> list[str]:
    feed = system.bff_app.state.components.feed
    return [e.value for e in feed.events() if e.kind == "sid"]


async def stored(system: System, cookie_value: str) -> bool:
    store = system.bff_app.state.components.session_store
    return await store.get(hash_session_id(cookie_value)) is not None


async def change_password(
    client: httpx.AsyncClient,
    current: str = PASSWORD,
    new: str = NEW_PASSWORD,
    confirm: str | None = None,
) -> httpx.Response:
    return await client.post(
        "/account/password",
        data={
            "csrf_token": await csrf_of(client, "/account"),
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


# --- GET /sessions ------------------------------------------------------------------------------


async def test_devices_page_lists_every_live_session_and_marks_this_device(
    system: System, user_id: str
) -> None:
    system.bff.headers["User-Agent"] = FIREFOX
    await login(system.bff)
    async with browser(system, CHROME) as other:
        await login(other)
        mine, theirs = await sid_of(system.bff), await sid_of(other)
        page = await system.bff.get("/sessions")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert "Firefox on Windows" in page.text and "Chrome on Linux" in page.text
        assert f'<tr class="device current" data-sid="{mine}">' in page.text
        assert page.text.count("This device") == 1
        # a revoke form for the other session only, never for a cookie value
        assert f'name="sid" value="{theirs}"' in page.text
        assert f'name="sid" value="{mine}"' not in page.text
        assert system.bff.cookies[COOKIE] not in page.text
        assert other.cookies[COOKIE] not in page.text


async def test_devices_page_hides_expired_sessions(system: System, user_id: str) -> None:
    await login(system.bff)
    async with browser(system) as idle:
        await login(idle)
        idle_sid = await sid_of(idle)
        system.clock.advance(20 * 60)
        assert await is_signed_in(system.bff)  # slides this session only
        system.clock.advance(20 * 60)
        page = await system.bff.get("/sessions")
        assert idle_sid not in page.text


async def test_user_agent_markup_is_escaped_on_the_devices_page(
    system: System, user_id: str
) -> None:
    system.bff.headers["User-Agent"] = "<script>alert(1)</script>"
    await login(system.bff)
    page = await system.bff.get("/sessions")
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


@pytest.mark.parametrize("path", ["/sessions", "/account"])
async def test_anonymous_account_pages_redirect_to_login(system: System, path: str) -> None:
    response = await system.bff.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=%2F{path[1:]}"


# --- POST /sessions/revoke and /sessions/revoke-others -----------------------------------------


async def test_revoking_another_session_kills_its_cookie_at_once(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    async with browser(system) as other:
        await login(other)
        theirs, cookie = await sid_of(other), other.cookies[COOKIE]
        response = await system.bff.post(
            "/sessions/revoke", data={"csrf_token": await csrf_of(system.bff), "sid": theirs}
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/sessions"
        assert not await is_signed_in(other)
        assert not await stored(system, cookie)
        assert theirs in revoked_sids(system)
        assert await is_signed_in(system.bff)


async def test_revoking_this_device_signs_it_out(system: System, user_id: str) -> None:
    await login(system.bff)
    mine, cookie = await sid_of(system.bff), system.bff.cookies[COOKIE]
    response = await system.bff.post(
        "/sessions/revoke", data={"csrf_token": await csrf_of(system.bff), "sid": mine}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    cleared = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{COOKIE}=")]
    assert cleared and "Max-Age=0" in cleared[0]
    assert not await is_signed_in(replay(system, cookie))
    assert mine in revoked_sids(system)


async def test_revoke_others_ends_every_other_session_and_keeps_this_one(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    async with browser(system) as second, browser(system) as third:
        await login(second)
        await login(third)
        others = [await sid_of(second), await sid_of(third)]
        mine = await sid_of(system.bff)
        response = await system.bff.post(
            "/sessions/revoke-others", data={"csrf_token": await csrf_of(system.bff)}
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/sessions"
        assert await is_signed_in(system.bff)
        assert not await is_signed_in(second) and not await is_signed_in(third)
        assert sorted(revoked_sids(system)) == sorted(others)
        assert mine not in revoked_sids(system)


async def test_revoking_another_users_session_is_not_found_and_leaves_it_alive(
    system: System, user_id: str
) -> None:
    await system.add_user("bob@example.com", PASSWORD)
    await login(system.bff)
    async with browser(system) as bob:
        await login(bob, email="bob@example.com")
        bobs = await sid_of(bob)
        response = await system.bff.post(
            "/sessions/revoke", data={"csrf_token": await csrf_of(system.bff), "sid": bobs}
        )
        assert response.status_code == 404
        assert await is_signed_in(bob)
        assert revoked_sids(system) == []


@pytest.mark.parametrize("sid", ["no-such-session", "", "x" * 500])
async def test_revoking_an_unknown_sid_is_refused(system: System, user_id: str, sid: str) -> None:
    await login(system.bff)
    response = await system.bff.post(
        "/sessions/revoke", data={"csrf_token": await csrf_of(system.bff), "sid": sid}
    )
    assert response.status_code == (404 if sid == "no-such-session" else 400)
    assert revoked_sids(system) == []


@pytest.mark.parametrize("path", ["/sessions/revoke", "/sessions/revoke-others"])
@pytest.mark.parametrize("token", [None, "forged", "other-session"])
async def test_revoking_without_this_sessions_csrf_token_is_forbidden(
    system: System, user_id: str, path: str, token: str | None
) -> None:
    await login(system.bff)
    async with browser(system) as other:
        await login(other)
        data = {"sid": await sid_of(other)}
        if token is not None:
            data["csrf_token"] = await csrf_of(other) if token == "other-session" else token
        response = await system.bff.post(path, data=data)
        assert response.status_code == 403
        assert await is_signed_in(other) and await is_signed_in(system.bff)
        assert revoked_sids(system) == []


@pytest.mark.parametrize("path", POST_ROUTES)
@pytest.mark.parametrize(
    "headers", [{"Origin": "https://evil.test"}, {"Sec-Fetch-Site": "cross-site"}]
)
async def test_cross_site_account_posts_are_refused(
    system: System, user_id: str, path: str, headers: dict[str, str]
) -> None:
    await login(system.bff)
    async with browser(system) as other:
        await login(other)
        data = {
            "csrf_token": await csrf_of(system.bff),
            "sid": await sid_of(other),
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        }
        response = await system.bff.post(path, data=data, headers=headers)
        assert response.status_code == 403
        assert await is_signed_in(other) and await is_signed_in(system.bff)
        assert revoked_sids(system) == []
    assert (await login(system.new_browser())).status_code == 303  # password unchanged


@pytest.mark.parametrize("path", POST_ROUTES)
async def test_account_actions_via_get_are_not_allowed(
    system: System, user_id: str, path: str
) -> None:
    await login(system.bff)
    response = await system.bff.get(path)
    assert response.status_code == 405
    assert await is_signed_in(system.bff)


@pytest.mark.parametrize("path", POST_ROUTES)
async def test_anonymous_account_posts_change_nothing(
    system: System, user_id: str, path: str
) -> None:
    async with browser(system) as victim:
        await login(victim)
        response = await system.bff.post(path, data={"sid": await sid_of(victim)})
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
        assert await is_signed_in(victim)
        assert revoked_sids(system) == []


# --- /account and POST /account/password -------------------------------------------------------


async def test_account_page_has_a_password_form_with_a_csrf_token(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    page = await system.bff.get("/account")
    assert page.status_code == 200
    assert 'action="/account/password"' in page.text
    sid = await sid_of(system.bff)
    assert system.bff_app.state.components.csrf.check_session(csrf_from(page.text), sid)


async def test_wrong_current_password_is_refused_and_changes_nothing(
    system: System, user_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bff.audit")
    await login(system.bff)
    response = await change_password(system.bff, current="not the right password")
    assert response.status_code == 400
    assert "The current password is not correct." in response.text
    assert await is_signed_in(system.bff)
    assert (await login(system.new_browser())).status_code == 303
    assert (await login(system.new_browser(), password=NEW_PASSWORD)).status_code == 401
    assert '"event": "password.change_failed"' in caplog.text
    assert "not the right password" not in caplog.text and NEW_PASSWORD not in caplog.text


async def test_password_change_ends_every_session_and_issues_a_new_one(
    system: System, user_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bff.audit")
    await login(system.bff)
    async with browser(system) as other:
        await login(other)
        old_sid, old_cookie = await sid_of(system.bff), system.bff.cookies[COOKIE]
        other_sid, other_cookie = await sid_of(other), other.cookies[COOKIE]

        response = await change_password(system.bff)

        assert response.status_code == 303
        assert response.headers["location"] == "/account?changed=1"
        new_cookie = system.bff.cookies[COOKIE]
        assert new_cookie != old_cookie
        new_sid = await sid_of(system.bff)
        assert new_sid not in (old_sid, other_sid)
        assert not await is_signed_in(replay(system, old_cookie))
        assert not await is_signed_in(other)
        assert not await stored(system, old_cookie) and not await stored(system, other_cookie)
        assert {old_sid, other_sid} <= set(revoked_sids(system))
        assert new_sid not in revoked_sids(system)
    assert (await login(system.new_browser())).status_code == 401
    assert (await login(system.new_browser(), password=NEW_PASSWORD)).status_code == 303
    assert "password was changed" in (await system.bff.get("/account?changed=1")).text
    assert '"event": "password.changed"' in caplog.text
    assert PASSWORD not in caplog.text and NEW_PASSWORD not in caplog.text
    assert old_cookie not in caplog.text and new_cookie not in caplog.text


@pytest.mark.parametrize(
    ("new", "confirm", "message"),
    [
        ("too short", "too short", "at least 12 characters"),
        ("x" * 129, "x" * 129, "at most 128 characters"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "do not match"),
        (PASSWORD, PASSWORD, "must differ"),
    ],
)
async def test_unacceptable_new_password_is_refused_and_changes_nothing(
    system: System, user_id: str, new: str, confirm: str, message: str
) -> None:
    await login(system.bff)
    users = system.bff_app.state.components.users
    before = (await users.by_id(user_id)).password_hash
    response = await change_password(system.bff, new=new, confirm=confirm)
    assert response.status_code == 400
    assert message in response.text
    assert (await users.by_id(user_id)).password_hash == before
    assert await is_signed_in(system.bff)
    assert revoked_sids(system) == []


@pytest.mark.parametrize("token", [None, "forged"])
async def test_password_change_without_the_csrf_token_is_forbidden(
    system: System, user_id: str, token: str | None
) -> None:
    await login(system.bff)
    data = {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    }
    if token is not None:
        data["csrf_token"] = token
    response = await system.bff.post("/account/password", data=data)
    assert response.status_code == 403
    assert (await login(system.new_browser())).status_code == 303
    assert revoked_sids(system) == []


async def test_password_change_body_is_bounded(system: System, user_id: str) -> None:
    await login(system.bff)
    response = await system.bff.post(
        "/account/password",
        data={"csrf_token": await csrf_of(system.bff, "/account"), "current_password": "x" * 5000},
    )
    assert response.status_code == 413


async def test_guessing_the_current_password_is_throttled(system: System, user_id: str) -> None:
    await login(system.bff)
    for _ in range(5):
        assert (await change_password(system.bff, current="wrong password!")).status_code == 400
    throttled = await change_password(system.bff)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert (await login(system.new_browser(), password=NEW_PASSWORD)).status_code == 401
    system.clock.advance(15 * 60)
    assert (await login(system.bff)).status_code == 303  # the throttle is never a lockout
    assert (await change_password(system.bff)).status_code == 303


# --- available under attack: the hasher sheds ----------------------------------------------------


def _shed(monkeypatch: pytest.MonkeyPatch, passwords: object, name: str) -> None:
    async def busy(*args: object) -> object:
        raise Overloaded(BUSY_MESSAGE, retry_after=1)

    monkeypatch.setattr(passwords, name, busy)


@pytest.mark.parametrize("shed", ["verify", "hash"])
async def test_a_password_change_the_hasher_sheds_is_503_and_changes_nothing(
    system: System, user_id: str, monkeypatch: pytest.MonkeyPatch, shed: str
) -> None:
    await login(system.bff)
    cookie = system.bff.cookies[COOKIE]
    with monkeypatch.context() as patch:
        _shed(patch, system.bff_app.state.components.passwords, shed)
        for _ in range(6):  # past the five wrong current passwords, had they been counted
            response = await change_password(system.bff)
            assert response.status_code == 503
            assert response.headers["retry-after"] == "1"
            assert BUSY_MESSAGE in response.text
    assert system.bff.cookies[COOKIE] == cookie and await is_signed_in(system.bff)
    assert (await login(system.new_browser(), password=NEW_PASSWORD)).status_code == 401
    assert (await change_password(system.bff)).status_code == 303  # nothing counted
