"""The one session guard: the same order everywhere (anonymous, anti-forgery proof, origin), and
ambiguous requests refused rather than settled by picking one value."""

from __future__ import annotations

import pytest

from tests.conftest import JSON, PASSWORD, System, csrf_from, login

pytestmark = pytest.mark.anyio

CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
JSON_CALLS = [("GET", "/bff/user"), ("POST", "/bff/token"), ("POST", "/bff/logout")]
PROXY_CALLS = [("GET", "/api/me"), ("POST", "/api/notes"), ("DELETE", "/api/notes/x")]
FORM_POSTS = ["/logout", "/sessions/revoke", "/sessions/revoke-others", "/account/password"]


@pytest.mark.parametrize(("method", "path"), JSON_CALLS + PROXY_CALLS)
async def test_anonymous_json_calls_are_401_whatever_else_is_wrong(
    system: System, method: str, path: str
) -> None:
    # no X-CSRF and a cross-site origin: still 401 first, as the contract says
    response = await system.bff.request(method, path, headers=CROSS_SITE)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


@pytest.mark.parametrize(("method", "path"), JSON_CALLS + PROXY_CALLS)
async def test_a_session_without_x_csrf_is_403_before_the_origin_is_looked_at(
    system: System, user_id: str, method: str, path: str
) -> None:
    await login(system.bff)
    response = await system.bff.request(method, path)
    assert response.status_code == 403
    assert "X-CSRF" in response.json()["error_description"]
    if method != "GET":  # the origin is checked on unsafe methods only
        response = await system.bff.request(method, path, headers={**JSON, **CROSS_SITE})
        assert response.status_code == 403
        assert response.json()["error_description"] == "cross-origin request refused"
    assert (await system.bff.get("/bff/user", headers=JSON)).status_code == 200


@pytest.mark.parametrize("path", [path for path in FORM_POSTS if path != "/logout"])
async def test_anonymous_form_posts_go_to_sign_in_before_any_other_check(
    system: System, path: str
) -> None:
    response = await system.bff.post(path, headers=CROSS_SITE)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_an_anonymous_logout_clears_the_cookie_only_for_our_own_pages(
    system: System,
) -> None:
    # it changes the browser's state (the cookie), so the origin is checked even without one
    assert (await system.bff.post("/logout", headers=CROSS_SITE)).status_code == 403
    same = {"Origin": "https://bff.test", "Sec-Fetch-Site": "same-origin"}
    assert (await system.bff.post("/logout", headers=same)).status_code == 303


@pytest.mark.parametrize("path", FORM_POSTS)
async def test_form_posts_check_the_token_then_the_origin(
    system: System, user_id: str, path: str
) -> None:
    await login(system.bff)
    token = csrf_from((await system.bff.get("/dashboard")).text)
    assert (await system.bff.post(path, data={"csrf_token": "forged"})).status_code == 403
    refused = await system.bff.post(path, data={"csrf_token": token}, headers=CROSS_SITE)
    assert refused.status_code == 403
    assert refused.json()["error_description"] == "cross-origin request refused"
    assert (await system.bff.get("/bff/user", headers=JSON)).status_code == 200


async def test_a_refused_request_does_not_slide_the_session(system: System, user_id: str) -> None:
    await login(system.bff)
    before = (await system.bff.get("/bff/user?slide=false", headers=JSON)).json()
    system.clock.advance(600)
    assert (await system.bff.post("/bff/token", headers=CROSS_SITE | JSON)).status_code == 403
    assert (await system.bff.get("/bff/user")).status_code == 403
    after = (await system.bff.get("/bff/user?slide=false", headers=JSON)).json()
    assert after["session"]["idle_expires_at"] == before["session"]["idle_expires_at"]


