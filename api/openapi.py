"""The API's OpenAPI 3.1 document, as data, served at GET /openapi.json.

Written by hand next to the code it describes; tests check it is a valid OpenAPI 3.1 document,
that it names every route, and schemathesis checks the app against it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.notes_endpoints import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, NOTE_FIELDS, NOTE_ID
from api.validation import MAX_BODY_BYTES

Json = dict[str, Any]
NOTE_ID_PATTERN = f"^{NOTE_ID.pattern}$"  # the same rule the endpoints apply


def _ref(kind: str, name: str) -> Json:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json_content(schema: Json) -> Json:
    return {"application/json": {"schema": schema}}


def _ok(description: str, schema: Json, **extra: Any) -> Json:
    return {"description": description, "content": _json_content(schema), **extra}


def _errors(*statuses: int) -> Json:
    return {str(status): _ref("responses", _ERROR_RESPONSES[status][0]) for status in statuses}


def _text(name: str) -> Json:
    rule = NOTE_FIELDS[name]
    return {"type": "string", "minLength": rule.min_length, "maxLength": rule.max_length}


# status -> (component name, description); the body is always the Error schema
_ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    401: ("Unauthorized", "No token, or an invalid or expired one (RFC 6750 invalid_token)."),
    403: ("Forbidden", "The token lacks the scope this call needs (insufficient_scope)."),
    404: ("NotFound", "No such note for this caller: unknown ids and other users' notes alike."),
    413: ("TooLarge", f"The request body is larger than {MAX_BODY_BYTES} bytes."),
    415: ("UnsupportedMediaType", "The request body is not application/json (UTF-8)."),
    422: (
        "Invalid",
        (
            "The body is not a JSON object, is not valid JSON, has unknown, missing or invalid"
            " fields (named in `fields`), or a query parameter is unknown or out of range."
        ),
    ),
    503: ("Unavailable", "The notes store or the token keys are temporarily unavailable."),
}

_CHALLENGE = {
    "description": 'RFC 6750 challenge, e.g. Bearer error="invalid_token"',
    "schema": {"type": "string"},
}


def _error_response(status: int, description: str) -> Json:
    response = _ok(description, _ref("schemas", "Error"))
    if status in (401, 403):
        response["headers"] = {"WWW-Authenticate": {**_CHALLENGE, "required": True}}
    return response


_SCHEMAS: Json = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {"type": "string", "description": "A machine-readable code."},
            "error_description": {"type": "string"},
            "fields": {
                "type": "object",
                "description": "Each offending field or query parameter, with what it must be.",
                "additionalProperties": {"type": "string"},
            },
        },
    },
    "Note": {
        "type": "object",
        "required": ["id", "title", "body", "created_at", "updated_at"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": NOTE_ID_PATTERN},
            "title": _text("title"),
            "body": _text("body"),
            "created_at": {"type": "integer", "description": "Seconds since the epoch."},
            "updated_at": {"type": "integer", "description": "Seconds since the epoch."},
        },
    },
    "NoteList": {
        "type": "object",
        "required": ["notes"],
        "additionalProperties": False,
        "properties": {"notes": {"type": "array", "items": _ref("schemas", "Note")}},
    },
    "NewNote": {
        "type": "object",
        "required": ["title"],
        "additionalProperties": False,
        "properties": {"title": _text("title"), "body": _text("body")},
    },
    "NotePatch": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {"title": _text("title"), "body": _text("body")},
    },
    "Me": {
        "type": "object",
        "required": ["sub", "role", "scope", "client_id"],
        "additionalProperties": False,
        "properties": {
            "sub": {"type": "string"},
            "role": {"type": ["string", "null"]},
            "scope": {"type": "string", "description": "Space-separated scopes."},
            "client_id": {"type": "string"},
        },
    },
    "Stats": {
        "type": "object",
        "required": ["users", "notes"],
        "additionalProperties": False,
        "properties": {
            "users": {"type": "integer", "minimum": 0, "description": "Distinct note owners."},
            "notes": {"type": "integer", "minimum": 0},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string", "const": "ok"}},
    },
}

_PARAMETERS: Json = {
    "NoteId": {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "An opaque note id; anything else answers 404.",
        "schema": {"type": "string", "pattern": NOTE_ID_PATTERN},
    },
    "Limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
    "Offset": {
        "name": "offset",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
    },
}

_BODY_ERRORS = (413, 415, 422)
_AUTH_ERRORS = (401, 503)


def _body(name: str, description: str) -> Json:
    return {
        "required": True,
        "description": description,
        "content": _json_content(_ref("schemas", name)),
    }


def _operation(summary: str, scope: str | None, responses: Json, **extra: Any) -> Json:
    # scope None: a public route; "": any valid token; else the scope the route needs
    operation: Json = {"summary": summary, **extra, "responses": responses}
    if scope is None:
        operation["security"] = []  # public
    else:
        operation["description"] = f"Needs the `{scope}` scope." if scope else "Any valid token."
    return operation


_NOTE_LOCATION = {
    "Location": {
        "description": "/notes/{id} of the new note",
        "required": True,
        "schema": {"type": "string"},
    },
}

# the new note's id is the one the /notes/{id} operations take (OpenAPI links)
_NOTE_LINKS = {
    name: {"operationId": operation_id, "parameters": {"id": "$response.body#/id"}}
    for name, operation_id in (
        ("GetNote", "getNote"),
        ("UpdateNote", "updateNote"),
        ("DeleteNote", "deleteNote"),
    )
}

_PATHS: Json = {
    "/me": {
        "get": _operation(
            "The caller, as the token says",
            "",
            {
                "200": _ok("The token's subject and grants", _ref("schemas", "Me")),
                **_errors(*_AUTH_ERRORS),
            },
            operationId="getMe",
        ),
    },
    "/notes": {
        "get": _operation(
            "The caller's notes, newest first",
            "notes:read",
            {
                "200": _ok("A page of notes", _ref("schemas", "NoteList")),
                **_errors(401, 403, 422, 503),
            },
            operationId="listNotes",
            parameters=[_ref("parameters", "Limit"), _ref("parameters", "Offset")],
        ),
        "post": _operation(
            "Create a note",
            "notes:write",
            {
                "201": _ok(
                    "The new note",
                    _ref("schemas", "Note"),
                    headers=_NOTE_LOCATION,
                    links=_NOTE_LINKS,
                ),
                **_errors(401, 403, *_BODY_ERRORS, 503),
            },
            operationId="createNote",
            requestBody=_body("NewNote", f"At most {MAX_BODY_BYTES} bytes; no other fields."),
        ),
    },
    "/notes/{id}": {
        "parameters": [_ref("parameters", "NoteId")],
        "get": _operation(
            "One of the caller's notes",
            "notes:read",
            {"200": _ok("The note", _ref("schemas", "Note")), **_errors(401, 403, 404, 503)},
            operationId="getNote",
        ),
        "patch": _operation(
            "Change a note's title and/or body",
            "notes:write",
            {
                "200": _ok("The changed note", _ref("schemas", "Note")),
                **_errors(401, 403, 404, *_BODY_ERRORS, 503),
            },
            operationId="updateNote",
            requestBody=_body("NotePatch", "At least one field; the others are kept."),
        ),
        "delete": _operation(
            "Delete a note",
            "notes:write",
            {"204": {"description": "Deleted"}, **_errors(401, 403, 404, 503)},
            operationId="deleteNote",
        ),
    },
    "/admin/stats": {
        "get": _operation(
            "Counts across every user",
            "admin",
            {"200": _ok("The counts", _ref("schemas", "Stats")), **_errors(401, 403, 503)},
            operationId="getStats",
        ),
    },
    "/healthz": {
        "get": _operation(
            "Liveness",
            None,
            {"200": _ok("Alive", _ref("schemas", "Health"))},
            operationId="getHealth",
        ),
    },
    "/openapi.json": {
        "get": _operation(
            "This document",
            None,
            {"200": _ok("The OpenAPI 3.1 document", {"type": "object"})},
            operationId="getOpenApi",
        ),
    },
}


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
        "paths": _PATHS,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
            "schemas": _SCHEMAS,
            "parameters": _PARAMETERS,
            "responses": {
                name: _error_response(status, description)
                for status, (name, description) in _ERROR_RESPONSES.items()
            },
        },
    }


class OpenApiEndpoint:
    def __init__(self, *, server_url: str) -> None:
        self._document = document(server_url=server_url)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(self._document)
