from __future__ import annotations

import sqlite3
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import ApiHarness

pytestmark = pytest.mark.anyio

READ_ONLY = "notes:read"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create(harness: ApiHarness, sub: str = "u_alice", **note: Any) -> dict[str, Any]:
    response = await harness.client.post(
        "/notes", json={"title": "t", "body": "b", **note}, headers=bearer(harness.token(sub=sub))
    )
    assert response.status_code == 201
    return dict(response.json())


async def post_raw(
    harness: ApiHarness, content: bytes, content_type: str = "application/json"
) -> httpx.Response:
    headers = {**bearer(harness.token()), "Content-Type": content_type}
    return await harness.client.post("/notes", content=content, headers=headers)


async def test_note_round_trip_create_read_list_patch_delete(harness: ApiHarness) -> None:
    auth = bearer(harness.token())
    created = await harness.client.post("/notes", json={"title": "Hi", "body": "x"}, headers=auth)
    assert created.status_code == 201
    note = created.json()
    assert created.headers["location"] == f"/notes/{note['id']}"
    now = int(harness.clock.now())
    assert note == {
        "id": note["id"],
        "title": "Hi",
        "body": "x",
        "created_at": now,
        "updated_at": now,
    }
    assert (await harness.client.get(f"/notes/{note['id']}", headers=auth)).json() == note
    assert (await harness.client.get("/notes", headers=auth)).json() == {"notes": [note]}

    harness.clock.advance(10)
    patched = await harness.client.patch(f"/notes/{note['id']}", json={"body": "y"}, headers=auth)
    assert patched.status_code == 200
    assert patched.json() == {**note, "body": "y", "updated_at": now + 10}

    deleted = await harness.client.delete(f"/notes/{note['id']}", headers=auth)
    assert deleted.status_code == 204
    assert (await harness.client.get(f"/notes/{note['id']}", headers=auth)).status_code == 404
    assert (await harness.client.get("/notes", headers=auth)).json() == {"notes": []}


async def test_note_responses_are_not_cached(harness: ApiHarness) -> None:
    note = await create(harness)
    response = await harness.client.get(f"/notes/{note['id']}", headers=bearer(harness.token()))
    assert response.headers["cache-control"] == "no-store"


async def test_list_is_newest_first_and_paged_by_limit_and_offset(harness: ApiHarness) -> None:
    ids = []
    for title in ("a", "b", "c"):
        ids.append((await create(harness, title=title))["id"])
        harness.clock.advance(1)
    auth = bearer(harness.token())
    listed = (await harness.client.get("/notes", headers=auth)).json()["notes"]
    assert [n["id"] for n in listed] == ids[::-1]
    page = await harness.client.get("/notes", params={"limit": 1, "offset": 1}, headers=auth)
    assert [n["id"] for n in page.json()["notes"]] == [ids[1]]


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=x",
        "offset=-1",
        "limit=1.5",
        "limit=%EF%BC%91",
        "limit=1&limit=2",
        "offset=99999999999",
        "limt=5",
    ],
)
async def test_list_rejects_invalid_or_unknown_query_parameters_with_422(
    harness: ApiHarness, query: str
) -> None:
    response = await harness.client.get(f"/notes?{query}", headers=bearer(harness.token()))
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert set(response.json()["fields"]) == {query.partition("=")[0]}  # names the parameter


async def test_list_shows_only_the_callers_notes(harness: ApiHarness) -> None:
    mine = await create(harness, sub="u_bob")
    await create(harness, sub="u_alice")
    listed = await harness.client.get("/notes", headers=bearer(harness.token(sub="u_bob")))
    assert listed.json() == {"notes": [mine]}


async def test_another_users_note_is_404_for_read_patch_and_delete_and_stays_unchanged(
    harness: ApiHarness,
) -> None:
    note = await create(harness, sub="u_alice", title="secret")
    path, bob = f"/notes/{note['id']}", bearer(harness.token(sub="u_bob"))
    answers = [
        await harness.client.get(path, headers=bob),
        await harness.client.patch(path, json={"title": "pwned"}, headers=bob),
        await harness.client.delete(path, headers=bob),
    ]
    assert [r.status_code for r in answers] == [404, 404, 404]
    assert all(r.json()["error"] == "not_found" for r in answers)
    unknown = await harness.client.get("/notes/AAAAAAAAAAAAAAAA", headers=bob)
    assert unknown.json() == answers[0].json()  # indistinguishable from an unknown id
    alice = await harness.client.get(path, headers=bearer(harness.token(sub="u_alice")))
    assert alice.json() == note


