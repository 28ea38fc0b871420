"""One regression test per known JWT attack, each against the running API (DESIGN.md §3).

Every forged token must be answered 401 with an RFC 6750 `invalid_token` challenge and a JSON
body: never 200, never 500. Where an advisory exists, its id heads the section that replays it.

Decisions recorded here (the verifier's documented behaviour):
- `typ` is compared as a media type, case-insensitively (RFC 7515 §4.1.9, RFC 9068 §4):
  `AT+JWT` and `application/at+jwt` pass; anything else, or a non-string, fails.
- `exp`, `iat`, `nbf` must be JSON integers. RFC 7519 allows fractional NumericDates, but our
  issuer mints integers only, so a float (or NaN/Infinity, a string, a boolean) is refused.
- The `Bearer` scheme is case-insensitive (RFC 9110 §11.1) and may be followed by several spaces
  (RFC 6750 §2.1 `1*SP`); surrounding whitespace is not part of the token (RFC 9110 §5.5).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID
from jwt.utils import der_to_raw_signature

from api.authentication import MAX_TOKEN_BYTES
from tests.api.conftest import JWKS_URL, ApiHarness, Signer, b64, sign_raw

pytestmark = pytest.mark.anyio

# the order of P-256 (FIPS 186-4 D.1.2.3)
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def assert_invalid_token(response: httpx.Response) -> None:
    """The one shape of a refusal: 401, an RFC 6750 challenge, a JSON error body."""
    assert response.status_code == 401, (response.status_code, response.text)
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "invalid_token"


async def send(harness: ApiHarness, authorization: str | bytes) -> httpx.Response:
    if isinstance(authorization, bytes):
        return await harness.client.get("/me", headers={b"Authorization": authorization})
    return await harness.client.get("/me", headers={"Authorization": authorization})


def header(harness: ApiHarness, **overrides: Any) -> dict[str, Any]:
    base = {"alg": "ES256", "typ": "at+jwt", "kid": harness.signer.kid}
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not _ABSENT}


_ABSENT: Any = object()  # marks a header parameter to leave out


def forge(harness: ApiHarness, *, headers: dict[str, Any] | None = None, **claims: Any) -> str:
    """A token really signed by the API's trusted key, with any header and claims: only the
    check under test can refuse it."""
    return sign_raw(
        header(harness, **(headers or {})), harness.claims(**claims), harness.signer.key
    )


def segments(token: str) -> list[str]:
    return token.split(".")


# --- positive controls: the suite can fail ---------------------------------------------------


async def test_a_correct_token_is_accepted(harness: ApiHarness) -> None:
    response = await harness.me(harness.token())
    assert response.status_code == 200
    assert response.json()["sub"] == "u_alice"


async def test_a_hand_built_token_is_accepted_so_forgeries_fail_for_their_flaw(
    harness: ApiHarness,
) -> None:
    assert (await harness.me(forge(harness))).status_code == 200


async def test_a_token_signed_by_an_unknown_key_under_a_known_kid_is_refused(
    harness: ApiHarness,
) -> None:
    impostor = Signer(kid=harness.signer.kid)
    assert_invalid_token(await harness.me(harness.token(signer=impostor)))


# --- alg: none (CVE-2015-9235) -----------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", ["empty", "garbage", "real-es256"])
async def test_alg_none_is_refused_in_every_casing(
    harness: ApiHarness, alg: str, signature: str
) -> None:
    _, body, real = segments(harness.token())
    forged_head = b64(header(harness, alg=alg))
    sig = {"empty": "", "garbage": b64(b"garbage"), "real-es256": real}[signature]
    assert_invalid_token(await harness.me(f"{forged_head}.{body}.{sig}"))


@pytest.mark.parametrize(
    "alg",
    [
        "HS256",
        "RS256",
        "PS256",
        "ES384",
        "ES512",
        "ES256K",
        "es256",
        "ES256 ",
        "",
        None,
        ["ES256"],
        {"alg": "ES256"},
    ],
)
async def test_algorithms_outside_the_pinned_list_are_refused(
    harness: ApiHarness, alg: Any
) -> None:
    # signed by the trusted key: only the alg pin can refuse it
    assert_invalid_token(await harness.me(forge(harness, headers={"alg": alg})))


async def test_eddsa_header_on_an_es256_key_is_refused(harness: ApiHarness) -> None:
    # the key's own alg is pinned: a kid never lends its key to another algorithm
    assert_invalid_token(await harness.me(forge(harness, headers={"alg": "EdDSA"})))


# --- HMAC with the public key as secret (CVE-2017-11424, CVE-2022-29217, PYSEC-2026-179) ------


def public_key_forms(signer: Signer) -> dict[str, bytes]:
    public = signer.key.public_key()
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    point = public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    jwk = signer.jwk()
    return {
        "pem": pem,
        "pem-no-trailing-newline": pem.rstrip(b"\n"),
        "pem-crlf": pem.replace(b"\n", b"\r\n"),
        "der": der,
        "der-base64": base64.b64encode(der),
        "der-base64url": b64(der).encode(),
        "jwk-json": json.dumps(jwk).encode(),
        "jwk-json-compact": json.dumps(jwk, separators=(",", ":")).encode(),
        "jwks-document": json.dumps({"keys": [jwk]}).encode(),
        "x962-uncompressed-point": point,
        "x962-compressed-point": public.public_bytes(Encoding.X962, PublicFormat.CompressedPoint),
        "point-base64": base64.b64encode(point),
        "point-base64url": b64(point).encode(),
        "openssh": public.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH),
        "jwk-x": str(jwk["x"]).encode(),
    }


FORMS = list(public_key_forms(Signer()))
HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("alg", list(HASHES))
async def test_hmac_signed_with_the_public_key_is_refused(
    harness: ApiHarness, alg: str, form: str
) -> None:
    secret = public_key_forms(harness.signer)[form]
    signing_input = f"{b64(header(harness, alg=alg))}.{b64(harness.claims())}"
    mac = hmac.new(secret, signing_input.encode(), HASHES[alg]).digest()
    assert_invalid_token(await harness.me(f"{signing_input}.{b64(mac)}"))


# --- ECDSA psychic signatures (CVE-2022-21449) and signature encodings --------------------------


def _raw(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(bytes(64), id="r=s=0"),
        pytest.param(_raw(P256_ORDER, P256_ORDER), id="r=s=n"),
        pytest.param(_raw(0, P256_ORDER), id="r=0,s=n"),
        pytest.param(_raw(1, 1), id="r=s=1"),
        pytest.param(b"\x00", id="one-zero-byte"),
        pytest.param(bytes(63), id="63-bytes"),
        pytest.param(bytes(65), id="65-bytes"),
    ],
)
async def test_psychic_and_malformed_ecdsa_signatures_are_refused(
    harness: ApiHarness, signature: bytes
) -> None:
    head, body, _ = segments(harness.token())
    assert_invalid_token(await harness.me(f"{head}.{body}.{b64(signature)}"))


async def test_a_der_encoded_signature_is_refused(harness: ApiHarness) -> None:
    # JWS ES256 is raw r||s (RFC 7518 §3.4); DER is another parser's input, not ours
    head, body, _ = segments(harness.token())
    der = harness.signer.key.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    assert_invalid_token(await harness.me(f"{head}.{body}.{b64(der)}"))


# --- tampering ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param({"sub": "u_admin"}, id="sub"),
        pytest.param({"scope": "notes:read notes:write admin"}, id="scope-widened"),
        pytest.param({"role": "admin"}, id="role"),
        pytest.param({"exp": 1_800_000_000 + 86_400 * 365}, id="exp-extended"),
        pytest.param({"aud": "https://api.test", "extra": "x"}, id="claim-added"),
    ],
)
async def test_a_payload_edited_after_signing_is_refused(
    harness: ApiHarness, edit: dict[str, Any]
) -> None:
    head, body, sig = segments(harness.token())
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert_invalid_token(await harness.me(f"{head}.{b64({**claims, **edit})}.{sig}"))


async def test_a_header_edited_after_signing_is_refused(harness: ApiHarness) -> None:
    _, body, sig = segments(harness.token())
    edited = b64(header(harness, typ="application/at+jwt"))
    assert_invalid_token(await harness.me(f"{edited}.{body}.{sig}"))


async def test_a_signature_swapped_from_another_valid_token_is_refused(
    harness: ApiHarness,
) -> None:
    victim_head, victim_body, _ = segments(harness.token(sub="u_admin", role="admin"))
    *_, other_sig = segments(harness.token())
    assert_invalid_token(await harness.me(f"{victim_head}.{victim_body}.{other_sig}"))


# --- required claims ----------------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub", "jti", "scope", "client_id"])
async def test_a_token_missing_a_required_claim_is_refused(harness: ApiHarness, claim: str) -> None:
    token = forge(harness, **{claim: None})
    assert claim not in json.loads(base64.urlsafe_b64decode(segments(token)[1] + "=="))
    assert_invalid_token(await harness.me(token))


# --- issuer and audience (CVE-2024-53861: partial issuer match) ---------------------------------


@pytest.mark.parametrize(
    "iss",
    [
        pytest.param("https://evil.test", id="wrong"),
        pytest.param("https://bff.tes", id="prefix"),
        pytest.param("https://bff.test.evil", id="suffix"),
        pytest.param("https://bff.test/", id="trailing-slash"),
        pytest.param("HTTPS://BFF.TEST", id="case"),
        pytest.param("", id="empty"),
        pytest.param(["https://bff.test"], id="list-of-the-right-one"),
        pytest.param(["https://evil.test", "https://bff.test"], id="list-containing"),
        pytest.param({"iss": "https://bff.test"}, id="object"),
        pytest.param(1, id="number"),
    ],
)
async def test_an_issuer_other_than_exactly_ours_is_refused(harness: ApiHarness, iss: Any) -> None:
    assert_invalid_token(await harness.me(forge(harness, iss=iss)))


@pytest.mark.parametrize(
    "aud",
    [
        pytest.param("https://other.test", id="wrong"),
        pytest.param("https://api.tes", id="prefix"),
        pytest.param("https://api.test.evil", id="suffix"),
        pytest.param("https://api.test/", id="trailing-slash"),
        pytest.param(["https://api.test"], id="list-of-the-right-one"),
        pytest.param(["https://api.test", "https://other.test"], id="list-containing"),
        pytest.param([], id="empty-list"),
        pytest.param("", id="empty"),
        pytest.param(1, id="number"),
        pytest.param({"aud": "https://api.test"}, id="object"),
    ],
)
async def test_an_audience_other_than_exactly_ours_is_refused(
    harness: ApiHarness, aud: Any
) -> None:
    # DESIGN §3: aud is one string; a list, even of just us, is another issuer's habit
    assert_invalid_token(await harness.me(forge(harness, aud=aud)))


# --- typ (RFC 9068 §4) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typ",
    [
        pytest.param("JWT", id="JWT"),
        pytest.param(_ABSENT, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("application/jwt", id="application-jwt"),
        pytest.param("at+jwt ", id="trailing-space"),
        pytest.param("at+jwt\u0000", id="trailing-nul"),
        pytest.param("dpop+jwt", id="dpop"),
        pytest.param("secevent+jwt", id="secevent"),
        pytest.param(1, id="number"),
        pytest.param(True, id="boolean"),
        pytest.param(None, id="null"),
        pytest.param(["at+jwt"], id="list"),
        pytest.param({"typ": "at+jwt"}, id="object"),
    ],
)
async def test_a_token_that_is_not_typed_as_an_access_token_is_refused(
    harness: ApiHarness, typ: Any
) -> None:
    assert_invalid_token(await harness.me(forge(harness, headers={"typ": typ})))


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
async def test_typ_is_compared_as_a_case_insensitive_media_type(
    harness: ApiHarness, typ: str
) -> None:
    assert (await harness.me(forge(harness, headers={"typ": typ}))).status_code == 200


# --- critical and key-carrying headers (CVE-2026-32597, CVE-2018-0114, PYSEC-2026-175) --------


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"crit": ["exp"]}, id="crit-exp"),
        pytest.param({"crit": ["b64"]}, id="crit-b64"),
        pytest.param({"crit": ["b64"], "b64": False}, id="crit-b64-false"),
        pytest.param({"b64": False}, id="b64-false-uncritical"),
        pytest.param({"crit": []}, id="crit-empty"),
        pytest.param({"crit": "exp"}, id="crit-string"),
        pytest.param(
            {"crit": ["https://example.com/mfa"], "https://example.com/mfa": True},
            id="crit-unknown-extension",
        ),
    ],
)
async def test_critical_header_extensions_are_refused(
    harness: ApiHarness, extra: dict[str, Any]
) -> None:
    assert_invalid_token(await harness.me(forge(harness, headers=extra)))


def attacker_certificate(key: ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bff.test")])
    now = datetime(2027, 1, 1, tzinfo=UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )


def embedded_key_headers(attacker: Signer) -> dict[str, dict[str, Any]]:
    cert = attacker_certificate(attacker.key)
    return {
        "jwk": {"jwk": attacker.jwk()},
        "jku": {"jku": "https://evil.test/jwks.json"},
        "x5u": {"x5u": "https://evil.test/cert.pem"},
        "x5c": {"x5c": [base64.b64encode(cert).decode()]},
        "x5t": {"x5t": b64(hashlib.sha1(cert).digest())},
        "x5t#S256": {"x5t#S256": b64(hashlib.sha256(cert).digest())},
    }


@pytest.mark.parametrize("kid_of", ["attacker", "server"])
@pytest.mark.parametrize("carrier", list(embedded_key_headers(Signer())))
async def test_a_key_carried_in_the_header_is_never_trusted_nor_fetched(
    harness: ApiHarness, carrier: str, kid_of: str
) -> None:
    attacker = Signer()
    genuine = {"keys": [harness.signer.jwk()]}
    attacker_jwks = {"keys": [attacker.jwk()]}
    # any other URL answers with the attacker's keys: following one would "work"
    harness.jwks.answer = lambda request: httpx.Response(
        200, json=genuine if str(request.url) == JWKS_URL else attacker_jwks
    )
    harness.clock.advance(31)
    kid = attacker.kid if kid_of == "attacker" else harness.signer.kid
    token = harness.token(
        signer=attacker, headers={"kid": kid, **embedded_key_headers(attacker)[carrier]}
    )
    assert_invalid_token(await harness.me(token))
    assert all(url == JWKS_URL for url in harness.jwks.requested), harness.jwks.requested


# --- kid injection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kid",
    [
        pytest.param("../../etc/passwd", id="path-traversal"),
        pytest.param("' OR 1=1 --", id="sql"),
        pytest.param("\u0000", id="nul"),
        pytest.param("k\u0000", id="trailing-nul"),
        pytest.param("k\n", id="trailing-newline"),
        pytest.param("https://evil.test/key", id="url"),
        pytest.param("k" * 10 * 1024, id="10KB"),
        pytest.param("", id="empty"),
        pytest.param(7, id="number"),
        pytest.param(None, id="null"),
        pytest.param(True, id="boolean"),
        pytest.param({"kid": "k"}, id="object"),
        pytest.param(["k"], id="list"),
        pytest.param(_ABSENT, id="missing"),
    ],
)
async def test_a_malformed_kid_is_refused_before_any_key_lookup(
    harness: ApiHarness, kid: Any
) -> None:
    assert (await harness.me(harness.token())).status_code == 200
    harness.clock.advance(31)  # an unknown-kid refresh would be allowed now: none must happen
    before = harness.jwks.fetches
    assert_invalid_token(await harness.me(forge(harness, headers={"kid": kid})))
    assert harness.jwks.fetches == before


async def test_an_unknown_kid_is_refused(harness: ApiHarness) -> None:
    assert_invalid_token(await harness.me(forge(harness, headers={"kid": "not-a-known-kid"})))


# --- size ---------------------------------------------------------------------------------------


def token_of_length(harness: ApiHarness, length: int) -> str:
    """A correctly signed token of exactly `length` characters (padding claim and header)."""
    for pad in range(4):
        head = header(harness, **({"pad": "p" * pad} if pad else {}))
        for filler in range(length):
            token = sign_raw(head, harness.claims(filler="f" * filler), harness.signer.key)
            if len(token) == length:
                return token
            if len(token) > length:
                break
    raise AssertionError(f"no token of length {length}")


async def test_a_valid_token_of_exactly_the_cap_is_accepted(harness: ApiHarness) -> None:
    token = token_of_length(harness, MAX_TOKEN_BYTES)
    assert (await harness.me(token)).status_code == 200


async def test_a_valid_token_one_byte_over_the_cap_is_refused(harness: ApiHarness) -> None:
    assert_invalid_token(await harness.me(token_of_length(harness, MAX_TOKEN_BYTES + 1)))


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("a" * 2000 + "." + "b" * 2000 + "." + "c" * 94, id="4096-garbage"),
        pytest.param("a" * (2 * 1024 * 1024), id="2MB"),
        pytest.param("a." * (1024 * 1024) + "a", id="2MB-of-segments"),
    ],
)
async def test_oversized_or_garbage_tokens_are_refused(harness: ApiHarness, token: str) -> None:
    assert_invalid_token(await harness.me(token))


# --- shape and encoding -------------------------------------------------------------------------


def shapes(token: str) -> dict[str, str]:
    head, body, sig = segments(token)
    return {
        "1-segment": head,
        "2-segments": f"{head}.{body}",
        "2-segments-trailing-dot": f"{head}.{body}.",
        "4-segments": f"{head}.{body}.{sig}.{sig}",
        "5-segments-jwe": f"{head}.{body}.{sig}.{sig}.{sig}",
        "empty-header": f".{body}.{sig}",
        "empty-payload": f"{head}..{sig}",
        "only-dots": "..",
        "padding-in-signature": f"{head}.{body}.{sig}==",
        "padding-in-payload": f"{head}.{body}=.{sig}",
        "standard-base64-alphabet": f"{head}.{body}.{sig.replace('-', '+').replace('_', '/')}+/",
        "non-base64-character": f"{head}.{body}.{sig[:-1]}!",
        "impossible-base64-length": f"{head}.{body}.{sig}a",
        "whitespace-inside": f"{head}. {body}.{sig}",
        "json-serialization": json.dumps({"protected": head, "payload": body, "signature": sig}),
        "mixed-json-and-compact": json.dumps(
            {f"{head}.{body}.": "", "protected": head, "payload": body, "signature": sig}
        ),
    }


@pytest.mark.parametrize("shape", list(shapes("a.b.c")))
async def test_tokens_of_the_wrong_shape_are_refused(harness: ApiHarness, shape: str) -> None:
    # the JSON forms are CVE-2022-39227 (python-jwt): one parser's JSON, another's compact
    assert_invalid_token(await harness.me(shapes(harness.token())[shape]))


@pytest.mark.parametrize(
    "forged_header",
    [
        pytest.param(b"\xff\xfe{}", id="non-utf8"),
        pytest.param(b'["ES256"]', id="array"),
        pytest.param(b"42", id="number"),
        pytest.param(b'"at+jwt"', id="string"),
        pytest.param(b"null", id="null"),
        pytest.param(b"{", id="truncated-json"),
        pytest.param(b"[" * 3000, id="deeply-nested"),
    ],
)
async def test_a_header_that_is_not_a_json_object_is_refused(
    harness: ApiHarness, forged_header: bytes
) -> None:
    _, body, sig = segments(harness.token())
    assert_invalid_token(await harness.me(f"{b64(forged_header)}.{body}.{sig}"))


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"\xff\xfe{}", id="non-utf8"),
        pytest.param(b'["u_alice"]', id="array"),
        pytest.param(b"42", id="number"),
        pytest.param(b"null", id="null"),
        pytest.param(b"{", id="truncated-json"),
        pytest.param(b"[" * 2000, id="deeply-nested"),
    ],
)
async def test_a_signed_payload_that_is_not_a_json_object_is_refused(
    harness: ApiHarness, payload: bytes
) -> None:
    assert_invalid_token(await harness.me(sign_raw(header(harness), payload, harness.signer.key)))


async def test_non_utf8_bytes_in_the_authorization_header_are_refused(
    harness: ApiHarness,
) -> None:
    token = harness.token().encode()
    assert_invalid_token(await send(harness, b"Bearer " + token[:-2] + b"\xff\xfe"))


# --- claim types and time -----------------------------------------------------------------------

NOW = 1_800_000_000  # FrozenClock's start


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"exp": "9999999999"}, id="exp-string"),
        pytest.param({"iat": str(NOW)}, id="iat-string"),
        pytest.param({"nbf": str(NOW)}, id="nbf-string"),
        pytest.param({"exp": NOW + 300.5}, id="exp-float"),
        pytest.param({"iat": float(NOW)}, id="iat-float"),
        pytest.param({"exp": float("inf")}, id="exp-infinity"),
        pytest.param({"exp": float("nan")}, id="exp-nan"),
        pytest.param({"exp": True}, id="exp-boolean"),
        pytest.param({"iat": False}, id="iat-boolean"),
        pytest.param({"nbf": False}, id="nbf-boolean"),
        pytest.param({"exp": {"$gt": 0}}, id="exp-object"),
        pytest.param({"exp": [NOW + 300]}, id="exp-list"),
        pytest.param({"sub": 42}, id="sub-number"),
        pytest.param({"sub": ["u_alice"]}, id="sub-list"),
        pytest.param({"sub": ""}, id="sub-empty"),
        pytest.param({"sub": {"id": "u_alice"}}, id="sub-object"),
        pytest.param({"scope": ["notes:read", "admin"]}, id="scope-list"),
        pytest.param({"scope": ""}, id="scope-empty"),
        pytest.param({"scope": 1}, id="scope-number"),
        pytest.param({"aud": 1}, id="aud-number"),
        pytest.param({"jti": 1}, id="jti-number"),
        pytest.param({"client_id": ["bff"]}, id="client_id-list"),
        pytest.param({"sid": 1}, id="sid-number"),
        pytest.param({"sid": ["s_1"]}, id="sid-list"),
        pytest.param({"role": ["admin"]}, id="role-list"),
        pytest.param({"role": True}, id="role-boolean"),
        pytest.param({"role": {"name": "admin"}}, id="role-object"),
    ],
)
async def test_claims_of_the_wrong_type_are_refused(
    harness: ApiHarness, claims: dict[str, Any]
) -> None:
    assert_invalid_token(await harness.me(forge(harness, **claims)))


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"iat": NOW + 31}, id="iat-in-the-future-beyond-leeway"),
        pytest.param({"nbf": NOW + 31}, id="nbf-in-the-future-beyond-leeway"),
        pytest.param({"iat": NOW - 600, "exp": NOW - 30}, id="exp-at-the-leeway"),
        pytest.param({"iat": NOW - 600, "exp": NOW - 31}, id="exp-past-beyond-leeway"),
        pytest.param({"iat": NOW - 10**9, "exp": 0}, id="exp-epoch"),
        pytest.param({"exp": -1}, id="exp-negative"),
        # DESIGN §3: no access token lives past 15 min; a longer one is a minting bug
        pytest.param({"exp": NOW + 15 * 60 + 31}, id="exp-beyond-the-longest-lifetime"),
        pytest.param({"exp": 10**300}, id="exp-huge"),
    ],
)
async def test_tokens_outside_their_time_window_are_refused(
    harness: ApiHarness, claims: dict[str, Any]
) -> None:
    assert_invalid_token(await harness.me(forge(harness, **claims)))


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"iat": NOW + 30}, id="iat-at-the-leeway"),
        pytest.param({"nbf": NOW + 30}, id="nbf-at-the-leeway"),
        pytest.param({"iat": NOW - 600, "exp": NOW - 29}, id="exp-within-leeway"),
        pytest.param({"exp": NOW + 15 * 60 + 30}, id="the-longest-lifetime"),
    ],
)
async def test_the_30_second_leeway_is_honoured(
    harness: ApiHarness, claims: dict[str, Any]
) -> None:
    assert (await harness.me(forge(harness, **claims))).status_code == 200


# --- the Authorization header -------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param("Bearer", id="scheme-without-token"),
        pytest.param("Bearer ", id="scheme-and-space"),
        pytest.param("Bearer    ", id="scheme-and-spaces"),
        pytest.param("Token {t}", id="Token-scheme"),
        pytest.param("Basic {t}", id="Basic-scheme"),
        pytest.param("DPoP {t}", id="DPoP-scheme"),
        pytest.param("Bearer{t}", id="no-space"),
        pytest.param("Bearer\t{t}", id="tab"),
        pytest.param("Bearer {t} {t}", id="two-tokens"),
        pytest.param("Bearer {t},Bearer {t}", id="comma-list"),
        pytest.param("Bearer {t} extra", id="trailing-word"),
        pytest.param("Bearer x", id="garbage"),
        pytest.param("bearer x", id="lowercase-garbage"),
        pytest.param("{t}", id="token-without-scheme"),
        pytest.param("Bearer " + "a" * 5000, id="over-4KiB"),
    ],
)
async def test_malformed_authorization_headers_are_refused(harness: ApiHarness, shape: str) -> None:
    assert_invalid_token(await send(harness, shape.format(t=harness.token())))


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param("bearer {t}", id="lowercase-scheme"),
        pytest.param("BEARER {t}", id="uppercase-scheme"),
        pytest.param("Bearer  {t}", id="two-spaces"),
        pytest.param("Bearer  {t}  ", id="surrounding-whitespace"),
    ],
)
async def test_rfc_conformant_authorization_variants_are_accepted(
    harness: ApiHarness, shape: str
) -> None:
    assert (await send(harness, shape.format(t=harness.token()))).status_code == 200


async def test_two_authorization_headers_are_refused(harness: ApiHarness) -> None:
    # a proxy and the API could each read a different one: refuse the ambiguity
    headers = [
        ("Authorization", f"Bearer {harness.token()}"),
        ("Authorization", f"Bearer {harness.token(sub='u_mallory')}"),
    ]
    assert_invalid_token(await harness.client.get("/me", headers=headers))


async def test_a_token_in_the_query_string_is_not_read(harness: ApiHarness) -> None:
    # RFC 9700 §2.5 / RFC 6750 §2.3: query tokens leak into logs; the API reads only the header
    response = await harness.client.get("/me", params={"access_token": harness.token()})
    assert_invalid_token(response)


async def test_a_refused_token_never_echoes_attacker_text_into_the_challenge(
    harness: ApiHarness,
) -> None:
    marker = 'x", error="none'
    token = forge(harness, headers={"typ": marker, "kid": secrets.token_urlsafe(8)})
    response = await harness.me(token)
    assert_invalid_token(response)
    assert "none" not in response.headers["www-authenticate"]


# --- the header read before the signature ------------------------------------------------------


@pytest.mark.parametrize(
    "header", [pytest.param(b"[1, 2]", id="a-list"), pytest.param(b"{not json", id="not-json")]
)
async def test_a_signed_header_that_is_no_json_object_is_refused(
    harness: ApiHarness, header: bytes
) -> None:
    token = sign_raw(header, harness.claims(), harness.signer.key)
    response = await harness.me(token)
    assert_invalid_token(response)
    assert "malformed token header" in response.headers["www-authenticate"]


async def test_a_header_in_non_canonical_base64url_is_refused(harness: ApiHarness) -> None:
    """The API reads the header itself, leniently, for its checks; the signature's check must
    still refuse a segment with its spare bits set (PyJWT's canonical decoding)."""
    header = {"alg": "ES256", "kid": harness.signer.kid, "typ": "at+jwt"}
    text = json.dumps(header, separators=(",", ":"))
    while len(b64(text)) % 4 == 0:  # no spare bits to set: lengthen it
        text += " "
    segment = b64(text)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    bent = segment[:-1] + alphabet[alphabet.index(segment[-1]) | 1]
    padded = bent + "=" * (-len(bent) % 4)
    assert bent != segment and base64.urlsafe_b64decode(padded) == text.encode()
    signing_input = f"{bent}.{b64(harness.claims())}"
    der = harness.signer.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    raw = der_to_raw_signature(der, harness.signer.key.curve)
    response = await harness.me(f"{signing_input}.{b64(raw)}")
    assert_invalid_token(response)
    assert "the token is invalid" in response.headers["www-authenticate"]  # at the signature
