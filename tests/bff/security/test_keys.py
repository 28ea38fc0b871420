from __future__ import annotations

import json
import stat
from pathlib import Path

import jwt

from bff.clock import FrozenClock
from bff.security.keyfile import KeyFileStore
from bff.security.keys import KeyRing, SigningKey
from bff.security.tokens import TokenMinter


def _ring(path: Path, clock: FrozenClock, alg: str = "ES256") -> KeyRing:
    store = KeyFileStore(path=path)
    ring = KeyRing(store=store, alg=alg, clock=clock, publish_lead=300, retain_seconds=960)
    ring.load_or_create()
    return ring


class MemoryKeyStore:
    """Another key source: the policy must not care where its keys live."""

    def __init__(self) -> None:
        self.saved: list[SigningKey] = []

    def load(self) -> list[SigningKey]:
        return list(self.saved)

    def save(self, keys: list[SigningKey]) -> None:
        self.saved = list(keys)

    def changed(self) -> bool:
        return False


def test_the_rotation_policy_runs_on_any_key_store() -> None:
    clock, store = FrozenClock(), MemoryKeyStore()
    ring = KeyRing(store=store, alg="ES256", clock=clock, publish_lead=300, retain_seconds=960)
    ring.load_or_create()
    old = ring.signer()[0]
    new = ring.rotate()
    assert [k.kid for k in store.saved] == [old.kid, new.kid]
    clock.advance(300)
    assert ring.signer()[0].kid == new.kid
    clock.advance(960)
    assert [k["kid"] for k in ring.jwks()["keys"]] == [new.kid]


def test_private_keys_are_owner_only(tmp_path: Path) -> None:
    ring = _ring(tmp_path / "var" / "keys.json", FrozenClock())
    ring.rotate()
    assert stat.S_IMODE((tmp_path / "var" / "keys.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700


def test_jwks_never_contains_private_material(tmp_path: Path) -> None:
    ring = _ring(tmp_path / "keys.json", FrozenClock())
    for key in ring.jwks()["keys"]:
        assert "d" not in key
        assert key["alg"] == "ES256" and key["use"] == "sig" and key["kid"]


def test_rotation_publishes_first_signs_later_and_retires_old_key(tmp_path: Path) -> None:
    clock = FrozenClock()
    ring = _ring(tmp_path / "keys.json", clock)
    old = ring.signer()[0]
    new = ring.rotate()
    assert {k["kid"] for k in ring.jwks()["keys"]} == {old.kid, new.kid}
    assert ring.signer()[0].kid == old.kid  # not before every JWKS cache has seen it
    clock.advance(300)
    assert ring.signer()[0].kid == new.kid
    clock.advance(959)
    assert old.kid in {k["kid"] for k in ring.jwks()["keys"]}  # its tokens may still live
    clock.advance(1)
    assert {k["kid"] for k in ring.jwks()["keys"]} == {new.kid}


def test_a_rotation_by_another_process_is_picked_up(tmp_path: Path) -> None:
    clock = FrozenClock()
    server = _ring(tmp_path / "keys.json", clock)
    cli = _ring(tmp_path / "keys.json", clock)
    new = cli.rotate()
    clock.advance(1)  # the server looks at the file at most once a second
    assert new.kid in {k["kid"] for k in server.jwks()["keys"]}


def test_key_ring_survives_a_restart(tmp_path: Path) -> None:
    clock = FrozenClock()
    first = _ring(tmp_path / "keys.json", clock).signer()[0]
    assert _ring(tmp_path / "keys.json", clock).signer()[0].kid == first.kid
    assert len(json.loads((tmp_path / "keys.json").read_text())["keys"]) == 1


def test_eddsa_keys_sign_verifiable_tokens(tmp_path: Path) -> None:
    clock = FrozenClock()
    ring = _ring(tmp_path / "keys.json", clock, alg="EdDSA")
    minter = TokenMinter(keys=ring, issuer="https://i", audience="https://a", clock=clock)
    token = minter.mint(sub="u", scopes=("notes:read",), client_id="c", ttl=300).token
    jwk = ring.jwks()["keys"][0]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["alg"] == "EdDSA"
    claims = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["EdDSA"],
        audience="https://a",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["sub"] == "u"
