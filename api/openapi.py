"""The API's OpenAPI 3.1 document, served at GET /openapi.json.

Its schemas, and the rules of its parameters, are generated from the types of api.schemas that the
requests are validated against; this module adds only what a type cannot say: the paths, the scope
each one needs and the errors each one can answer. Tests check that it is valid OpenAPI 3.1 and
names every route; schemathesis checks the app against it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import schemas
from api.schemas import AdminStats, Error, Health, Me, NewNote, Note, NoteList, NotePatch
from api.validation import MAX_BODY_BYTES

Json = dict[str, Any]
REF = "#/components/schemas/{model}"
BODIES = (NewNote, NotePatch, Note, NoteList, Me, AdminStats, Error, Health)

# status -> (component name, description); the body is always the Error schema
ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The client went away before the request body was complete."),
    401: ("Unauthorized", "No token, or an invalid or expired one (RFC 6750 invalid_token)."),
    403: ("Forbidden", "The token lacks the scope this call needs (insufficient_scope)."),
    404: ("NotFound", "No such note for this caller: unknown ids and other users' notes alike."),
    413: ("TooLarge", f"The request body is larger than {MAX_BODY_BYTES} bytes."),
    415: ("UnsupportedMediaType", "The request body is not application/json (UTF-8)."),
    422: (
        "Invalid",
        "The body is not a JSON object, is not valid JSON, has unknown, missing or invalid fields"
        " (named in `fields`), or a query parameter is unknown or out of range.",
    ),
    503: ("Unavailable", "The notes store or the token keys are temporarily unavailable."),
}
BODY_ERRORS = (400, 413, 415, 422)
CHALLENGE = {
    "description": 'RFC 6750 challenge, e.g. Bearer error="invalid_token"',
    "required": True,
    "schema": {"type": "string"},
}
# the new note: where it is, and that its id is the one the /notes/{id} operations take
CREATED = {
    "headers": {
        "Location": {
            "description": "/notes/{id} of the new note",
            "required": True,
            "schema": {"type": "string"},
        },
    },
    "links": {
        f"{op[0].upper()}{op[1:]}": {"operationId": op, "parameters": {"id": "$response.body#/id"}}
        for op in ("getNote", "updateNote", "deleteNote")
    },
}
NOTE_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "An opaque note id; anything else answers 404.",
}


def _ref(name: str) -> Json:
    return {"$ref": REF.format(model=name)}


# operationId: path, method, summary, scope (None: public; "": any valid token)
ROUTES: dict[str, tuple[str, str, str, str | None]] = {
    "getMe": ("/me", "get", "The caller, as the token says", ""),
    "listNotes": ("/notes", "get", "The caller's notes, newest first", "notes:read"),
    "createNote": ("/notes", "post", "Create a note", "notes:write"),
    "getNote": ("/notes/{id}", "get", "One of the caller's notes", "notes:read"),
    "updateNote": ("/notes/{id}", "patch", "Change a note's title and/or body", "notes:write"),
    "deleteNote": ("/notes/{id}", "delete", "Delete a note", "notes:write"),
    "getStats": ("/admin/stats", "get", "Counts across every user", "admin"),
    "getHealth": ("/healthz", "get", "Liveness", None),
    "getOpenApi": ("/openapi.json", "get", "This document", None),
}
# operationId: the success status, its description, its body's schema (None: no body)
ANSWERS: dict[str, tuple[int, str, Json | None]] = {
    "getMe": (200, "The token's subject and grants", _ref("Me")),
    "listNotes": (200, "A page of notes", _ref("NoteList")),
    "createNote": (201, "The new note", _ref("Note")),
    "getNote": (200, "The note", _ref("Note")),
    "updateNote": (200, "The changed note", _ref("Note")),
    "deleteNote": (204, "Deleted", None),
    "getStats": (200, "The counts", _ref("AdminStats")),
    "getHealth": (200, "Alive", _ref("Health")),
    "getOpenApi": (200, "The OpenAPI 3.1 document", {"type": "object"}),
}
# operationId: what it takes besides a path, in the body or in the query
REQUESTS = {
    "createNote": ("NewNote", f"At most {MAX_BODY_BYTES} bytes; no other fields."),
    "updateNote": ("NotePatch", "At least one field; the others are kept."),
}
QUERIES = {"listNotes": schemas.NoteListQuery}


class _Schemas(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: object) -> bool:
        return False  # a property's name is its title


def _components() -> Json:
    inputs = [(body, "validation", TypeAdapter(body)) for body in BODIES]
    _, definitions = TypeAdapter.json_schemas(
        inputs,  # type: ignore[arg-type]  # mypy cannot join TypeAdapters of distinct TypedDicts
        ref_template=REF,
        union_format="primitive_type_array",
        schema_generator=_Schemas,
    )
    return dict(definitions["$defs"])


def _parameters(model: type[BaseModel]) -> list[Json]:
    properties = model.model_json_schema(schema_generator=_Schemas)["properties"]
    return [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in properties.items()
    ]


def _content(schema: Json) -> Json:
    return {"application/json": {"schema": schema}}


def _errors(operation_id: str) -> list[int]:
    """What an operation can answer besides success, from what it takes."""
    path, _, _, scope = ROUTES[operation_id]
    errors = {401, 503} if scope is not None else set()  # a token: the keys, the revocations
    errors |= {403} if scope else set()
    errors |= {404} if "{id}" in path else set()
    errors |= set(BODY_ERRORS) if operation_id in REQUESTS else set()
    errors |= {422} if operation_id in QUERIES else set()
    return sorted(errors)


def _operation(operation_id: str) -> Json:
    _, _, summary, scope = ROUTES[operation_id]
    operation: Json = {"operationId": operation_id, "summary": summary}
    if scope is None:
        operation["security"] = []  # public
    else:
        operation["description"] = f"Needs the `{scope}` scope." if scope else "Any valid token."
    if operation_id in QUERIES:
        operation["parameters"] = _parameters(QUERIES[operation_id])
    if operation_id in REQUESTS:
        name, description = REQUESTS[operation_id]
        content = _content(_ref(name))
        operation["requestBody"] = {
            "required": True,
            "description": description,
            "content": content,
        }
    status, description, schema = ANSWERS[operation_id]
    ok: Json = {"description": description, **(CREATED if status == 201 else {})}
    if schema is not None:
        ok["content"] = _content(schema)
    responses = {str(status): ok}
    for error in _errors(operation_id):
        responses[str(error)] = {"$ref": f"#/components/responses/{ERRORS[error][0]}"}
    return {**operation, "responses": responses}


def _paths() -> Json:
    note_id = TypeAdapter(schemas.NoteId).json_schema(schema_generator=_Schemas)
    paths: Json = {"/notes/{id}": {"parameters": [{**NOTE_ID, "schema": note_id}]}}
    for operation_id, (path, method, _, _) in ROUTES.items():
        paths.setdefault(path, {})[method] = _operation(operation_id)
    return paths


def _error_response(status: int, description: str) -> Json:
    response: Json = {"description": description, "content": _content(_ref("Error"))}
    if status in (401, 403):
        response["headers"] = {"WWW-Authenticate": CHALLENGE}
    return response


def document(*, server_url: str) -> Json:
    """The OpenAPI document, with the API's public URL as its server."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Notes API",
            "version": "1.0.0",
            "description": (
                "The downstream resource API of the hybrid BFF. Bearer JWT access tokens"
                " (typ at+jwt) from the BFF. Errors are JSON"
                " {error, error_description[, fields]}; 401 and 403 carry an RFC 6750"
                " WWW-Authenticate challenge."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
            "schemas": _components(),
            "responses": {
                name: _error_response(status, description)
                for status, (name, description) in ERRORS.items()
            },
        },
    }


class OpenApiEndpoint:
    def __init__(self, *, server_url: str) -> None:
        self._document = document(server_url=server_url)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(self._document)
