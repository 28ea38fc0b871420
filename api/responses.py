"""The hot routes' JSON, encoded as Starlette's JSONResponse encodes it, by an encoder built once
(json.dumps with Starlette's settings builds a new one on every call)."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class FastJSONResponse(JSONResponse):
    """Starlette's JSONResponse, byte for byte."""

    def render(self, content: Any) -> bytes:
        return _ENCODER.encode(content).encode("utf-8")