async def test_the_session_cookie_sent_twice_is_refused(system: System, user_id: str) -> None:
    await login(system.bff)
    value = system.bff.cookies["__Host-sid"]
    anonymous = system.new_browser()
    for cookie in (
        f"__Host-sid={value}; __Host-sid=forged",
        f"__Host-sid=forged; __Host-sid={value}",
    ):
        response = await anonymous.get("/bff/user", headers={**JSON, "Cookie": cookie})
        assert response.status_code == 400
        assert "more than once" in response.json()["error_description"]
    split = [("cookie", f"__Host-sid={value}"), ("cookie", "__Host-sid=forged"), ("x-csrf", "1")]
    assert (await anonymous.get("/bff/user", headers=split)).status_code == 400
    page = await anonymous.get(
        "/dashboard", headers={"Cookie": f"__Host-sid={value}; __Host-sid=x"}
    )
    assert page.status_code == 400


@pytest.mark.parametrize("name", ["x-csrf", "origin", "sec-fetch-site"])
async def test_a_guard_header_sent_twice_is_refused(
    system: System, user_id: str, name: str
) -> None:
    await login(system.bff)
    values = {"x-csrf": "1", "origin": "https://bff.test", "sec-fetch-site": "same-origin"}
    headers = [(key, value) for key, value in values.items() if key != name]
    headers += [(name, values[name]), (name, values[name])]
    response = await system.bff.post("/bff/token", headers=headers)
    assert response.status_code == 400
    assert "more than once" in response.json()["error_description"]


async def test_a_form_field_sent_twice_is_refused(system: System, user_id: str) -> None:
    await login(system.bff)
    token = csrf_from((await system.bff.get("/dashboard")).text)
    response = await system.bff.post(
        "/logout",
        content=f"csrf_token={token}&csrf_token={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert (await system.bff.get("/bff/user", headers=JSON)).status_code == 200


async def test_a_sign_in_with_a_field_sent_twice_is_refused(system: System, user_id: str) -> None:
    token = csrf_from((await system.bff.get("/login")).text)
    response = await system.bff.post(
        "/login",
        content=(
            f"csrf_token={token}&email=alice%40example.com&email=bob%40example.com"
            f"&password={PASSWORD.replace(' ', '+')}"
        ),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "__Host-sid" not in system.bff.cookies


async def test_a_json_key_sent_twice_is_refused(system: System, user_id: str) -> None:
    await login(system.bff)
    response = await system.bff.post(
        "/bff/token",
        content='{"scope": "notes:read", "scope": "notes:read notes:write"}',
        headers={**JSON, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "more than once" in response.json()["error_description"]


@pytest.mark.parametrize("query", ["/login?next=/a&next=/b", "/bff/user?slide=false&slide=true"])
async def test_a_parameter_sent_twice_is_refused(system: System, user_id: str, query: str) -> None:
    await login(system.bff)
    assert (await system.bff.get(query, headers=JSON)).status_code == 400


async def test_a_body_that_only_starts_like_a_form_carries_no_token(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    token = csrf_from((await system.bff.get("/dashboard")).text)
    response = await system.bff.post(
        "/logout",
        content=f"csrf_token={token}",
        headers={"Content-Type": "application/x-www-form-urlencodedX"},
    )
    assert response.status_code == 403
    assert (await system.bff.get("/bff/user", headers=JSON)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/bff/user"), ("POST", "/bff/token"), ("GET", "/api/me")]
)
async def test_a_page_of_another_session_is_refused_not_answered(
    system: System, user_id: str, method: str, path: str
) -> None:
    await login(system.bff)
    sid = (await system.bff.get("/bff/user", headers=JSON)).json()["sid"]
    ours = await system.bff.request(method, path, headers={**JSON, "X-BFF-Sid": sid})
    assert ours.status_code == 200
    # the page was rendered for an older session; the cookie now holds this one
    stale = await system.bff.request(method, path, headers={**JSON, "X-BFF-Sid": "older-sid"})
    assert stale.status_code == 409
    assert stale.json()["error"] == "session_changed"
    assert "access_token" not in stale.text and user_id not in stale.text
