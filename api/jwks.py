"""An asynchronous JWKS cache: fetched with httpx, never on the request path more than needed.

- refreshes when its TTL has passed;
- on an unknown `kid`, refreshes at most once per `min_refresh` seconds, however many random
  `kid`s arrive (a flood costs one fetch);
- never follows redirects, caps the document's size as it streams in, refuses encoded bodies;
- gives a fetch one total deadline, so a slow JWKS cannot hold the refresh lock;
- keeps the last good keys through an outage for at most `max_stale` seconds, then fails closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from api.clock import Clock
from api.errors import KeysUnavailable

log = logging.getLogger("api.jwks")

MAX_JWKS_BYTES = 64 * 1024
MAX_KEYS = 32
FETCH_TIMEOUT = 3.0  # seconds, for the whole fetch, not per read
_KTY_FOR_ALG = {"ES256": ("EC", "P-256"), "EdDSA": ("OKP", "Ed25519")}


@dataclass(frozen=True)
class VerificationKey:
    kid: str
    alg: str
    key: Any  # a cryptography public key


class JwksCache:
    def __init__(
        self,
        *,
        url: str,
        client: httpx.AsyncClient,
        clock: Clock,
        algorithms: tuple[str, ...],
        ttl: float,
        min_refresh: float,
        max_stale: float,
    ) -> None:
        self._url = url
        self._client = client
        self._clock = clock
        self._algorithms = algorithms
        self._ttl = ttl
        self._min_refresh = min_refresh
        self._max_stale = max_stale
        self._keys: dict[str, VerificationKey] = {}
        self._fetched_at = float("-inf")  # last successful fetch
        self._attempted_at = float("-inf")  # last attempt, good or bad
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str) -> VerificationKey | None:
        now = self._clock.now()
        if now - self._fetched_at >= self._ttl:
            await self._refresh(reason="ttl")
        key = self._keys.get(kid)
        if key is None:
            await self._refresh(reason="unknown kid")
            key = self._keys.get(kid)
        if now - self._fetched_at >= self._ttl + self._max_stale:
            # the last good keys are too old to trust: accept nothing we cannot check
            raise KeysUnavailable("the signing keys cannot be fetched")
        return key

    async def _refresh(self, *, reason: str) -> None:
        async with self._lock:
            now = self._clock.now()
            if now - self._attempted_at < self._min_refresh:
                return  # someone just tried: one fetch per window, whatever the flood
            self._attempted_at = now
            try:
                # one deadline for the whole fetch: httpx's timeouts restart at every read
                async with asyncio.timeout(FETCH_TIMEOUT):
                    keys = await self._fetch()
            except (httpx.HTTPError, ValueError, RecursionError, TimeoutError) as exc:
                log.warning("jwks fetch failed (%s): %s", reason, type(exc).__name__)
                return
            self._keys = keys
            self._fetched_at = now

    async def _fetch(self) -> dict[str, VerificationKey]:
        self.fetches += 1
        async with self._client.stream(
            "GET",
            self._url,
            headers={"Accept-Encoding": "identity"},
            timeout=FETCH_TIMEOUT,
            follow_redirects=False,
        ) as response:
            if response.status_code != 200:
                raise ValueError(f"JWKS answered {response.status_code}")
            if response.headers.get("content-encoding", "identity").lower() != "identity":
                raise ValueError("JWKS document is encoded")  # inflating could blow past the cap
            body = await _read_capped(response)
        return self._parse_document(body)

    def _parse_document(self, body: bytes) -> dict[str, VerificationKey]:
        document = json.loads(body)  # RecursionError on deep nesting: caught by the caller
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("not a JWKS document")
        keys: dict[str, VerificationKey] = {}
        for item in document["keys"][:MAX_KEYS]:
            key = self._parse(item)
            if key is not None:
                keys[key.kid] = key
        return keys

    def _parse(self, item: object) -> VerificationKey | None:
        if not isinstance(item, dict):
            return None
        kid, alg = item.get("kid"), item.get("alg")
        if not isinstance(kid, str) or alg not in self._algorithms:
            return None
        if item.get("use", "sig") != "sig" or "d" in item:
            return None  # never accept a private key or an encryption key
        kty, crv = _KTY_FOR_ALG[str(alg)]
        if item.get("kty") != kty or item.get("crv") != crv:
            return None
        try:
            return VerificationKey(kid=kid, alg=str(alg), key=jwt.PyJWK(item).key)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            return None


async def _read_capped(response: httpx.Response) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():  # identity only: decoded bytes are raw bytes
        body += chunk
        if len(body) > MAX_JWKS_BYTES:
            # stop reading: the cap bounds memory, not just what gets parsed
            raise ValueError("JWKS document too large")
    return bytes(body)
