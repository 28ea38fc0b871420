"""Audit events: one JSON line per security event, never a secret."""

from __future__ import annotations

import json
import logging

from starlette.requests import Request

from bff.clock import Clock

logger = logging.getLogger("bff.audit")


class Audit:
    def __init__(self, *, clock: Clock, log: logging.Logger = logger) -> None:
        self._clock = clock
        self._log = log

    def event(self, name: str, request: Request | None = None, **fields: object) -> None:
        record: dict[str, object] = {"ts": round(self._clock.now(), 3), "event": name}
        if request is not None:
            state = request.scope.get("state", {})
            record["request_id"] = state.get("request_id", "")
            record["ip"] = state.get("client_ip", "")
        record.update({key: value for key, value in fields.items() if value is not None})
        self._log.info(json.dumps(record, sort_keys=True, default=str))
