"""The signing key ring: newest active key signs, every published key verifies.

Rotation never fails a request: a new key is published first and signs only after the JWKS cache
time; an old key stays published until every token it signed has expired.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from bff.clock import Clock
from bff.errors import ConfigError

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
RELOAD_EVERY = 1.0  # seconds between checks for a rotation made by another process


@dataclass(frozen=True, kw_only=True)
class SigningKey:
    kid: str
    alg: str
    private_pem: str
    created_at: float
    sign_from: float

    def private_key(self) -> PrivateKey:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        if not isinstance(key, (ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)):
            raise ConfigError(f"key {self.kid} is neither EC nor Ed25519")
        return key

    def public_jwk(self) -> dict[str, Any]:
        public = self.private_key().public_key()
        if isinstance(public, ed25519.Ed25519PublicKey):
            jwk: dict[str, Any] = OKPAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


def generate_key(alg: str, *, now: float, sign_from: float) -> SigningKey:
    private: PrivateKey
    private = (
        ed25519.Ed25519PrivateKey.generate()
        if alg == "EdDSA"
        else ec.generate_private_key(ec.SECP256R1())
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SigningKey(
        kid=secrets.token_urlsafe(12), alg=alg, private_pem=pem, created_at=now, sign_from=sign_from
    )


class KeyStore(Protocol):
    """Where a key ring's keys persist (a file today; a database or a KMS could serve too)."""

    def load(self) -> list[SigningKey]:
        """Every stored key; [] when there are none yet. ConfigError when unreadable."""
        ...

    def save(self, keys: list[SigningKey]) -> None: ...

    def changed(self) -> bool:
        """True when another process changed the keys since this store last loaded or saved."""
        ...


class KeyRing:
    """The rotation policy over a KeyStore.

    `retain_seconds` is how long a replaced key stays published: the longest a token can be
    accepted after it was signed. `publish_lead` is how long a new key is published before it
    signs (the JWKS cache time). Keys rotated by another process (the CLI) are picked up within
    RELOAD_EVERY seconds.
    """

    def __init__(
        self, *, store: KeyStore, alg: str, clock: Clock, publish_lead: float, retain_seconds: float
    ) -> None:
        self._store = store
        self._alg = alg
        self._clock = clock
        self._lead = publish_lead
        self._retain = retain_seconds
        self._keys: list[SigningKey] = []
        self._checked_at = float("-inf")
        self._private_cache: dict[str, PrivateKey] = {}

    def load_or_create(self) -> None:
        self._keys = self._store.load()
        if not self._keys:
            now = self._clock.now()
            self._keys = [generate_key(self._alg, now=now, sign_from=now)]
            self._store.save(self._keys)

    def keys(self) -> list[SigningKey]:
        self._reload_if_changed()
        return list(self._keys)

    def signer(self) -> tuple[SigningKey, PrivateKey]:
        self._reload_if_changed()
        now = self._clock.now()
        active = [key for key in self._keys if key.sign_from <= now]
        if not active:
            raise ConfigError("no signing key is active; run `python -m bff keys list`")
        key = max(active, key=lambda k: k.sign_from)
        private = self._private_cache.get(key.kid)
        if private is None:
            private = self._private_cache[key.kid] = key.private_key()
        return key, private

    def published(self) -> list[SigningKey]:
        self._reload_if_changed()
        now = self._clock.now()
        return [key for key in self._keys if not self._is_expired(key, now)]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self.published()]}

    def rotate(self) -> SigningKey:
        """Publish a new key now; it signs once every JWKS cache has seen it."""
        self._keys = self._store.load()
        now = self._clock.now()
        newest = max((k.sign_from for k in self._keys), default=now)
        key = generate_key(self._alg, now=now, sign_from=max(now, newest) + self._lead)
        self._keys = [k for k in self._keys if not self._is_expired(k, now)] + [key]
        self._store.save(self._keys)
        return key

    def _is_expired(self, key: SigningKey, now: float) -> bool:
        # a key is done once a successor has signed for longer than any token lives
        successors = [k.sign_from for k in self._keys if k.sign_from > key.sign_from]
        return bool(successors) and min(successors) + self._retain <= now

    def _reload_if_changed(self) -> None:
        now = self._clock.now()
        if now - self._checked_at < RELOAD_EVERY:
            return
        self._checked_at = now
        if self._store.changed():
            self._keys = self._store.load()
