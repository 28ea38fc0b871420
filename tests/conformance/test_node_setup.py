"""The oauth4webapi suite's set-up: a machine without Node skips it, except on CI, where the
missing tool fails the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.node import require


def test_a_missing_tool_skips_outside_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="node is not on PATH"):
        require("node")


def test_a_missing_tool_fails_on_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="mandatory when CI=true"):
        require("node")


def test_a_tool_on_path_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tool = tmp_path / "node"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert require("node") == str(tool)
