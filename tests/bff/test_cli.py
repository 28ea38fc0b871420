from __future__ import annotations

import asyncio
import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from bff.cli import main
from bff.revocation import SqliteRevocationFeed
from bff.sessions import SqliteSessionStore
from bff.settings import Settings
from bff.users import SqliteUserStore
from bff.wiring import Components, opened

FAST_ARGON2 = {"BFF_ARGON2_TIME_COST": "2", "BFF_ARGON2_MEMORY_KIB": "19456"}


def _env(tmp_path: Path) -> dict[str, str]:
    return {"BFF_VAR_DIR": str(tmp_path / "var"), **FAST_ARGON2}


def _user_role(tmp_path: Path, email: str) -> str | None:
    async def read() -> str | None:
        store = SqliteUserStore(path=tmp_path / "var" / "bff.sqlite3")
        await store.open()
        try:
            user = await store.by_email(email)
            return user.role if user else None
        finally:
            await store.close()

    return asyncio.run(read())


def test_init_creates_owner_only_secrets_keys_and_the_demo_login(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"], env=_env(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "Demo login: demo@example.com / " in out
    var = tmp_path / "var"
    for name in ("secret_key", "keys.json", "bff.sqlite3"):
        assert stat.S_IMODE((var / name).stat().st_mode) == 0o600, name
    assert _user_role(tmp_path, "demo@example.com") == "user"
    # a second run keeps the same login
    assert main(["init"], env=_env(tmp_path)) == 0
    assert capsys.readouterr().out == out


def test_var_is_owner_only_even_when_it_existed_looser(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    os.chmod(var, 0o755)
    assert main(["init"], env=_env(tmp_path)) == 0
    assert stat.S_IMODE(var.stat().st_mode) == 0o700


def test_init_prints_the_configured_public_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**_env(tmp_path), "BFF_PUBLIC_URL": "https://auth.example.com"}
    assert main(["init"], env=env) == 0
    out = capsys.readouterr().out
    assert "(https://auth.example.com/login)" in out and ":8000" not in out


def test_users_add_with_password_flag(tmp_path: Path) -> None:
    code = main(
        ["users", "add", "Root@Example.com", "--role", "admin", "--password", "a strong password"],
        env=_env(tmp_path),
    )
    assert code == 0
    assert _user_role(tmp_path, "root@example.com") == "admin"


def test_users_add_reads_the_password_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a password from a pipe\n"))
    assert main(["users", "add", "pipe@example.com"], env=_env(tmp_path)) == 0
    assert _user_role(tmp_path, "pipe@example.com") == "user"


def test_users_add_refuses_short_passwords_and_duplicates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["users", "add", "a@example.com", "--password", "short"], env=_env(tmp_path)) == 2
    assert "at least 12" in capsys.readouterr().err
    args = ["users", "add", "a@example.com", "--password", "long enough password"]
    assert main(args, env=_env(tmp_path)) == 0
    assert main(args, env=_env(tmp_path)) == 2
    assert "already exists" in capsys.readouterr().err


def test_bad_setting_is_reported_with_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"], env={**_env(tmp_path), "BFF_ACCESS_TOKEN_TTL": "0"}) == 2
    assert "BFF_ACCESS_TOKEN_TTL" in capsys.readouterr().err


def test_keys_rotate_publishes_a_key_that_signs_later_and_list_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    env = _env(tmp_path)
    assert main(["init"], env=env) == 0
    capsys.readouterr()
    with caplog.at_level("INFO", logger="bff.audit"):
        assert main(["keys", "rotate"], env=env) == 0
    assert "it signs from" in capsys.readouterr().out
    assert any('"event": "key.rotated"' in r.getMessage() for r in caplog.records)
    assert main(["keys", "list"], env=env) == 0
    states = [line.split()[2] for line in capsys.readouterr().out.splitlines()]
    assert sorted(states) == ["published", "signing"]  # the new key waits for the JWKS caches


