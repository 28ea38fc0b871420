"""Property-based checks of the running API against the OpenAPI document it serves (schemathesis).

schemathesis loads GET /openapi.json from the app in-process and calls every operation with
generated valid and invalid inputs (examples, coverage and fuzzing phases) and a token holding
every scope; a well-formed note id is swapped for a real note's. All default checks run, among
them not_a_server_error, status_code_conformance, content_type_conformance,
response_headers_conformance, response_schema_conformance, positive_data_acceptance,
negative_data_rejection, missing_required_header, ignored_auth and unsupported_method; none is
disabled. (The stateful phase is not used: schemathesis' link-following generation depends on
earlier responses, which Hypothesis reports as flaky data generation.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi as schemathesis_asgi
from starlette.applications import Starlette

from api.app import create_app
from api.schemas import NOTE_ID
from api.settings import Settings
from bff.clock import FrozenClock
from tests.api.conftest import AUDIENCE, ISSUER, JWKS_URL, JwksServer, QuietFeed, Signer

ALL_SCOPES = "notes:read notes:write admin"
# schemathesis' default rejections, plus 413: a generated oversized string can pass the 16 KiB cap
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # schemathesis' from_fixture reads request.node._nodeid, which pytest 9.2 no longer sets
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def token(signer: Signer, clock: FrozenClock) -> str:
    now = int(clock.now())  # the app's frozen clock too: the token never expires during the run
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u_fuzz",
        "iat": now,
        "exp": now + 300,
        "jti": "j_fuzz",
        "client_id": "bff",
        "scope": ALL_SCOPES,
    }
    headers = {"kid": signer.kid, "typ": "at+jwt"}
    return jwt.encode(claims, signer.key, algorithm="ES256", headers=headers)


def config(token: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            # the bearer scheme of the document: schemathesis knows it is auth, so it also probes
            # the API without it and with a wrong one (ignored_auth)
            "auth": {"openapi": {"bearer": {"bearer": token}}},
            "checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}},
        }
    )


@pytest.fixture
def api_app(tmp_path: Path, signer: Signer, clock: FrozenClock) -> Iterator[Starlette]:
    server = JwksServer(signers=[signer])
    settings_ = Settings(public_url=AUDIENCE, issuer=ISSUER, jwks_url=JWKS_URL, var_dir=tmp_path)
    yield create_app(
        settings_,
        clock=clock,
        jwks_transport=httpx.MockTransport(server.handler),
        revocation_source=QuietFeed(),
    )
    # schemathesis runs the app's lifespan itself and keeps it (and the database) open until told
    schemathesis_asgi.shutdown_lifespans()


@pytest.fixture
def api_schema(api_app: Starlette, token: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", api_app, config=config(token))


def new_note(app: Starlette, token: str) -> str:
    # schemathesis types ASGI messages as dict, Starlette as MutableMapping: the same at run time
    with schemathesis_asgi.get_client(app) as client:  # type: ignore[arg-type]
        response = client.post(
            "/notes", json={"title": "t", "body": ""}, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 201
    return str(response.json()["id"])


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    # one app for every generated case, on purpose (the notes accumulate)
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_conforms_to_the_openapi_document_it_serves(
    case: schemathesis.Case[Any], api_app: Starlette, token: str
) -> None:
    note_id = (case.path_parameters or {}).get("id")
    if isinstance(note_id, str) and NOTE_ID.fullmatch(note_id):
        # a generated well-formed id never names a note (that 404 is tested in test_notes.py):
        # aim at a real one, so the 200 and 204 answers and their schemas are checked too
        case.path_parameters["id"] = new_note(api_app, token)
    case.call_and_validate()
