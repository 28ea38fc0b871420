"""Return URLs: only local paths, so a login link can never send the user elsewhere."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_NEXT_LENGTH = 2048


def is_local_url(target: str) -> bool:
    if not target or len(target) > MAX_NEXT_LENGTH or not target.startswith("/"):
        return False
    # "//host", "/\\host" and control characters are read as another origin by some browsers
    if target.startswith(("//", "/\\")) or any(ord(ch) < 33 or ch == "\\" for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str = "/") -> str:
    return target if target is not None and is_local_url(target) else default
