"""The device authorization grant (RFC 8628): a device without a browser shows a short user
code; the user enters it at /device, signed in, and approves or denies; the device polls.

The device code is opaque (256 bits), stored as its SHA-256. The user code is 8 letters from an
alphabet of 20 consonants (no vowels, so no words; nothing that reads like a digit): about 34
bits, typed case-insensitively and with or without its dash, and guessed at /device only within
a rate limit. Polling faster than the interval answers `slow_down` and lengthens the interval
by 5 s (RFC 8628 §3.5). An approval is consumed by one poll.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, replace
from typing import Literal

from bff.clock import Clock
from bff.oauth.errors import (
    AccessDenied,
    AuthorizationPending,
    ExpiredToken,
    InvalidGrant,
    SlowDown,
)
from bff.oauth.families import hash_token, new_family_id
from bff.records import Record, RecordStore, Value

DEVICE = "device"
USER_CODE = "user-code"
ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
EXPIRES_IN = 600
INTERVAL = 5
SLOW_DOWN_STEP = 5
REMEMBER_SECONDS = 600  # past its expiry a device code still answers expired_token a while
CAS_ATTEMPTS = 5

Status = Literal["pending", "approved", "denied", "consumed"]


@dataclass(frozen=True, kw_only=True)
class DeviceGrant:
    client_id: str
    scopes: tuple[str, ...]
    user_code: str
    family_id: str
    expires_at: float
    interval: int
    last_poll_at: float
    status: Status = "pending"
    user_id: str = ""
    role: str = ""
    decided_at: float = 0.0


@dataclass(frozen=True, kw_only=True)
class DeviceStart:
    device_code: str
    user_code: str  # as shown: XXXX-XXXX
    expires_in: int
    interval: int


def normalize_user_code(typed: str) -> str | None:
    """The user code as stored, from what a person typed; None when it cannot be one."""
    code = "".join(ch for ch in typed.upper() if ch not in "- ")
    if len(code) != USER_CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def display_user_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


class DeviceGrants:
    def __init__(self, *, records: RecordStore, clock: Clock) -> None:
        self._records = records
        self._clock = clock

    async def start(self, *, client_id: str, scopes: tuple[str, ...]) -> DeviceStart:
        now = self._clock.now()
        device_code = secrets.token_urlsafe(32)
        keep_until = now + EXPIRES_IN + REMEMBER_SECONDS
        while True:  # a live user code is never given twice
            user_code = "".join(secrets.choice(ALPHABET) for _ in range(USER_CODE_LENGTH))
            if await self._records.insert(
                USER_CODE,
                user_code,
                {"device": hash_token(device_code)},
                expires_at=now + EXPIRES_IN,
                now=now,
            ):
                break
        grant = DeviceGrant(
            client_id=client_id,
            scopes=scopes,
            user_code=user_code,
            family_id=new_family_id(),
            expires_at=now + EXPIRES_IN,
            interval=INTERVAL,
            last_poll_at=0.0,
        )
        await self._records.insert(
            DEVICE, hash_token(device_code), asdict(grant), expires_at=keep_until, now=now
        )
        return DeviceStart(
            device_code=device_code,
            user_code=display_user_code(user_code),
            expires_in=EXPIRES_IN,
            interval=INTERVAL,
        )

    async def pending(self, user_code: str) -> DeviceGrant | None:
        """The pending, unexpired grant a (normalized) user code names, or None."""
        found = await self._by_user_code(user_code)
        return None if found is None else found[2]

    async def decide(self, user_code: str, *, user_id: str, role: str, approve: bool) -> bool:
        """Approve or deny a pending grant, once; False when it is no longer pending."""
        for _ in range(CAS_ATTEMPTS):
            found = await self._by_user_code(user_code)
            if found is None:
                return False
            key, record, grant = found
            status: Status = "approved" if approve else "denied"
            decided = replace(
                grant, status=status, user_id=user_id, role=role, decided_at=self._clock.now()
            )
            if await self._store(key, record, decided):
                return True
        return False

    async def poll(self, device_code: str, *, client_id: str) -> DeviceGrant:
        """The approved grant, consumed; otherwise the RFC 8628 §3.5 error for where it stands."""
        key = hash_token(device_code)
        for _ in range(CAS_ATTEMPTS):
            now = self._clock.now()
            record = await self._records.get(DEVICE, key, now=now)
            if record is None:
                raise InvalidGrant("the device code is unknown")
            grant = _grant(record.value)
            if grant.client_id != client_id:
                raise InvalidGrant("the device code was issued to another client")
            if grant.status == "consumed":
                raise InvalidGrant("the device code was already used")
            if grant.status == "denied":
                raise AccessDenied("the user denied the request")
            if now >= grant.expires_at:
                raise ExpiredToken("the device code has expired: start again")
            if grant.status == "approved":
                if await self._store(key, record, replace(grant, status="consumed")):
                    return grant
                continue
            too_soon = now - grant.last_poll_at < grant.interval
            interval = grant.interval + SLOW_DOWN_STEP if too_soon else grant.interval
            if await self._store(key, record, replace(grant, last_poll_at=now, interval=interval)):
                if too_soon:
                    raise SlowDown(f"poll at most every {interval} seconds")
                raise AuthorizationPending("the user has not answered yet")
        raise SlowDown("poll less often")

    async def _by_user_code(self, user_code: str) -> tuple[str, Record, DeviceGrant] | None:
        now = self._clock.now()
        pointer = await self._records.get(USER_CODE, user_code, now=now)
        if pointer is None:
            return None
        key = str(pointer.value["device"])
        record = await self._records.get(DEVICE, key, now=now)
        if record is None:
            return None
        grant = _grant(record.value)
        if grant.status != "pending" or now >= grant.expires_at:
            return None
        return key, record, grant

    async def _store(self, key: str, record: Record, grant: DeviceGrant) -> bool:
        return await self._records.replace(
            DEVICE,
            key,
            asdict(grant),
            version=record.version,
            expires_at=record.expires_at,
            now=self._clock.now(),
        )


def _grant(value: Value) -> DeviceGrant:
    fields = dict(value)
    fields["scopes"] = tuple(fields["scopes"])  # stored as a JSON list
    return DeviceGrant(**fields)
