"""The key ring's keys in one owner-only JSON file under var/, replaced atomically, and noticed
when another process (the CLI's `keys rotate`) replaces it."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from bff.errors import ConfigError
from bff.security.keys import SigningKey
from bff.varfiles import private_dir


class KeyFileStore:
    def __init__(self, *, path: Path) -> None:
        self._path = path
        self._loaded_mtime: float | None = None

    def load(self) -> list[SigningKey]:
        try:
            mtime = self._path.stat().st_mtime
            data = json.loads(self._path.read_text())
            keys = [SigningKey(**item) for item in data["keys"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"cannot read the key ring {self._path}: {exc}") from exc
        self._loaded_mtime = mtime
        return keys

    def save(self, keys: list[SigningKey]) -> None:
        private_dir(self._path.parent)
        tmp = self._path.with_suffix(".tmp")
        # private keys: owner-only from the first byte written
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"keys": [asdict(k) for k in keys]}, handle, indent=2)
        os.replace(tmp, self._path)
        self._loaded_mtime = self._path.stat().st_mtime

    def changed(self) -> bool:
        try:
            return self._path.stat().st_mtime != self._loaded_mtime
        except FileNotFoundError:
            return False
