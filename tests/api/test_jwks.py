"""The JWKS cache (DESIGN.md §3), seen through the API: a frozen clock, a counting mock JWKS.

Defaults: TTL 300 s, at most one unknown-`kid` refresh per 30 s, last good keys kept through an
outage for 6 h past the TTL, then fail closed with 503 `temporarily_unavailable`.
"""

from __future__ import annotations

import gzip
import json
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.utils import der_to_raw_signature
from starlette.applications import Starlette

from api import jwks as jwks_module
from api.app import create_app
from api.settings import Settings
from bff.clock import FrozenClock
from tests.api.conftest import (
    AUDIENCE,
    ISSUER,
    JWKS_URL,
    ApiHarness,
    JwksServer,
    QuietFeed,
    Signer,
    b64,
)
from tests.api.test_attacks import assert_invalid_token

pytestmark = pytest.mark.anyio

TTL, MIN_REFRESH, MAX_STALE = 300, 30, 6 * 60 * 60
EVIL_URL = "https://evil.test/jwks.json"


def assert_keys_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.json()["error"] == "temporarily_unavailable"
    assert "invalid_token" not in response.headers.get("www-authenticate", "")


async def flood(harness: ApiHarness, count: int) -> None:
    attacker = Signer()
    for _ in range(count):
        token = harness.token(signer=attacker, headers={"kid": secrets.token_urlsafe(8)})
        assert_invalid_token(await harness.me(token))


# --- refresh policy -----------------------------------------------------------------------------


async def test_a_flood_of_unknown_kids_costs_at_most_one_fetch_per_30_seconds(
    harness: ApiHarness,
) -> None:
    await flood(harness, 1000)
    assert harness.jwks.fetches == 1
    harness.clock.advance(MIN_REFRESH - 1)
    await flood(harness, 100)
    assert harness.jwks.fetches == 1
    harness.clock.advance(2)
    await flood(harness, 1000)
    assert harness.jwks.fetches == 2


async def test_the_ttl_refresh_picks_up_a_newly_published_key(harness: ApiHarness) -> None:
    assert (await harness.me(harness.token())).status_code == 200
    successor = Signer()
    harness.jwks.signers.append(successor)
    harness.clock.advance(TTL - 1)
    assert (await harness.me(harness.token())).status_code == 200
    assert harness.jwks.fetches == 1  # still within the TTL: no fetch
    harness.clock.advance(1)
    assert (await harness.me(harness.token())).status_code == 200
    assert harness.jwks.fetches == 2  # the TTL refresh
    assert (await harness.me(harness.token(signer=successor))).status_code == 200
    assert harness.jwks.fetches == 2  # found in the refreshed set, no unknown-kid fetch


async def test_a_rotated_key_is_found_by_the_unknown_kid_refresh_before_the_ttl(
    harness: ApiHarness,
) -> None:
    assert (await harness.me(harness.token())).status_code == 200
    successor = Signer()
    harness.jwks.signers.append(successor)
    harness.clock.advance(MIN_REFRESH + 1)
    assert (await harness.me(harness.token(signer=successor))).status_code == 200
    assert harness.jwks.fetches == 2


async def test_a_key_published_within_30_seconds_of_a_fetch_waits_for_the_next_window(
    harness: ApiHarness,
) -> None:
    # why the BFF publishes a key a JWKS cache time before signing with it (DESIGN §3)
    assert (await harness.me(harness.token())).status_code == 200
    successor = Signer()
    harness.jwks.signers.append(successor)
    harness.clock.advance(10)
    assert_invalid_token(await harness.me(harness.token(signer=successor)))
    harness.clock.advance(MIN_REFRESH - 10)
    assert (await harness.me(harness.token(signer=successor))).status_code == 200


async def test_a_withdrawn_key_stops_verifying_at_the_next_refresh_even_for_a_seen_token(
    harness: ApiHarness,
) -> None:
    token = harness.token(exp=int(harness.clock.now()) + 15 * 60)
    assert (await harness.me(token)).status_code == 200
    harness.jwks.signers = [Signer()]  # the key is withdrawn (compromise response)
    harness.clock.advance(TTL)
    assert_invalid_token(await harness.me(token))


# --- outage -------------------------------------------------------------------------------------

