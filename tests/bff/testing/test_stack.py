"""The local stack of the outside-in suites: isolated from the developer's settings, and a
failing CLI command reported with what it said."""

from __future__ import annotations

from pathlib import Path

import pytest

from bff.testing.stack import CliFailed, local_stack

ROOT = Path(__file__).resolve().parents[3]


def test_a_local_stack_leaves_the_developers_settings_out(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BFF_SESSION_STORE", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("API_DATABASE", "/somewhere/else.db")
    stack = local_stack(tmp_path, root=ROOT)
    assert "BFF_SESSION_STORE" not in stack.env and "API_DATABASE" not in stack.env
    assert stack.env["BFF_REVOCATION_SECRET"] == stack.env["API_REVOCATION_SECRET"]
    var_dirs = {Path(stack.env["BFF_VAR_DIR"]), Path(stack.env["API_VAR_DIR"])}
    assert len(var_dirs) == 2 and all(path.parent == tmp_path for path in var_dirs)
    assert stack.bff_url == f"http://127.0.0.1:{stack.bff_port}" != stack.api_url


def test_a_failing_cli_command_says_what_it_wrote(tmp_path: Path) -> None:
    stack = local_stack(tmp_path, root=ROOT)
    with pytest.raises(CliFailed, match=r"python -m bff users failed \(2\):\n.*usage"):
        stack.cli("users", "add")
