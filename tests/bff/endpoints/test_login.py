from __future__ import annotations

from http.cookies import SimpleCookie

import anyio
import httpx
import pytest

from bff.errors import Overloaded
from bff.security.passwords import BUSY_MESSAGE, Argon2Passwords
from bff.sessions import hash_session_id
from bff.users import User
from tests.conftest import JSON, PASSWORD, System, csrf_from, login

pytestmark = pytest.mark.anyio


def _set_cookie(response: httpx.Response, name: str) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return str(header)
    return None


async def test_login_form_carries_a_pre_session_csrf_token(system: System) -> None:
    response = await system.bff.get("/login")
    assert response.status_code == 200
    assert csrf_from(response.text)
    cookie = _set_cookie(response, "__Host-login-csrf")
    assert cookie and "HttpOnly" in cookie and "Secure" in cookie and "Path=/" in cookie


async def test_login_sets_a_host_prefixed_httponly_lax_cookie(system: System, user_id: str) -> None:
    response = await login(system.bff)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    header = _set_cookie(response, "__Host-sid")
    assert header is not None
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")}
    assert {"httponly", "secure", "path"} <= attributes
    assert "domain" not in attributes
    assert "SameSite=Lax" in header  # spelt as the contract writes it
    value = SimpleCookie(header)["__Host-sid"].value
    assert len(value) >= 43  # token_urlsafe(32)


async def test_store_holds_only_the_hash_of_the_session_id(system: System, user_id: str) -> None:
    await login(system.bff)
    cookie_value = system.bff.cookies["__Host-sid"]
    store = system.bff_app.state.components.session_store
    session = await store.get(hash_session_id(cookie_value))
    assert session is not None and session.user_id == user_id
    assert cookie_value not in repr(session)
    assert session.sid != cookie_value


