from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator
from starlette.routing import Route

from api.app import create_app
from api.schemas import BODY_PATTERN, TITLE_PATTERN
from api.settings import Settings
from tests.api.conftest import AUDIENCE, ApiHarness

pytestmark = pytest.mark.anyio

METHODS = ("get", "post", "patch", "put", "delete")


async def served(harness: ApiHarness) -> dict[str, Any]:
    response = await harness.client.get("/openapi.json")  # no token: the document is public
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return dict(response.json())


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


async def test_openapi_document_is_valid_openapi_3_1(harness: ApiHarness) -> None:
    document = await served(harness)
    assert document["openapi"].startswith("3.1.")
    errors = list(OpenAPIV31SpecValidator(document).iter_errors())
    assert errors == []


async def test_openapi_describes_exactly_the_apps_routes_and_methods(
    harness: ApiHarness, tmp_path: Path
) -> None:
    app = create_app(Settings(public_url=AUDIENCE, var_dir=tmp_path))
    routes = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {(path, method) for path, method, _ in operations(await served(harness))}
    assert documented == routes
    assert {path for path, _ in routes} >= {
        "/me",
        "/notes",
        "/notes/{id}",
        "/admin/stats",
        "/healthz",
        "/openapi.json",
    }


async def test_openapi_declares_bearer_security_except_on_public_routes(
    harness: ApiHarness,
) -> None:
    document = await served(harness)
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert document["security"] == [{"bearer": []}]
    public = {path for path, _, op in operations(document) if op.get("security") == []}
    assert public == {"/healthz", "/openapi.json"}


async def test_openapi_documents_the_error_responses_of_each_operation(
    harness: ApiHarness,
) -> None:
    document = await served(harness)
    for path, method, operation in operations(document):
        statuses = set(operation["responses"])
        if operation.get("security") != []:
            assert "401" in statuses, (path, method)
        if path != "/me" and operation.get("security") != []:
            assert "403" in statuses, (path, method)
        if "requestBody" in operation:
            assert {"413", "415", "422"} <= statuses, (path, method)
        if "{id}" in path:
            assert "404" in statuses, (path, method)
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    challenge = document["components"]["responses"]["Unauthorized"]["headers"]
    assert "WWW-Authenticate" in challenge


async def test_openapi_request_schemas_match_the_field_limits(harness: ApiHarness) -> None:
    schemas = (await served(harness))["components"]["schemas"]
    new_note = schemas["NewNote"]
    assert new_note["additionalProperties"] is False
    assert new_note["required"] == ["title"]
    assert new_note["properties"]["title"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
        "pattern": TITLE_PATTERN,
    }
    assert new_note["properties"]["body"] == {
        "type": "string",
        "minLength": 0,
        "maxLength": 10000,
        "pattern": BODY_PATTERN,
    }
    assert schemas["NotePatch"]["minProperties"] == 1
    assert schemas["NotePatch"]["properties"] == new_note["properties"]


@pytest.mark.parametrize(
    ("pattern", "refused", "accepted"),
    [
        (TITLE_PATTERN, ["a\x00", "a\x1f", "a\n", "a\t", "a\x7f", "a\x85", "a\x9f"], ["a é 中"]),
        (BODY_PATTERN, ["a\x00", "a\x01", "a\x0b", "a\x1b", "a\x1f"], ["a\tb\r\nc\x7f"]),
    ],
)
def test_the_documented_patterns_say_which_control_characters_are_refused(
    pattern: str, refused: list[str], accepted: list[str]
) -> None:
    # fullmatch: JSON Schema's `$` (ECMA-262) is the end of the text, never before a final newline
    compiled = re.compile(pattern.removeprefix("^").removesuffix("$"))
    assert [text for text in refused if compiled.fullmatch(text)] == []
    assert all(compiled.fullmatch(text) for text in accepted)
