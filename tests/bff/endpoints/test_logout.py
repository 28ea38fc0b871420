from __future__ import annotations

import pytest

from bff.sessions import hash_session_id
from tests.conftest import JSON, System, csrf_from, login

pytestmark = pytest.mark.anyio


async def test_logout_deletes_the_session_and_clears_the_cookie(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    cookie_value = system.bff.cookies["__Host-sid"]
    page = await system.bff.get("/dashboard")
    response = await system.bff.post("/logout", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    # our cookie is cleared by name; "cookies" would clear every sibling app's on the site
    assert response.headers["clear-site-data"] == '"cache", "storage"'
    cleared = [h for h in response.headers.get_list("set-cookie") if h.startswith("__Host-sid=")]
    assert cleared and "Max-Age=0" in cleared[0]
    store = system.bff_app.state.components.session_store
    assert await store.get(hash_session_id(cookie_value)) is None


async def test_replaying_the_old_cookie_after_logout_gets_the_login_page(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    old = system.bff.cookies["__Host-sid"]
    page = await system.bff.get("/dashboard")
    await system.bff.post("/logout", data={"csrf_token": csrf_from(page.text)})
    replay = system.new_browser()
    replay.cookies.set("__Host-sid", old, domain="bff.test")
    response = await replay.get("/dashboard")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert (await replay.get("/bff/user", headers=JSON)).status_code == 401


async def test_logout_without_the_session_csrf_token_is_refused(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    response = await system.bff.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 403
    assert (await system.bff.get("/bff/user", headers=JSON)).status_code == 200


async def test_csrf_token_of_another_session_does_not_log_out(system: System, user_id: str) -> None:
    other = system.new_browser()
    await login(other)
    foreign = csrf_from((await other.get("/dashboard")).text)
    await login(system.bff)
    response = await system.bff.post("/logout", data={"csrf_token": foreign})
    assert response.status_code == 403


async def test_logout_via_get_is_not_allowed(system: System, user_id: str) -> None:
    await login(system.bff)
    response = await system.bff.get("/logout")
    assert response.status_code == 405
    assert (await system.bff.get("/bff/user", headers=JSON)).status_code == 200


async def test_json_logout_needs_the_csrf_header(system: System, user_id: str) -> None:
    await login(system.bff)
    assert (await system.bff.post("/bff/logout")).status_code == 403
    response = await system.bff.post("/bff/logout", headers=JSON)
    assert response.status_code == 200
    assert response.json() == {"logged_out": True}
    assert (await system.bff.get("/bff/user", headers=JSON)).status_code == 401


@pytest.mark.parametrize("path", ["/logout", "/bff/logout"])
async def test_cross_site_logout_is_refused(system: System, user_id: str, path: str) -> None:
    await login(system.bff)
    page = await system.bff.get("/dashboard")
    response = await system.bff.post(
        path,
        data={"csrf_token": csrf_from(page.text)},
        headers={**JSON, "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert (await system.bff.get("/bff/user", headers=JSON)).status_code == 200


async def test_a_cross_site_logout_without_the_cookie_clears_nothing(
    system: System, user_id: str
) -> None:
    # a real browser withholds the SameSite=Lax cookie from a cross-site post
    await login(system.bff)
    cookie = system.bff.cookies["__Host-sid"]
    forged = system.new_browser()
    response = await forged.post(
        "/logout",
        data={"x": "1"},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers and "clear-site-data" not in response.headers
    assert (await system.bff.get("/bff/user", headers=JSON)).status_code == 200
    assert system.bff.cookies["__Host-sid"] == cookie


async def test_json_logout_clears_our_cookie_and_only_our_origins_data(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    response = await system.bff.post("/bff/logout", headers=JSON)
    assert response.headers["clear-site-data"] == '"cache", "storage"'
    cleared = [h for h in response.headers.get_list("set-cookie") if h.startswith("__Host-sid=")]
    assert cleared and "Max-Age=0" in cleared[0]
    assert response.headers["cache-control"] == "no-store"


async def test_logout_without_a_form_is_a_missing_csrf_token(system: System, user_id: str) -> None:
    assert (await system.bff.post("/logout")).status_code == 303  # no session: nothing to do
    await login(system.bff)
    assert (await system.bff.post("/logout")).status_code == 403
    assert (await system.bff.get("/bff/user", headers=JSON)).status_code == 200