@pytest.mark.parametrize("note_id", ["a" * 65, "bad.id", "x%20y", "%00", "%C3%A9", "..%2F..%2Fme"])
async def test_malformed_note_ids_are_404(harness: ApiHarness, note_id: str) -> None:
    response = await harness.client.get(f"/notes/{note_id}", headers=bearer(harness.token()))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "json"),
    [
        ("POST", "/notes", {"title": "t", "body": "b"}),
        ("PATCH", "/notes/{id}", {"title": "t"}),
        ("DELETE", "/notes/{id}", None),
    ],
)
async def test_read_only_token_cannot_write(
    harness: ApiHarness, method: str, path: str, json: Any
) -> None:
    note = await create(harness)
    response = await harness.client.request(
        method,
        path.format(id=note["id"]),
        json=json,
        headers=bearer(harness.token(scope=READ_ONLY)),
    )
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="notes:write"'
    )
    assert response.json()["error"] == "insufficient_scope"
    owner = bearer(harness.token())
    assert (await harness.client.get(f"/notes/{note['id']}", headers=owner)).json() == note
    assert len((await harness.client.get("/notes", headers=owner)).json()["notes"]) == 1


@pytest.mark.parametrize("path", ["/notes", "/notes/{id}"])
async def test_write_only_token_cannot_read(harness: ApiHarness, path: str) -> None:
    note = await create(harness)
    response = await harness.client.get(
        path.format(id=note["id"]), headers=bearer(harness.token(scope="notes:write"))
    )
    assert response.status_code == 403
    assert 'scope="notes:read"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/notes"),
        ("POST", "/notes"),
        ("GET", "/notes/x"),
        ("PATCH", "/notes/x"),
        ("DELETE", "/notes/x"),
        ("GET", "/admin/stats"),
    ],
)
async def test_every_protected_route_without_a_token_is_401(
    harness: ApiHarness, method: str, path: str
) -> None:
    response = await harness.client.request(method, path, json={"title": "t", "body": ""})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


@pytest.mark.parametrize(
    ("note", "field"),
    [
        ({"title": "x" * 201, "body": ""}, "title"),
        ({"title": "", "body": ""}, "title"),
        ({"title": "t", "body": "x" * 10_001}, "body"),
    ],
)
async def test_oversized_or_empty_fields_are_422(
    harness: ApiHarness, note: dict[str, str], field: str
) -> None:
    response = await harness.client.post("/notes", json=note, headers=bearer(harness.token()))
    assert response.status_code == 422
    assert field in response.json()["fields"]


async def test_fields_at_their_limits_are_accepted(harness: ApiHarness) -> None:
    note = await create(harness, title="é" * 200, body="x" * 10_000)
    assert (len(note["title"]), len(note["body"])) == (200, 10_000)


async def test_wrong_types_are_422_naming_each_field(harness: ApiHarness) -> None:
    response = await harness.client.post(
        "/notes", json={"title": 5, "body": None}, headers=bearer(harness.token())
    )
    assert response.status_code == 422
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "some fields are invalid",
        "fields": {
            "title": "must be a string of 1 to 200 characters",
            "body": "must be a string of 0 to 10000 characters",
        },
    }


TITLE_RULE = "must not contain control characters"
BODY_RULE = "must not contain control characters other than tab, newline and carriage return"
REFUSED_CONTROLS = [
    *(("title", control, TITLE_RULE) for control in "\x00\x07\t\n\r\x1b\x1f\x7f\x80\x85\x9f"),
    *(("body", control, BODY_RULE) for control in "\x00\x01\x08\x0b\x0c\x0e\x1b\x1f"),
]


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize(
    ("field", "control", "rule"),
    [pytest.param(*case, id=f"{case[0]}-U+{ord(case[1]):04X}") for case in REFUSED_CONTROLS],
)
async def test_a_control_character_in_a_title_or_body_is_422_naming_the_field(
    harness: ApiHarness, method: str, field: str, control: str, rule: str
) -> None:
    note = await create(harness)
    path = "/notes" if method == "POST" else f"/notes/{note['id']}"
    sent = {"title": "t", field: f"a{control}b"}
    response = await harness.client.request(
        method, path, json=sent, headers=bearer(harness.token())
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {field: rule}
    listed = await harness.client.get("/notes", headers=bearer(harness.token()))
    assert listed.json() == {"notes": [note]}  # nothing stored, nothing changed


async def test_a_title_ending_in_a_newline_is_refused(harness: ApiHarness) -> None:
    # a `$` that matched before a final newline (Python's re) would let this one through
    response = await harness.client.post(
        "/notes", json={"title": "t\n"}, headers=bearer(harness.token())
    )
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"title"}


async def test_a_body_is_multi_line_text_tabs_and_line_breaks_are_kept(
    harness: ApiHarness,
) -> None:
    text = "first line\r\n\tindented\nlast line\x7f\x85 (DEL and C1 are not refused in a body)"
    note = await create(harness, body=text)
    assert note["body"] == text


async def test_unknown_and_missing_fields_are_422(harness: ApiHarness) -> None:
    response = await harness.client.post(
        "/notes", json={"body": "b", "owner": "u_bob"}, headers=bearer(harness.token())
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"owner": "unknown field", "title": "is required"}


