"""The API alone, its JWKS served by an httpx.MockTransport from keys made here."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from jwt.utils import der_to_raw_signature
from starlette.applications import Starlette

from api.app import create_app
from api.settings import Settings
from bff.clock import FrozenClock
from contract.revocation import Message

ISSUER = "https://bff.test"
AUDIENCE = "https://api.test"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"


@dataclass
class Signer:
    kid: str = field(default_factory=lambda: secrets.token_urlsafe(8))
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def jwk(self) -> dict[str, Any]:
        public = ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "alg": "ES256", "use": "sig"}


@dataclass
class JwksServer:
    signers: list[Signer]
    fetches: int = 0
    down: bool = False
    requested: list[str] = field(default_factory=list)  # every URL the API asked for, in order
    failure: Exception | None = None  # raised by the transport instead of answering
    answer: Callable[[httpx.Request], httpx.Response] | None = None  # replaces the JWKS document

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        self.requested.append(str(request.url))
        if self.failure is not None:
            raise self.failure
        if self.down:
            return httpx.Response(503)
        if self.answer is not None:
            return self.answer(request)
        return httpx.Response(200, json={"keys": [s.jwk() for s in self.signers]})


@dataclass
class ApiHarness:
    app: Starlette  # running: its lifespan is open
    client: httpx.AsyncClient
    clock: FrozenClock
    signer: Signer
    jwks: JwksServer

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(self.clock.now())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "u_alice",
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(8),
            "client_id": "bff",
            "scope": "notes:read notes:write",
            "sid": "s_1",
            "role": "user",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self,
        *,
        headers: dict[str, Any] | None = None,
        signer: Signer | None = None,
        **overrides: Any,
    ) -> str:
        signer = signer or self.signer
        header = {"kid": signer.kid, "typ": "at+jwt", **(headers or {})}
        return jwt.encode(self.claims(**overrides), signer.key, algorithm="ES256", headers=header)

    async def me(self, token: str) -> httpx.Response:
        return await self.client.get("/me", headers={"Authorization": f"Bearer {token}"})


class QuietFeed:
    """A revocation feed that is up and has revoked nothing."""

    async def messages(self, *, last_event_id: str | None) -> AsyncIterator[Message]:
        yield Message(type="ready")
        await anyio.sleep_forever()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    clock = FrozenClock()
    signer = Signer()
    server = JwksServer(signers=[signer])
    # the notes database lives in the test's tmp dir, never in ./var
    settings = Settings(
        public_url=AUDIENCE, issuer=ISSUER, jwks_url=JWKS_URL, var_dir=tmp_path / "var"
    )
    app = create_app(
        settings,
        clock=clock,
        jwks_transport=httpx.MockTransport(server.handler),
        revocation_source=QuietFeed(),
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=AUDIENCE
        ) as client:
            yield ApiHarness(app=app, client=client, clock=clock, signer=signer, jwks=server)


def b64(data: bytes | str | dict[str, Any]) -> str:
    if isinstance(data, dict):
        data = json.dumps(data, separators=(",", ":"))
    if isinstance(data, str):
        data = data.encode()
    return jwt.utils.base64url_encode(data).decode()


def sign_raw(
    header: bytes | str | dict[str, Any],
    payload: bytes | str | dict[str, Any],
    key: ec.EllipticCurvePrivateKey,
) -> str:
    """An ES256 JWS over exactly these header and payload bytes (PyJWT would normalise them)."""
    signing_input = f"{b64(header)}.{b64(payload)}"
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    return f"{signing_input}.{b64(der_to_raw_signature(der, key.curve))}"
