"""Secrets generated into var/ on first start, so `make run` works with nothing set."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def read_or_create_secret(path: Path) -> str:
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    write_private(path, value + "\n")
    return value


def write_private(path: Path, text: str) -> None:
    # owner-only from the first byte written
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
