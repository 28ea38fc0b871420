"""Our stack, ready to be loaded: its benchmark session, a warm access token the API accepts,
a file of fresh tokens for the cold path (more than the API's claims cache holds), and the wrk
loads of its hot endpoints, which E, F, G and H share."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bench.session import BenchSession, bff_token, expect_ok, wait_api_accepts
from bench.stack import Stack
from bench.tokens import mint_tokens, write_token_file
from bench.wrk import Load

WORKER_CHECKS = 8  # a multi-worker API: 200s on new connections before loading it


@dataclass(frozen=True, kw_only=True)
class Ours:
    stack: Stack
    session: BenchSession
    token: str  # from POST /bff/token: one token, its claims cached after the first request
    cold: Path  # fresh tokens, one a line
    position: Path  # where tokens.lua goes on through `cold` (segments never repeat a token)
    minted: int
    mint_s: float

    @property
    def key(self) -> str:
        return self.stack.config.key

    def bff_healthz(self) -> Load:
        return Load(label=f"{self.key}-bff-healthz", url=f"{self.stack.bff_url}/healthz")

    def bff_user(self) -> Load:
        url = f"{self.stack.bff_url}/bff/user"
        return Load(label=f"{self.key}-bff-user", url=url, headers=self.session.headers)

    def api_healthz(self) -> Load:
        return Load(label=f"{self.key}-api-healthz", url=f"{self.stack.api_url}/healthz")

    def api_me_warm(self) -> Load:
        url, bearer = f"{self.stack.api_url}/me", {"Authorization": f"Bearer {self.token}"}
        return Load(label=f"{self.key}-api-me-warm", url=url, headers=bearer)

    def api_me_cold(self) -> Load:
        return Load(
            label=f"{self.key}-api-me-cold",
            url=f"{self.stack.api_url}/me",
            script="tokens",
            args=(str(self.cold), str(self.position)),
        )


def prepare(st: Stack, session: BenchSession, *, cold_tokens: int, scratch: Path) -> Ours:
    """The warm token (the API must accept it: it follows the revocation feed first, each of
    its workers) and the cold tokens, minted through the BFF's composition root."""
    token = bff_token(st, session)
    for _ in range(WORKER_CHECKS if st.config.workers > 1 else 1):  # a new connection each
        wait_api_accepts(st, token)
    started = time.monotonic()
    tokens = mint_tokens(st.env, session, cold_tokens)
    mint_s = time.monotonic() - started
    cold = scratch / f"{st.config.key}-cold-tokens.txt"
    write_token_file(cold, tokens)
    expect_ok(f"{st.api_url}/me", {"Authorization": f"Bearer {tokens[-1]}"})
    return Ours(
        stack=st,
        session=session,
        token=token,
        cold=cold,
        position=scratch / f"{st.config.key}-cold-position.txt",
        minted=len(tokens),
        mint_s=mint_s,
    )
