"""A watch over the whole test run: every secret a test handles (passwords typed, session cookie
values, access tokens) is remembered, every log record of the run is kept, and at the end no
record may contain any of them."""

from __future__ import annotations

import logging
from http.cookies import SimpleCookie

import httpx

SESSION_COOKIE = "__Host-sid"
MIN_SECRET_LENGTH = 12  # shorter strings would match by accident


class SecretWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.secrets: set[str] = set()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name}: {text}")

    def remember(self, secret: str) -> None:
        if len(secret) >= MIN_SECRET_LENGTH:
            self.secrets.add(secret)

    async def on_response(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            cookie = SimpleCookie(header)
            if SESSION_COOKIE in cookie and cookie[SESSION_COOKIE].value:
                self.remember(cookie[SESSION_COOKIE].value)
        if response.headers.get("content-type", "").startswith("application/json"):
            await response.aread()
            try:
                body = response.json()
            except ValueError:
                return
            if isinstance(body, dict) and isinstance(body.get("access_token"), str):
                self.remember(body["access_token"])

    def leaks(self) -> list[str]:
        return [line for line in self.lines for secret in self.secrets if secret in line]


WATCH = SecretWatch()
