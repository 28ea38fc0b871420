"""Counters in SQLite, in the sessions' file by default: every worker on the host shares them."""

from __future__ import annotations

from bff.stores import SqliteStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    ends_at REAL NOT NULL,
    count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS counters_ends ON counters (ends_at);
"""


class SqliteCounterStore(SqliteStore):
    SCHEMA = _SCHEMA
    NAME = "counter store"

    async def hit(self, key: str, *, window: float, now: float, amount: int = 1) -> int:
        if amount <= 0:
            # a refund only lowers a live window's count, never below zero
            rows = self._run(
                "UPDATE counters SET count = MAX(0, count + ?) WHERE key = ? AND ends_at > ? "
                "RETURNING count",
                (amount, key, now),
            )
            return int(rows[0][0]) if rows else 0
        # one statement: concurrent workers on the same file never lose a count
        rows = self._run(
            "INSERT INTO counters (key, ends_at, count) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN ? >= ends_at THEN ? ELSE count + ? END, "
            "ends_at = CASE WHEN ? >= ends_at THEN ? ELSE ends_at END "
            "RETURNING count",
            (key, now + window, amount, now, amount, amount, now, now + window),
        )
        return int(rows[0][0])

    async def counter(self, key: str, *, now: float) -> tuple[int, float]:
        rows = self._run("SELECT count, ends_at FROM counters WHERE key = ?", (key,))
        if not rows or now >= rows[0]["ends_at"]:
            return 0, now
        return int(rows[0]["count"]), float(rows[0]["ends_at"])

    async def counters(self, keys: list[str], *, now: float) -> list[tuple[int, float]]:
        marks = ", ".join("?" * len(keys))
        rows = self._run(
            f"SELECT key, count, ends_at FROM counters WHERE key IN ({marks}) AND ends_at > ?",
            (*keys, now),
        )
        found = {row["key"]: (int(row["count"]), float(row["ends_at"])) for row in rows}
        return [found.get(key, (0, now)) for key in keys]

    async def reset(self, key: str) -> None:
        self._run("DELETE FROM counters WHERE key = ?", (key,))

    async def purge(self, now: float) -> int:
        return len(self._run("DELETE FROM counters WHERE ends_at <= ? RETURNING key", (now,)))
