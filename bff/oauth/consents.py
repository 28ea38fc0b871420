"""Consents: which client a user allowed which scopes, remembered until the user revokes the app
(on "My devices") or changes their password. A consent for a scope set covers any request for a
subset of it."""

from __future__ import annotations

from typing import Protocol

from bff.stores import MemoryStore, SqliteStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_consents (
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    granted_at REAL NOT NULL,
    PRIMARY KEY (user_id, client_id, scopes)
);
"""


class ConsentStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def covers(self, user_id: str, client_id: str, scopes: tuple[str, ...]) -> bool: ...

    async def grant(
        self, user_id: str, client_id: str, scopes: tuple[str, ...], *, now: float
    ) -> None: ...

    async def forget(self, user_id: str, client_id: str | None = None) -> None:
        """Forget the user's consents for one client, or for every client."""
        ...

    async def forget_client(self, client_id: str) -> None:
        """Forget every user's consents for a client (it was removed)."""
        ...

    async def clients_of(self, user_id: str) -> list[tuple[str, tuple[str, ...], float]]:
        """The clients the user consented to: (client id, scopes, when), one row per consent."""
        ...


class SqliteConsentStore(SqliteStore):
    SCHEMA = _SCHEMA
    NAME = "consent store"

    async def covers(self, user_id: str, client_id: str, scopes: tuple[str, ...]) -> bool:
        rows = self._run(
            "SELECT scopes FROM oauth_consents WHERE user_id = ? AND client_id = ?",
            (user_id, client_id),
        )
        wanted = set(scopes)
        return any(wanted <= set(str(row["scopes"]).split()) for row in rows)

    async def grant(
        self, user_id: str, client_id: str, scopes: tuple[str, ...], *, now: float
    ) -> None:
        self._run(
            "INSERT OR REPLACE INTO oauth_consents (user_id, client_id, scopes, granted_at) "
            "VALUES (?, ?, ?, ?)",
            (user_id, client_id, " ".join(sorted(scopes)), now),
        )

    async def forget(self, user_id: str, client_id: str | None = None) -> None:
        if client_id is None:
            self._run("DELETE FROM oauth_consents WHERE user_id = ?", (user_id,))
        else:
            self._run(
                "DELETE FROM oauth_consents WHERE user_id = ? AND client_id = ?",
                (user_id, client_id),
            )

    async def forget_client(self, client_id: str) -> None:
        self._run("DELETE FROM oauth_consents WHERE client_id = ?", (client_id,))

    async def clients_of(self, user_id: str) -> list[tuple[str, tuple[str, ...], float]]:
        rows = self._run(
            "SELECT client_id, scopes, granted_at FROM oauth_consents WHERE user_id = ? "
            "ORDER BY granted_at",
            (user_id,),
        )
        return [
            (str(row["client_id"]), tuple(str(row["scopes"]).split()), float(row["granted_at"]))
            for row in rows
        ]


class MemoryConsentStore(MemoryStore):
    """Consents in a dict: for tests."""

    def __init__(self) -> None:
        self._granted: dict[tuple[str, str], list[frozenset[str]]] = {}

    async def covers(self, user_id: str, client_id: str, scopes: tuple[str, ...]) -> bool:
        return any(set(scopes) <= held for held in self._granted.get((user_id, client_id), []))

    async def grant(
        self, user_id: str, client_id: str, scopes: tuple[str, ...], *, now: float
    ) -> None:
        self._granted.setdefault((user_id, client_id), []).append(frozenset(scopes))

    async def forget(self, user_id: str, client_id: str | None = None) -> None:
        for key in [k for k in self._granted if k[0] == user_id]:
            if client_id is None or key[1] == client_id:
                del self._granted[key]

    async def forget_client(self, client_id: str) -> None:
        for key in [k for k in self._granted if k[1] == client_id]:
            del self._granted[key]

    async def clients_of(self, user_id: str) -> list[tuple[str, tuple[str, ...], float]]:
        return [
            (client_id, tuple(sorted(scopes)), 0.0)
            for (user, client_id), granted in self._granted.items()
            if user == user_id
            for scopes in granted
        ]
