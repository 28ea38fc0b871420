"""User accounts in SQLite. `id` is a random opaque string: it becomes the tokens' `sub`."""

from __future__ import annotations

import secrets
import sqlite3
import unicodedata
from dataclasses import dataclass
from typing import Literal, Protocol

from bff.errors import BadRequest, StoreUnavailable
from bff.stores import SqliteStore

Role = Literal["user", "admin"]
ROLES: tuple[Role, ...] = ("user", "admin")
MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True, kw_only=True)
class User:
    id: str
    email: str
    role: Role
    password_hash: str
    created_at: float


class UserStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def by_email(self, email: str) -> User | None: ...

    async def by_id(self, user_id: str) -> User | None: ...

    async def add(self, *, email: str, password_hash: str, role: Role, now: float) -> User: ...

    async def set_password_hash(self, user_id: str, password_hash: str) -> None: ...


def normalize_email(email: str) -> str:
    value = unicodedata.normalize("NFKC", email).strip().lower()
    if (
        not value
        or len(value) > MAX_EMAIL_LENGTH
        or "@" not in value
        or any(ch.isspace() or ord(ch) < 32 for ch in value)
    ):
        raise BadRequest("not a valid email address")
    return value


_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


class SqliteUserStore(SqliteStore):
    SCHEMA = _SCHEMA
    NAME = "user store"

    async def by_email(self, email: str) -> User | None:
        rows = self._run("SELECT * FROM users WHERE email = ?", (email,))
        return _user(rows[0]) if rows else None

    async def by_id(self, user_id: str) -> User | None:
        rows = self._run("SELECT * FROM users WHERE id = ?", (user_id,))
        return _user(rows[0]) if rows else None

    async def add(self, *, email: str, password_hash: str, role: Role, now: float) -> User:
        user = User(
            id=f"u_{secrets.token_hex(12)}",
            email=normalize_email(email),
            role=role,
            password_hash=password_hash,
            created_at=now,
        )
        try:
            self._run(
                "INSERT INTO users (id, email, role, password_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (user.id, user.email, user.role, user.password_hash, user.created_at),
            )
        except StoreUnavailable as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise BadRequest(f"a user with email {user.email} already exists") from None
            raise
        return user

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self._run("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        role=row["role"],
        password_hash=row["password_hash"],
        created_at=row["created_at"],
    )