OUTAGES = {
    "503": lambda server: setattr(server, "down", True),
    "connect-error": lambda server: setattr(server, "failure", httpx.ConnectError("refused")),
    "read-timeout": lambda server: setattr(server, "failure", httpx.ReadTimeout("slow")),
    "500-html": lambda server: setattr(
        server, "answer", lambda request: httpx.Response(500, text="<h1>oops</h1>")
    ),
}


def restore(server: JwksServer) -> None:
    server.down, server.failure, server.answer = False, None, None


@pytest.mark.parametrize("outage", list(OUTAGES))
async def test_an_outage_keeps_the_last_good_keys_then_fails_closed_then_recovers(
    harness: ApiHarness, outage: str
) -> None:
    assert (await harness.me(harness.token())).status_code == 200
    OUTAGES[outage](harness.jwks)
    harness.clock.advance(TTL + 1)
    assert (await harness.me(harness.token())).status_code == 200
    assert harness.jwks.fetches == 2  # it did try
    harness.clock.advance(MAX_STALE - 2)
    assert (await harness.me(harness.token())).status_code == 200
    harness.clock.advance(1)  # TTL + max_stale since the last good fetch
    assert_keys_unavailable(await harness.me(harness.token()))
    restore(harness.jwks)
    harness.clock.advance(MIN_REFRESH + 1)
    assert (await harness.me(harness.token())).status_code == 200


@pytest.mark.parametrize("outage", list(OUTAGES))
async def test_a_cold_start_during_an_outage_answers_503_not_401(
    harness: ApiHarness, outage: str
) -> None:
    OUTAGES[outage](harness.jwks)
    assert_keys_unavailable(await harness.me(harness.token()))


async def test_a_token_already_verified_is_refused_once_the_keys_are_too_stale() -> None:
    # max_stale 0: fail closed at the TTL, even for a token whose signature was checked before
    signer, clock = Signer(), FrozenClock()
    server = JwksServer(signers=[signer])
    async with open_api(httpx.MockTransport(server.handler), clock, jwks_max_stale=0) as (
        app,
        client,
    ):
        harness = ApiHarness(app=app, client=client, clock=clock, signer=signer, jwks=server)
        token = harness.token(exp=int(clock.now()) + 15 * 60)
        assert (await harness.me(token)).status_code == 200
        server.down = True
        clock.advance(TTL)
        assert_keys_unavailable(await harness.me(token))


# --- redirects and documents that must not replace the keys ------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_never_followed_and_keeps_the_keys(
    harness: ApiHarness, status: int
) -> None:
    attacker = Signer()
    assert (await harness.me(harness.token())).status_code == 200

    def answer(request: httpx.Request) -> httpx.Response:
        if str(request.url) == EVIL_URL:
            return httpx.Response(200, json={"keys": [attacker.jwk()]})
        return httpx.Response(status, headers={"Location": EVIL_URL})

    harness.jwks.answer = answer
    harness.clock.advance(TTL)
    assert (await harness.me(harness.token())).status_code == 200
    harness.clock.advance(MIN_REFRESH)
    assert_invalid_token(await harness.me(harness.token(signer=attacker)))
    assert harness.jwks.requested == [JWKS_URL] * 3


class CountingStream(httpx.AsyncByteStream):
    """An endless body (up to `limit`), counting how much the client pulled."""

    def __init__(self, chunk: bytes, limit: int) -> None:
        self.chunk, self.limit, self.served = chunk, limit, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.served < self.limit:
            self.served += len(self.chunk)
            yield self.chunk


def bad_documents(attacker: Signer) -> dict[str, Callable[[], httpx.Response]]:
    key = attacker.jwk()
    good = json.dumps({"keys": [key]}).encode()
    return {
        "over-64KiB": lambda: httpx.Response(200, json={"keys": [key], "pad": "x" * 64 * 1024}),
        "over-64KiB-without-length": lambda: httpx.Response(
            200, stream=CountingStream(b" " * 4096 + good, limit=256 * 1024)
        ),
        "not-json": lambda: httpx.Response(200, text="<html>keys</html>"),
        "not-utf8": lambda: httpx.Response(200, content=b'{"keys": ["\xff\xfe"]}'),
        "keys-not-a-list": lambda: httpx.Response(200, json={"keys": {attacker.kid: key}}),
        "keys-missing": lambda: httpx.Response(200, json={"jwks": [key]}),
        "top-level-list": lambda: httpx.Response(200, json=[key]),
        "deeply-nested": lambda: httpx.Response(
            200, content=b'{"keys": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
        ),
        # identity was asked for: an encoded answer is refused, not inflated
        "gzip-encoded": lambda: httpx.Response(
            200, content=gzip.compress(good), headers={"Content-Encoding": "gzip"}
        ),
        # a few KiB on the wire, 8 MiB once inflated: the cap must bound what is decoded
        "gzip-bomb": lambda: httpx.Response(
            200,
            content=gzip.compress(good + b" " * 8 * 1024 * 1024),
            headers={"Content-Encoding": "gzip"},
        ),
    }