def test_sessions_revoke_ends_every_session_and_tells_the_apis(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert (
        main(["users", "add", "a@example.com", "--password", "long enough password"], env=env) == 0
    )
    database = tmp_path / "var" / "bff.sqlite3"

    async def open_sessions() -> list[str]:
        # the sessions a running BFF on the same files would have started
        components = Components(Settings.from_env(env))
        async with opened(components.session_store, components.feed):
            user = await _user(database, "a@example.com")
            return [
                (await components.sessions.start(user_id=user, role="user", user_agent="", ip=""))[
                    1
                ].sid
                for _ in range(2)
            ]

    async def left() -> tuple[int, list[str]]:
        store, feed = SqliteSessionStore(path=database), SqliteRevocationFeed(path=database)
        await store.open()
        await feed.open()
        user = await _user(database, "a@example.com")
        sessions = await store.list_user(user)
        events = [e.value for e in await feed.since(None) if e.kind == "sid"]
        await store.close()
        await feed.close()
        return len(sessions), events

    sids = asyncio.run(open_sessions())
    assert main(["sessions", "revoke", "--user", "A@example.com"], env=env) == 0
    remaining, revoked = asyncio.run(left())
    assert remaining == 0
    assert sorted(revoked) == sorted(sids)
    assert main(["sessions", "revoke", "--user", "nobody@example.com"], env=env) == 2


async def _user(database: Path, email: str) -> str:
    store = SqliteUserStore(path=database)
    await store.open()
    user = await store.by_email(email)
    await store.close()
    assert user is not None
    return user.id


def test_clients_add_prints_the_id_and_a_secret_once_on_lines_of_their_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(tmp_path)
    args = ["clients", "add", "Reports", "--grant", "client_credentials", "--scope", "notes:read"]
    assert main(args, env=env) == 0
    lines = capsys.readouterr().out.splitlines()
    client_id = lines[0].removeprefix("client_id: ")
    secret = lines[1].removeprefix("client_secret: ")
    assert lines[0].startswith("client_id: c_") and lines[1].startswith("client_secret: ")
    assert len(secret) >= 43  # 256 bits, base64url
    database = (tmp_path / "var" / "bff.sqlite3").read_bytes()
    assert secret.encode() not in database
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in database
    assert main(["clients", "list"], env=env) == 0
    listed = capsys.readouterr().out
    assert client_id in listed and "confidential" in listed and secret not in listed
    assert main(["clients", "rotate-secret", client_id], env=env) == 0
    rotated = capsys.readouterr().out.splitlines()[1].removeprefix("client_secret: ")
    assert rotated != secret
    database = (tmp_path / "var" / "bff.sqlite3").read_bytes()
    assert hashlib.sha256(secret.encode()).hexdigest().encode() not in database
    assert main(["clients", "remove", client_id], env=env) == 0
    assert main(["clients", "remove", client_id], env=env) == 2


def test_a_public_client_gets_no_secret_and_bad_registrations_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(tmp_path)
    public = [
        "clients",
        "add",
        "CLI",
        "--grant",
        "device_code",
        "--scope",
        "notes:read",
        "--public",
    ]
    assert main(public, env=env) == 0
    assert "client_secret" not in capsys.readouterr().out
    for bad in (
        ["--grant", "client_credentials", "--scope", "notes:read", "--public"],
        ["--grant", "authorization_code", "--scope", "notes:read"],  # no redirect URI
        [
            "--grant",
            "authorization_code",
            "--scope",
            "notes:read",
            "--redirect-uri",
            "http://x.example/cb",
        ],
        ["--grant", "client_credentials", "--scope", "everything"],
    ):
        assert main(["clients", "add", "Bad", *bad], env=env) == 2
        assert "error:" in capsys.readouterr().err


def test_sessions_revoke_ends_the_users_app_grants_too(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert (
        main(["users", "add", "a@example.com", "--password", "long enough password"], env=env) == 0
    )

    async def grant() -> str:
        components = Components(Settings.from_env(env))
        async with opened(components.users, components.records):
            user = await _user(tmp_path / "var" / "bff.sqlite3", "a@example.com")
            family, _ = await components.families.start(
                family_id="f_test",
                client_id="c_x",
                client_registered_at=0.0,
                user_id=user,
                role="user",
                scopes=("notes:read",),
                ip="",
                refreshable=True,
            )
            return family.family_id

    async def families_left() -> int:
        components = Components(Settings.from_env(env))
        async with opened(components.records):
            user = await _user(tmp_path / "var" / "bff.sqlite3", "a@example.com")
            return len(await components.families.of_user(user))

    asyncio.run(grant())
    assert asyncio.run(families_left()) == 1
    assert main(["sessions", "revoke", "--user", "a@example.com"], env=env) == 0
    assert asyncio.run(families_left()) == 0


def test_init_registers_the_example_clis_public_client_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(tmp_path)
    assert main(["init"], env=env) == 0
    assert main(["init"], env=env) == 0
    capsys.readouterr()
    assert main(["clients", "list"], env=env) == 0
    listed = capsys.readouterr().out
    assert listed.count("notes-cli  Notes CLI  (public)") == 1
    assert "urn:ietf:params:oauth:grant-type:device_code" in listed
