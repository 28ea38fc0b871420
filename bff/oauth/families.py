"""Refresh-token families: one per grant a user gave an API consumer (RFC 9700 §4.14).

A family is the grant: its client, user, scopes and lifetimes (idle, absolute), and its public
handle, which every access token minted from it carries (`family` claim), so revoking the family
reaches those tokens at the API through the revocation feed. A refresh token is opaque (256
bits), stored only as its SHA-256, and rotated at every use: the presented token is spent and a
new one issued. Presenting a spent token again is reuse: the whole family is revoked (its thief
and its owner both lose it), unless an optional leeway says a quick repeat by the same client is
a retry. Every change is a compare-and-set on the grant records, so among any number of
concurrent refreshes with one token exactly one rotates it, on SQLite and on Redis alike.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Literal

from bff.clock import Clock
from bff.records import Put, Record, RecordStore
from contract.tokens import ACCEPTANCE_BOUND

FAMILY = "family"
CLIENT_FAMILY = "client-family"
REFRESH = "refresh"
USER_CLOSED = "user-closed"
# longer than any pending grant lives (a device code: 10 minutes, then remembered 10 more)
PENDING_SECONDS = 30 * 60
TOUCH_ATTEMPTS = 3  # compare-and-set retries of a change that must happen (a revocation)
TOUCH_EVERY = 600.0  # seconds: how fresh "last used" is kept; the idle expiry rides the token
MAX_REPEAT_CHAIN = 5

Outcome = Literal["rotated", "repeated", "reused", "invalid", "wrong_client", "expired"]


@dataclass(frozen=True, kw_only=True)
class FamilyPolicy:
    idle_seconds: int
    absolute_seconds: int
    reuse_leeway: int  # seconds within which a repeat by the same client is a retry (0: never)


@dataclass(frozen=True, kw_only=True)
class Family:
    family_id: str
    client_id: str
    # the registration it was granted to: a client removed and registered again under the same
    # id does not inherit the old registration's grants
    client_registered_at: float
    user_id: str
    role: str
    scopes: tuple[str, ...]
    created_at: float
    last_used_at: float
    last_ip: str
    idle_expires_at: float
    absolute_expires_at: float
    refreshable: bool  # False: a grant without refresh tokens (its access token only)
    revoked: bool = False

    def live(self, now: float) -> bool:
        # the family's own idle expiry is written at most every TOUCH_EVERY seconds (its live
        # token holds the exact one, which the token endpoint checks)
        idle = self.idle_expires_at + TOUCH_EVERY if self.refreshable else self.idle_expires_at
        return not self.revoked and now < min(idle, self.absolute_expires_at)


@dataclass(frozen=True, kw_only=True)
class Rotation:
    outcome: Outcome
    family: Family | None = None
    refresh_token: str | None = None  # the new one, when rotated or repeated


def new_family_id() -> str:
    return f"f_{secrets.token_urlsafe(16)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RefreshFamilies:
    def __init__(self, *, records: RecordStore, clock: Clock, policy: FamilyPolicy) -> None:
        self._records = records
        self._clock = clock
        self._policy = policy

    async def start(
        self,
        *,
        family_id: str,
        client_id: str,
        client_registered_at: float,
        user_id: str,
        role: str,
        scopes: tuple[str, ...],
        ip: str,
        refreshable: bool,
    ) -> tuple[Family, str | None]:
        """A new family, and its first refresh token when it is refreshable."""
        now = self._clock.now()
        policy = self._policy
        absolute = now + (policy.absolute_seconds if refreshable else ACCEPTANCE_BOUND)
        family = Family(
            family_id=family_id,
            client_id=client_id,
            client_registered_at=client_registered_at,
            user_id=user_id,
            role=role,
            scopes=scopes,
            created_at=now,
            last_used_at=now,
            last_ip=ip,
            idle_expires_at=min(now + policy.idle_seconds, absolute) if refreshable else absolute,
            absolute_expires_at=absolute,
            refreshable=refreshable,
        )
        if not await self._records.insert(
            FAMILY, family_id, asdict(family), expires_at=absolute, now=now, index=user_id
        ):
            raise ValueError("a family with this handle exists")  # 128 random bits: a bug
        # filed by client too, so removing a client can end every grant it holds
        await self._records.insert(
            CLIENT_FAMILY, family_id, {}, expires_at=absolute, now=now, index=client_id
        )
        token = await self._issue(family, now) if refreshable else None
        return family, token

    async def rotate(
        self,
        token: str,
        *,
        client_id: str,
        registered_at: float,
        ip: str,
        check: Callable[[Family], object] = lambda family: None,
    ) -> Rotation:
        """Spend `token` for a new one. `check` may refuse the request (by raising) once the
        family is known and before anything is spent: a refused request changes nothing."""
        key = hash_token(token)
        for _ in range(TOUCH_ATTEMPTS):
            now = self._clock.now()
            held, family_record = await self._records.get_linked(
                REFRESH, key, link="family", link_kind=FAMILY, now=now
            )
            if held is None or family_record is None:
                return Rotation(outcome="invalid")
            family = _family(family_record)
            if family.revoked or not family.refreshable:
                return Rotation(outcome="invalid")
            if family.client_id != client_id or family.client_registered_at != registered_at:
                return Rotation(outcome="wrong_client", family=family)  # bound to its client
            idle_ends = float(held.value.get("idle_expires_at", family.idle_expires_at))
            if now >= min(idle_ends, family.absolute_expires_at):
                return Rotation(outcome="expired", family=family)
            check(family)
            if held.value["state"] != "live":
                return await self._repeat_or_reuse(held, family_record, family, ip, now)
            rotated = await self._rotate(key, held, family_record, family, ip, now)
            if rotated is not None:
                return rotated
            # a concurrent refresh (or a change to the family) won: read both again
        return Rotation(outcome="reused", family=family)

    async def get(self, family_id: str) -> Family | None:
        record = await self._records.get(FAMILY, family_id, now=self._clock.now())
        return None if record is None else _family(record)

    async def find(self, token: str) -> tuple[Family, bool] | None:
        """The family a refresh token belongs to, and whether the token is its live one."""
        held = await self._records.get(REFRESH, hash_token(token), now=self._clock.now())
        if held is None:
            return None
        family = await self.get(str(held.value["family"]))
        return None if family is None else (family, held.value["state"] == "live")

    async def revoke(self, family_id: str) -> Family | None:
        """Mark the family revoked; it, if it was live (the caller then tells the APIs)."""
        now = self._clock.now()
        for _ in range(TOUCH_ATTEMPTS * 3):
            record = await self._records.get(FAMILY, family_id, now=now)
            if record is None:
                return None
            family = _family(record)
            if family.revoked:
                return None
            revoked = replace(family, revoked=True)
            if await self._records.replace(
                FAMILY,
                family_id,
                asdict(revoked),
                version=record.version,
                expires_at=record.expires_at,
                now=now,
            ):
                return revoked
        raise RuntimeError("the family kept changing while it was revoked")

    async def close_pending(self, user_id: str) -> None:
        """From now on, no grant the user gave before now may start a family (an authorization
        code or a device approval not redeemed yet): "sign out everywhere" means everywhere."""
        now = self._clock.now()
        key = user_id
        for _ in range(TOUCH_ATTEMPTS * 3):
            held = await self._records.get(USER_CLOSED, key, now=now)
            if held is None:
                if await self._records.insert(
                    USER_CLOSED, key, {"at": now}, expires_at=now + PENDING_SECONDS, now=now
                ):
                    return
                continue
            if await self._records.replace(
                USER_CLOSED,
                key,
                {"at": now},
                version=held.version,
                expires_at=now + PENDING_SECONDS,
                now=now,
            ):
                return

    async def closed_since(self, user_id: str) -> float:
        """When the user last closed every pending grant (0 when never, or long ago)."""
        held = await self._records.get(USER_CLOSED, user_id, now=self._clock.now())
        return 0.0 if held is None else float(held.value["at"])

    async def of_client(self, client_id: str) -> list[str]:
        """The handles of every family granted to a client, live or not."""
        now = self._clock.now()
        return [key for key, _ in await self._records.indexed(CLIENT_FAMILY, client_id, now=now)]

    async def of_user(self, user_id: str) -> list[Family]:
        """The user's live families, oldest first."""
        now = self._clock.now()
        listed = [
            _family(record) for _, record in await self._records.indexed(FAMILY, user_id, now=now)
        ]
        return sorted((f for f in listed if f.live(now)), key=lambda f: (f.created_at, f.family_id))

    async def _issue(self, family: Family, now: float) -> str:
        token = secrets.token_urlsafe(32)
        await self._records.insert(
            REFRESH,
            hash_token(token),
            self._live_token(family, now),
            expires_at=family.absolute_expires_at,
            now=now,
        )
        return token

    def _live_token(self, family: Family, now: float) -> dict[str, object]:
        # the live token carries the family's idle expiry: a rotation slides it without
        # rewriting the family record
        idle = min(now + self._policy.idle_seconds, family.absolute_expires_at)
        return {
            "family": family.family_id,
            "state": "live",
            "issued_at": now,
            "idle_expires_at": idle,
        }

    async def _rotate(
        self, key: str, held: Record, family_record: Record, family: Family, ip: str, now: float
    ) -> Rotation | None:
        """Spend the live token `key` for a new one, in one all-or-nothing write (with the
        family's last use when it is due); None when a concurrent write won."""
        token = secrets.token_urlsafe(32)
        spent = {**held.value, "state": "spent", "spent_at": now, "successor": hash_token(token)}
        puts = [
            Put(
                kind=REFRESH,
                key=key,
                value=spent,
                expires_at=held.expires_at,
                version=held.version,
            ),
            Put(
                kind=REFRESH,
                key=hash_token(token),
                value=self._live_token(family, now),
                expires_at=family.absolute_expires_at,
            ),
        ]
        touched = self._touched(family, ip, now)
        if touched is not family:
            # "last used" for My devices, written at most every TOUCH_EVERY seconds
            puts.append(
                Put(
                    kind=FAMILY,
                    key=family.family_id,
                    value=asdict(touched),
                    expires_at=family_record.expires_at,
                    version=family_record.version,
                )
            )
        if not await self._records.write(puts, now=now):
            return None
        return Rotation(outcome="rotated", family=touched, refresh_token=token)

    async def _repeat_or_reuse(
        self, held: Record, family_record: Record, family: Family, ip: str, now: float
    ) -> Rotation:
        leeway = self._policy.reuse_leeway
        if leeway and now - float(held.value.get("spent_at", now)) <= leeway:
            # a retry (a response lost on the way): the family's live token is spent for a new
            # one, so the family still holds exactly one live refresh token
            key = str(held.value.get("successor", ""))
            for _ in range(MAX_REPEAT_CHAIN):
                successor = await self._records.get(REFRESH, key, now=now)
                if successor is None:
                    break
                if successor.value["state"] == "live":
                    repeated = await self._rotate(key, successor, family_record, family, ip, now)
                    if repeated is not None:
                        return replace(repeated, outcome="repeated")
                    # another repeat won, or the family changed: read the chain again
                    record = await self._records.get(FAMILY, family.family_id, now=now)
                    if record is None or _family(record).revoked:
                        return Rotation(outcome="invalid")
                    family_record, family = record, _family(record)
                    continue
                key = str(successor.value.get("successor", ""))
        return Rotation(outcome="reused", family=family)

    def _touched(self, family: Family, ip: str, now: float) -> Family:
        """The family with its last use noted, when that is due; else the same family."""
        if now - family.last_used_at < TOUCH_EVERY:
            return family
        return replace(
            family,
            last_used_at=now,
            last_ip=ip,
            idle_expires_at=min(now + self._policy.idle_seconds, family.absolute_expires_at),
        )


def _family(record: Record) -> Family:
    value = dict(record.value)
    value["scopes"] = tuple(value["scopes"])
    return Family(**value)