async def test_wrong_password_and_unknown_user_get_the_same_401(
    system: System, user_id: str
) -> None:
    wrong = await login(system.bff, password="not the password at all")
    unknown = await login(system.bff, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert "Invalid email or password." in wrong.text
    assert "Invalid email or password." in unknown.text
    assert "__Host-sid" not in system.bff.cookies


async def test_login_without_csrf_token_is_refused(system: System, user_id: str) -> None:
    await system.bff.get("/login")
    response = await system.bff.post(
        "/login", data={"email": "alice@example.com", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "__Host-sid" not in system.bff.cookies


async def test_login_csrf_token_from_another_browser_is_refused(
    system: System, user_id: str
) -> None:
    attacker = system.new_browser()
    token = csrf_from((await attacker.get("/login")).text)
    await system.bff.get("/login")
    response = await system.bff.post(
        "/login", data={"csrf_token": token, "email": "alice@example.com", "password": PASSWORD}
    )
    assert response.status_code == 403


async def test_cross_site_login_post_is_refused(system: System, user_id: str) -> None:
    page = await system.bff.get("/login")
    response = await system.bff.post(
        "/login",
        data={
            "csrf_token": csrf_from(page.text),
            "email": "alice@example.com",
            "password": PASSWORD,
        },
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403


async def test_next_only_goes_to_local_paths(system: System, user_id: str) -> None:
    response = await login(system.bff, next_url="https://evil.example/steal")
    assert response.headers["location"] == "/"
    response = await login(system.bff, next_url="//evil.example")
    assert response.headers["location"] == "/"
    response = await login(system.bff, next_url="/app?tab=1")
    assert response.headers["location"] == "/app?tab=1"


async def test_login_issues_a_new_session_id_and_kills_the_old_one(
    system: System, user_id: str
) -> None:
    await login(system.bff)
    first = system.bff.cookies["__Host-sid"]
    await login(system.bff)
    second = system.bff.cookies["__Host-sid"]
    assert first != second
    store = system.bff_app.state.components.session_store
    assert await store.get(hash_session_id(first)) is None


async def test_a_session_id_the_server_did_not_issue_is_not_adopted(
    system: System, user_id: str
) -> None:
    planted = "attacker-chosen-session-id-0123456789abcdefghijkl"
    system.bff.cookies.set("__Host-sid", planted, domain="bff.test")
    response = await system.bff.get("/bff/user", headers=JSON)
    assert response.status_code == 401
    await login(system.bff)
    assert system.bff.cookies["__Host-sid"] != planted


async def test_oversized_login_body_is_refused_before_hashing(system: System) -> None:
    page = await system.bff.get("/login")
    response = await system.bff.post(
        "/login",
        data={"csrf_token": csrf_from(page.text), "email": "a@b.c", "password": "x" * 10_000},
    )
    assert response.status_code == 413


async def test_password_over_128_characters_is_refused(system: System) -> None:
    page = await system.bff.get("/login")
    response = await system.bff.post(
        "/login",
        data={"csrf_token": csrf_from(page.text), "email": "a@b.c", "password": "é" * 129},
    )
    assert response.status_code == 400


async def test_unicode_password_is_used_whole(system: System) -> None:
    password = "pässwörd-日本語-🔐" * 5
    await system.add_user("uni@example.com", password)
    assert (await login(system.bff, email="uni@example.com", password=password)).status_code == 303
    truncated = password[:-1]
    assert (await login(system.bff, email="uni@example.com", password=truncated)).status_code == 401


async def test_login_with_json_body_is_refused(system: System) -> None:
    response = await system.bff.post("/login", json={"email": "a@b.c"})
    assert response.status_code == 415


async def test_login_accepts_mixed_case_email(system: System, user_id: str) -> None:
    response = await login(system.bff, email="  Alice@Example.COM ")
    assert response.status_code == 303


async def test_same_origin_form_post_with_null_origin_is_accepted(
    system: System, user_id: str
) -> None:
    # what Chromium sends for a form post under a strict referrer policy
    page = await system.bff.get("/login")
    response = await system.bff.post(
        "/login",
        data={
            "csrf_token": csrf_from(page.text),
            "email": "alice@example.com",
            "password": PASSWORD,
        },
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 303


async def test_null_origin_without_fetch_metadata_is_refused(system: System, user_id: str) -> None:
    # a sandboxed iframe or data: page elsewhere also sends Origin: null
    page = await system.bff.get("/login")
    response = await system.bff.post(
        "/login",
        data={
            "csrf_token": csrf_from(page.text),
            "email": "alice@example.com",
            "password": PASSWORD,
        },
        headers={"Origin": "null"},
    )
    assert response.status_code == 403


async def _user_with_old_parameters(system: System) -> tuple[User, str]:
    """old@example.com, whose hash was made with other argon2 parameters than today's."""
    old = Argon2Passwords(time_cost=2, memory_kib=19 * 1024, parallelism=2, workers=1)
    try:
        old_hash = await old.hash(PASSWORD)
    finally:
        old.close()
    users = system.bff_app.state.components.users
    user = await users.add(email="old@example.com", password_hash=old_hash, role="user", now=0.0)
    return user, old_hash


async def test_login_rehashes_a_password_stored_with_old_parameters(system: System) -> None:
    user, old_hash = await _user_with_old_parameters(system)
    users = system.bff_app.state.components.users
    assert (await login(system.bff, email="old@example.com")).status_code == 303
    stored = (await users.by_id(user.id)).password_hash
    assert stored != old_hash and ",p=1$" in stored  # today's parameters
    assert (await login(system.new_browser(), email="old@example.com")).status_code == 303


async def test_an_unknown_user_still_costs_a_full_verification(
    system: System, user_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    passwords = system.bff_app.state.components.passwords
    seen: list[str | None] = []
    verify = passwords.verify

    async def spy(stored_hash: str | None, password: str) -> bool:
        seen.append(stored_hash)
        return bool(await verify(stored_hash, password))

    monkeypatch.setattr(passwords, "verify", spy)
    assert (await login(system.bff, email="ghost@example.com")).status_code == 401
    assert (await login(system.bff, email="not an email")).status_code == 401
    assert seen == [None, None]  # hashed against the dummy, not skipped


@pytest.mark.bff_settings(public_url="http://127.0.0.1:8000")
async def test_on_loopback_the_other_loopback_name_is_the_same_origin(
    system: System, user_id: str
) -> None:
    client = system.new_browser(base_url="https://127.0.0.1:8000")
    for origin, expected in (
        ("http://localhost:8000", 303),
        ("http://127.0.0.1:8000", 303),
        ("http://localhost:8001", 403),
        ("https://localhost:8000", 403),
    ):
        page = await client.get("/login")
        response = await client.post(
            "/login",
            data={
                "csrf_token": csrf_from(page.text),
                "email": "alice@example.com",
                "password": PASSWORD,
            },
            headers={"Origin": origin},
        )
        assert response.status_code == expected, origin


# --- available under attack: a shed hash, the sign-ins per account ------------------------------


def _busy(monkeypatch: pytest.MonkeyPatch, passwords: object, name: str) -> list[str]:
    """Make the hasher's `name` shed every call, as a full queue does; returns the calls."""
    calls: list[str] = []

    async def shed(*args: object) -> object:
        calls.append(name)
        raise Overloaded(BUSY_MESSAGE, retry_after=1)

    monkeypatch.setattr(passwords, name, shed)
    return calls


async def test_a_sign_in_the_hasher_sheds_is_503_with_the_form_and_costs_no_attempt(
    system: System, user_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    passwords = system.bff_app.state.components.passwords
    with monkeypatch.context() as patch:
        _busy(patch, passwords, "verify")
        for _ in range(8):  # past the five free attempts, had they been counted
            response = await login(system.bff)
            assert response.status_code == 503
            assert response.headers["retry-after"] == "1"
            assert response.headers["content-type"].startswith("text/html")
            assert BUSY_MESSAGE in response.text and csrf_from(response.text)
            assert "__Host-sid" not in system.bff.cookies
    assert (await login(system.bff)).status_code == 303  # nothing counted, nothing blocked


async def test_a_rehash_the_hasher_sheds_does_not_fail_the_sign_in(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, old_hash = await _user_with_old_parameters(system)
    users = system.bff_app.state.components.users
    calls = _busy(monkeypatch, system.bff_app.state.components.passwords, "hash")
    assert (await login(system.bff, email="old@example.com")).status_code == 303
    assert calls == ["hash"]
    assert (await users.by_id(user.id)).password_hash == old_hash  # rehashed at a later sign-in


async def test_sign_ins_per_account_are_limited_and_the_next_is_refused_unhashed(
    system: System, user_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await system.add_user("bob@example.com", PASSWORD)
    for _ in range(10):
        assert (await login(system.bff, password="not the password at all")).status_code == 401
        assert (await login(system.bff)).status_code == 303  # ten right, ten wrong: allowed
    verified = _spy(monkeypatch, system.bff_app.state.components.passwords)
    browser = system.new_browser()
    refused = await login(browser)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(5 * 60)
    assert "Too many sign-in attempts" in refused.text
    assert "__Host-sid" not in browser.cookies
    assert verified == []  # refused before argon2 ran
    assert (await login(browser, email="bob@example.com")).status_code == 303  # per account
    system.clock.advance(5 * 60)
    assert (await login(browser)).status_code == 303


@pytest.mark.bff_settings(logins_per_account=3)
async def test_concurrent_sign_ins_cannot_outrun_the_allowance(
    system: System, user_id: str
) -> None:
    browsers = [system.new_browser() for _ in range(5)]
    pages = [await browser.get("/login") for browser in browsers]
    statuses: list[int] = []

    async def sign_in(browser: httpx.AsyncClient, page: httpx.Response) -> None:
        form = {"csrf_token": csrf_from(page.text), "email": "alice@example.com"}
        response = await browser.post("/login", data={**form, "password": PASSWORD})
        statuses.append(response.status_code)

    async with anyio.create_task_group() as group:
        for browser, page in zip(browsers, pages, strict=True):
            group.start_soon(sign_in, browser, page)
    assert sorted(statuses) == [303, 303, 303, 429, 429]
    sessions = await system.bff_app.state.components.sessions.live(user_id)
    assert len(sessions) == 3


def _spy(monkeypatch: pytest.MonkeyPatch, passwords: object) -> list[str | None]:
    seen: list[str | None] = []
    verify = passwords.verify  # type: ignore[attr-defined]

    async def spy(stored_hash: str | None, password: str) -> bool:
        seen.append(stored_hash)
        return bool(await verify(stored_hash, password))

    monkeypatch.setattr(passwords, "verify", spy)
    return seen


async def test_login_page_says_why_a_page_sent_the_user_there(system: System) -> None:
    expired = await system.bff.get("/login?next=/app&reason=expired")
    assert "Your session reached its time limit." in expired.text
    replaced = await system.bff.get("/login?reason=replaced")
    assert "Someone signed in again on this browser" in replaced.text
    assert 'name="next" value="/app"' in expired.text
    # fixed texts only: a link cannot put words of its own on the sign-in page
    crafted = await system.bff.get("/login?reason=Call+us+at+555")
    assert "555" not in crafted.text and 'id="login-notice"' not in crafted.text
    assert (await system.bff.get("/login?reason=ended&reason=expired")).status_code == 400
