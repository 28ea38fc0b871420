"""Files under var/: secrets generated on first start (so `make run` works with nothing set), in
a directory only the owner can enter, each file owner-only from its first byte."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create `path` as 0700, or tighten it to 0700 when it is ours and looser (an older var/)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def read_or_create_secret(path: Path) -> str:
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = secrets.token_urlsafe(48)
    write_private(path, value + "\n")
    return value


def write_private(path: Path, text: str) -> None:
    private_dir(path.parent)
    # owner-only from the first byte written
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
