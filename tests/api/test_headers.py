"""The API's response headers: nosniff everywhere, and CORS's Vary whether or not the request
names an origin, as Starlette's CORS middleware sets them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.cors import JsonCORSMiddleware, vary_on_origin
from api.headers import ApiHeadersMiddleware
from tests.api.conftest import ApiHarness

pytestmark = pytest.mark.anyio
BFF = "https://bff.test"


async def test_an_answer_without_origin_varies_on_origin_and_forbids_sniffing(
    harness: ApiHarness,
) -> None:
    response = await harness.client.get("/healthz")
    assert response.headers["vary"] == "Origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-origin" not in response.headers


async def test_an_answer_to_the_bff_origin_allows_it(harness: ApiHarness) -> None:
    response = await harness.client.get("/healthz", headers={"Origin": BFF})
    assert response.headers["access-control-allow-origin"] == BFF
    assert response.headers["vary"] == "Origin"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_an_answer_to_another_origin_allows_nothing(harness: ApiHarness) -> None:
    response = await harness.client.get("/healthz", headers={"Origin": "https://evil.test"})
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"


def test_an_existing_vary_keeps_its_values_first() -> None:
    raw = [(b"content-type", b"application/json"), (b"vary", b"Accept"), (b"vary", b"Cookie")]
    assert vary_on_origin(raw) == [
        (b"content-type", b"application/json"),
        (b"vary", b"Accept, Cookie, Origin"),
    ]


@pytest.mark.parametrize("origin", [None, BFF, "https://evil.test"])
@pytest.mark.parametrize("vary", [None, "Accept"])
async def test_the_headers_are_starlettes_cors_plus_nosniff(
    origin: str | None, vary: str | None
) -> None:
    """The fast path and Starlette's CORS middleware give the same headers, in any case."""

    async def page(request: Request) -> Response:
        return JSONResponse({"ok": True}, headers={"Vary": vary} if vary else None)

    allowed: dict[str, Any] = {
        "allow_origins": [BFF],
        "allow_methods": ["GET"],
        "allow_headers": ["Authorization"],
    }
    ours = Starlette(
        routes=[Route("/", page)],
        middleware=[Middleware(ApiHeadersMiddleware, **allowed, max_age=600)],
    )
    theirs = Starlette(
        routes=[Route("/", page)],
        middleware=[
            Middleware(JsonCORSMiddleware, **allowed, allow_credentials=False, max_age=600)
        ],
    )
    headers = {"Origin": origin} if origin else {}
    answers = []
    for app in (ours, theirs):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://api.test"
        ) as client:
            answers.append((await client.get("/", headers=headers)).headers)
    assert answers[0].pop("x-content-type-options") == "nosniff"
    assert sorted(answers[0].multi_items()) == sorted(answers[1].multi_items())