@pytest.mark.parametrize("document", list(bad_documents(Signer())))
async def test_a_bad_document_is_ignored_and_the_last_good_keys_kept(
    harness: ApiHarness, document: str
) -> None:
    attacker = Signer()
    assert (await harness.me(harness.token())).status_code == 200
    make = bad_documents(attacker)[document]
    harness.jwks.answer = lambda request: make()
    harness.clock.advance(TTL)
    assert (await harness.me(harness.token())).status_code == 200
    assert harness.jwks.fetches == 2
    harness.clock.advance(MIN_REFRESH)
    assert_invalid_token(await harness.me(harness.token(signer=attacker)))
    assert harness.jwks.fetches == 3


async def test_an_endless_document_is_cut_off_at_the_cap(harness: ApiHarness) -> None:
    stream = CountingStream(b"[" * 4096, limit=64 * 1024 * 1024)
    harness.jwks.answer = lambda request: httpx.Response(200, stream=stream)
    assert_keys_unavailable(await harness.me(harness.token()))
    assert stream.served <= jwks_module.MAX_JWKS_BYTES + 2 * 4096


# --- keys inside a good document that must never be used ----------------------------------------

Forge = Callable[[ApiHarness], tuple[dict[str, Any], str]]


def _es256_with(
    key: ec.EllipticCurvePrivateKey, kid: str, harness: ApiHarness, alg: str = "ES256"
) -> str:
    signing_input = f"{b64({'alg': alg, 'typ': 'at+jwt', 'kid': kid})}.{b64(harness.claims())}"
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    return f"{signing_input}.{b64(der_to_raw_signature(der, key.curve))}"


def private_part(harness: ApiHarness) -> tuple[dict[str, Any], str]:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**ECAlgorithm.to_jwk(key, as_dict=True), "kid": "k-d", "alg": "ES256", "use": "sig"}
    return jwk, _es256_with(key, "k-d", harness)


def encryption_key(harness: ApiHarness) -> tuple[dict[str, Any], str]:
    signer = Signer(kid="k-enc")
    return {**signer.jwk(), "use": "enc"}, harness.token(signer=signer)


def without_alg(harness: ApiHarness) -> tuple[dict[str, Any], str]:
    signer = Signer(kid="k-noalg")
    jwk = signer.jwk()
    del jwk["alg"]
    return jwk, harness.token(signer=signer)


def hmac_key(harness: ApiHarness) -> tuple[dict[str, Any], str]:
    secret = secrets.token_bytes(32)
    jwk = {"kty": "oct", "k": b64(secret), "kid": "k-hs", "alg": "HS256", "use": "sig"}
    header = {"kid": "k-hs", "typ": "at+jwt"}
    return jwk, jwt.encode(harness.claims(), secret, algorithm="HS256", headers=header)


