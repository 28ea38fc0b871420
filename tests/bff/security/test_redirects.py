from __future__ import annotations

import pytest

from bff.security.redirects import is_local_url, safe_next


@pytest.mark.parametrize("target", ["/", "/dashboard", "/app?x=1#top", "/a/b/c"])
def test_local_paths_are_accepted(target: str) -> None:
    assert is_local_url(target)


@pytest.mark.parametrize(
    "target",
    [
        "",
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\tevil",
        "/x\nLocation: https://evil",
        "evil.example",
        "http:/evil.example",
        "/" + "a" * 3000,
    ],
)
def test_anything_else_is_refused(target: str) -> None:
    assert not is_local_url(target)
    assert safe_next(target) == "/"
