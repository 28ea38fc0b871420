"""What the audit suites share: every log record of a test, and its audit events decoded."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def events(self) -> list[dict[str, object]]:
        """The audit events, decoded: one JSON object per line on the bff.audit logger."""
        prefix = "bff.audit INFO "
        return [
            json.loads(line[len(prefix) :].rsplit(" ", 1)[0])
            for line in self.lines
            if line.startswith(prefix)
        ]

    def names(self) -> list[str]:
        return [str(event["event"]) for event in self.events()]

    def assert_no_secret(self, secrets: set[str]) -> None:
        for secret in secrets:
            leaks = [line for line in self.lines if secret in line]
            assert leaks == [], f"a secret reached the logs: {leaks[:1]}"

    def assert_every_event_has_a_request_id(self) -> None:
        for event in self.events():
            assert event["request_id"] and "ts" in event


@pytest.fixture
def captured() -> Iterator[Capture]:
    handler = Capture()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(exc_text)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)
