"""oauth4webapi, installed from the npm registry with `npm ci` into a cache folder at the
checkout's root, and our script that drives it, one step per run.

The install is repeated only when package.json or the lock changed (their hash is kept beside
node_modules), so a warm run costs nothing. Node and npm are required when CI=true; elsewhere a
machine without them skips the suite.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SOURCE = Path(__file__).resolve().parent / "node"
CACHE = SOURCE.parents[2] / ".cache" / "node-conformance"
MANIFESTS = ("package.json", "package-lock.json")
SCRIPT = "client.mjs"
STAMP = "installed.sha256"
INSTALL_TIMEOUT = 300.0
STEP_TIMEOUT = 30.0


def require(tool: str) -> str:
    """The tool's path; a skip without it, except on CI, where it fails the run."""
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is not on PATH; the oauth4webapi suite is mandatory when CI=true")
        pytest.skip(f"{tool} is not on PATH")
    return path


@dataclass(frozen=True)
class NodeClient:
    node: str
    script: Path

    def run(self, step: str, config: dict[str, Any]) -> dict[str, Any]:
        """Run one step of the script: its configuration (secrets included) on stdin, never in
        argv; its JSON result from stdout."""
        result = subprocess.run(
            [self.node, str(self.script), step],
            input=json.dumps(config),
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, f"{SCRIPT} {step} failed:\n{result.stderr}"
        answer: dict[str, Any] = json.loads(result.stdout)
        return answer


def installed(cache: Path = CACHE) -> NodeClient:
    """oauth4webapi installed in `cache` as the lock pins it, with the current script beside it
    (so that its `import` finds cache/node_modules)."""
    node, npm = require("node"), require("npm")
    digest = _digest()
    stamp = cache / STAMP
    if not (stamp.is_file() and stamp.read_text() == digest and (cache / "node_modules").is_dir()):
        cache.mkdir(parents=True, exist_ok=True)
        stamp.unlink(missing_ok=True)  # written last: an interrupted install is redone
        for name in MANIFESTS:
            shutil.copyfile(SOURCE / name, cache / name)
        command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
        result = subprocess.run(
            command, cwd=cache, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
        )
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
        stamp.write_text(digest)
    shutil.copyfile(SOURCE / SCRIPT, cache / SCRIPT)
    return NodeClient(node=node, script=cache / SCRIPT)


def _digest() -> str:
    hashed = hashlib.sha256()
    for name in MANIFESTS:
        hashed.update((SOURCE / name).read_bytes())
    return hashed.hexdigest()