async def test_a_note_may_be_just_a_title(harness: ApiHarness) -> None:
    response = await harness.client.post(
        "/notes", json={"title": "t"}, headers=bearer(harness.token())
    )
    assert response.status_code == 201
    assert response.json()["body"] == ""


async def test_patch_needs_at_least_one_known_field(harness: ApiHarness) -> None:
    note = await create(harness)
    auth = bearer(harness.token())
    for body in ({}, {"id": "other"}, {"created_at": 1}):
        response = await harness.client.patch(f"/notes/{note['id']}", json=body, headers=auth)
        assert response.status_code == 422
    assert (await harness.client.get(f"/notes/{note['id']}", headers=auth)).json() == note


@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b"",
        b"not json",
        b'["a list"]',
        b'"text"',
        b"null",
        b'{"title": NaN, "body": ""}',
        b'{"title": "a", "title": "b", "body": ""}',
        b"\xff\xfe",
        b"[" * 5000 + b"]" * 5000,
        b'{"title": ' + b"9" * 5000 + b', "body": ""}',
        b'{"title": "\\ud800", "body": ""}',
        b'{"title": "t", "\\ud800": ""}',
        b'{"\\udfff": 1}',
    ],
)
async def test_malformed_or_non_object_json_is_422(harness: ApiHarness, content: bytes) -> None:
    response = await post_raw(harness, content)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


async def test_body_over_16_kib_is_413_and_nothing_is_stored(harness: ApiHarness) -> None:
    response = await post_raw(harness, b'{"title": "t", "body": "' + b"x" * 17 * 1024 + b'"}')
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"
    listed = await harness.client.get("/notes", headers=bearer(harness.token()))
    assert listed.json() == {"notes": []}


async def test_body_is_not_read_before_the_token_is_checked(harness: ApiHarness) -> None:
    big = b'{"title": "t", "body": "' + b"x" * 17 * 1024 + b'"}'
    headers = {"Content-Type": "application/json"}
    response = await harness.client.post("/notes", content=big, headers=headers)
    assert response.status_code == 401


async def test_streamed_body_without_content_length_is_still_capped(harness: ApiHarness) -> None:
    async def chunks() -> Any:
        for _ in range(20):
            yield b" " * 1024

    headers = {**bearer(harness.token()), "Content-Type": "application/json"}
    response = await harness.client.post("/notes", content=chunks(), headers=headers)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "application/jsonx",
        "",
    ],
)
async def test_non_json_content_type_is_415(harness: ApiHarness, content_type: str) -> None:
    response = await post_raw(harness, b'{"title": "t", "body": "b"}', content_type)
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


async def test_json_with_utf8_charset_is_accepted(harness: ApiHarness) -> None:
    response = await post_raw(
        harness, '{"title": "ü", "body": ""}'.encode(), "application/json; charset=UTF-8"
    )
    assert response.status_code == 201


async def test_admin_stats_counts_distinct_owners_and_all_notes(harness: ApiHarness) -> None:
    for sub in ("u_alice", "u_alice", "u_bob"):
        await create(harness, sub=sub)
    admin = bearer(harness.token(scope="admin", sub="u_root"))
    response = await harness.client.get("/admin/stats", headers=admin)
    assert response.status_code == 200
    assert response.json() == {"users": 2, "notes": 3}


async def test_admin_stats_without_admin_scope_is_403_insufficient_scope(
    harness: ApiHarness,
) -> None:
    token = harness.token(scope="notes:read notes:write")
    response = await harness.client.get("/admin/stats", headers=bearer(token))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="admin"'
    )
    assert response.json()["error"] == "insufficient_scope"


async def test_database_file_is_owner_only(harness: ApiHarness, tmp_path: Path) -> None:
    await create(harness)
    database = tmp_path / "var" / "api.sqlite3"
    files = list(database.parent.glob("api.sqlite3*"))  # with the -wal and -shm files
    assert database in files and len(files) > 1
    assert {oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {oct(0o600)}
    assert stat.S_IMODE(database.parent.stat().st_mode) & 0o077 == 0


async def test_unsupported_method_is_405_listing_the_allowed_ones(harness: ApiHarness) -> None:
    response = await harness.client.put("/notes", headers=bearer(harness.token()))
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}


async def test_database_failure_is_503_json_without_details(
    harness: ApiHarness, tmp_path: Path
) -> None:
    with sqlite3.connect(tmp_path / "var" / "api.sqlite3") as other:
        other.execute("DROP TABLE notes")  # the store's next query fails inside SQLite
    response = await harness.client.get("/notes", headers=bearer(harness.token()))
    assert response.status_code == 503
    assert response.json() == {
        "error": "temporarily_unavailable",
        "error_description": "the notes store is unavailable",
    }
