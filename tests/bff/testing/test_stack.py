"""The local stack of the outside-in suites: isolated from the developer's settings, and a
failing CLI command reported with what it said."""

from __future__ import annotations

from pathlib import Path

import pytest

from bff.testing.stack import CliFailed, local_stack, scaled_stack

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


def test_a_scaled_stack_shares_the_store_the_var_dir_and_the_public_urls(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BFF_SECRET_KEY", "the developer's own")
    stack = scaled_stack(tmp_path, root=ROOT, session_store="redis://127.0.0.1:1/0", instances=3)
    assert "BFF_SECRET_KEY" not in stack.env
    assert stack.env["BFF_SESSION_STORE"] == "redis://127.0.0.1:1/0"
    bffs = [stack.bff_command(one).env or {} for one in stack.instances]
    apis = [stack.api_command(one).env or {} for one in stack.instances]
    for key in ("BFF_VAR_DIR", "BFF_SESSION_STORE", "BFF_PUBLIC_URL", "API_PUBLIC_URL"):
        assert len({env[key] for env in bffs + apis}) == 1, key
    for one, bff, api in zip(stack.instances, bffs, apis, strict=True):
        # BFF n calls API n; API n follows BFF n
        assert bff["BFF_API_URL"] == one.api_url != stack.public_api_url
        assert api["API_JWKS_URL"] == f"{one.bff_url}/.well-known/jwks.json"
        assert api["API_REVOCATION_URL"] == f"{one.bff_url}/internal/revocations"
    ports = [port for one in stack.instances for port in (one.bff_port, one.api_port)]
    assert len(set(ports)) == 6
    assert [stack.bff_command(one).name for one in stack.instances] == ["bff-1", "bff-2", "bff-3"]