def rsa_key(harness: ApiHarness) -> tuple[dict[str, Any], str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {
        **RSAAlgorithm.to_jwk(key.public_key(), as_dict=True),
        "kid": "k-rs",
        "alg": "RS256",
        "use": "sig",
    }
    header = {"kid": "k-rs", "typ": "at+jwt"}
    return jwk, jwt.encode(harness.claims(), key, algorithm="RS256", headers=header)


def es256_on_p384(harness: ApiHarness) -> tuple[dict[str, Any], str]:
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {
        **ECAlgorithm.to_jwk(key.public_key(), as_dict=True),
        "kid": "k-p384",
        "alg": "ES256",
        "use": "sig",
    }
    return jwk, _es256_with(key, "k-p384", harness)


def es256_on_ed25519(harness: ApiHarness) -> tuple[dict[str, Any], str]:
    key = ed25519.Ed25519PrivateKey.generate()
    jwk = {
        **json.loads(OKPAlgorithm.to_jwk(key.public_key())),
        "kid": "k-okp",
        "alg": "ES256",
        "use": "sig",
    }
    signing_input = (
        f"{b64({'alg': 'ES256', 'typ': 'at+jwt', 'kid': 'k-okp'})}.{b64(harness.claims())}"
    )
    return jwk, f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def eddsa_on_p256(harness: ApiHarness) -> tuple[dict[str, Any], str]:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {
        **ECAlgorithm.to_jwk(key.public_key(), as_dict=True),
        "kid": "k-ed",
        "alg": "EdDSA",
        "use": "sig",
    }
    return jwk, _es256_with(key, "k-ed", harness, alg="EdDSA")


def numeric_kid(harness: ApiHarness) -> tuple[dict[str, Any], str]:
    signer = Signer(kid="7")
    return {**signer.jwk(), "kid": 7}, harness.token(signer=signer)


UNUSABLE_KEYS: dict[str, Forge] = {
    "private-part-d": private_part,
    "use-enc": encryption_key,
    "alg-missing": without_alg,
    "alg-HS256-oct": hmac_key,
    "alg-RS256": rsa_key,
    "ES256-on-P-384": es256_on_p384,
    "ES256-on-Ed25519": es256_on_ed25519,
    "EdDSA-on-P-256": eddsa_on_p256,
    "kid-not-a-string": numeric_kid,
}


@pytest.mark.parametrize("case", list(UNUSABLE_KEYS))
async def test_an_unusable_key_in_the_jwks_is_ignored_and_never_used(
    harness: ApiHarness, case: str
) -> None:
    jwk, token = UNUSABLE_KEYS[case](harness)
    good = harness.signer.jwk()
    harness.jwks.answer = lambda request: httpx.Response(200, json={"keys": [good, jwk]})
    assert (await harness.me(harness.token())).status_code == 200  # the document was used
    assert_invalid_token(await harness.me(token))


# --- concurrency and deadlines ------------------------------------------------------------------


@asynccontextmanager
async def open_api(
    transport: httpx.AsyncBaseTransport, clock: FrozenClock, **settings: Any
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = create_app(
        Settings(public_url=AUDIENCE, issuer=ISSUER, jwks_url=JWKS_URL, **settings),
        clock=clock,
        jwks_transport=transport,
        revocation_source=QuietFeed(),
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=AUDIENCE) as client,
    ):
        yield app, client


Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]


def gated(server: JwksServer, gate: anyio.Event) -> Handler:
    async def handler(request: httpx.Request) -> httpx.Response:
        await gate.wait()  # hold the first fetch open until every request is waiting
        return server.handler(request)

    return handler


async def test_concurrent_requests_on_a_cold_cache_share_one_fetch() -> None:
    signer, clock, gate = Signer(), FrozenClock(), anyio.Event()
    server = JwksServer(signers=[signer])
    async with open_api(httpx.MockTransport(gated(server, gate)), clock) as (app, client):
        harness = ApiHarness(app=app, client=client, clock=clock, signer=signer, jwks=server)
        statuses: list[int] = []

        async def call() -> None:
            statuses.append((await harness.me(harness.token())).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(call)
            await anyio.wait_all_tasks_blocked()
            gate.set()
    assert statuses == [200] * 20
    assert server.fetches == 1


class StallingStream(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"keys": ['
        await anyio.sleep_forever()


@pytest.mark.parametrize("stall", ["before-headers", "mid-body"])
async def test_a_stalled_jwks_fetch_is_abandoned_at_its_deadline(
    monkeypatch: pytest.MonkeyPatch, stall: str
) -> None:
    # httpx's timeouts are per read: a slow drip would hold the refresh lock and every request
    monkeypatch.setattr(jwks_module, "FETCH_TIMEOUT", 0.05)

    async def handler(request: httpx.Request) -> httpx.Response:
        if stall == "before-headers":
            await anyio.sleep_forever()
        return httpx.Response(200, stream=StallingStream())

    signer, clock = Signer(), FrozenClock()
    async with open_api(httpx.MockTransport(handler), clock) as (app, client):
        harness = ApiHarness(
            app=app, client=client, clock=clock, signer=signer, jwks=JwksServer(signers=[signer])
        )
        with anyio.fail_after(5):
            assert_keys_unavailable(await harness.me(harness.token()))
