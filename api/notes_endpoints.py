"""The notes routes and /admin/stats.

Order of checks in every handler: token (401), scope (403), note id shape (404), body (415, 413,
422), then the store. A note of another user answers exactly like an unknown id: 404, never 403.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.authentication import TokenVerifier
from api.errors import NotFound
from api.notes import Note, NoteStore
from api.validation import Text, fields, json_object, only_params, query_int

NOTE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
NOTE_FIELDS = {
    "title": Text(min_length=1, max_length=200),
    "body": Text(min_length=0, max_length=10_000),
}
DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET = 50, 100, 1_000_000_000
LIST_PARAMS = frozenset({"limit", "offset"})
NO_STORE = {"Cache-Control": "no-store"}


class NotesEndpoints:
    def __init__(self, *, verifier: TokenVerifier, notes: NoteStore) -> None:
        self._verifier = verifier
        self._notes = notes

    async def collection(self, request: Request) -> Response:
        # one route per path, so a 405 lists every allowed method in its Allow header
        return await (self.create if request.method == "POST" else self.list)(request)

    async def item(self, request: Request) -> Response:
        handlers = {"PATCH": self.update, "DELETE": self.delete}
        return await handlers.get(request.method, self.read)(request)

    async def list(self, request: Request) -> Response:
        owner = await self._caller(request, "notes:read")
        only_params(request, LIST_PARAMS)
        limit = query_int(request, "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
        offset = query_int(request, "offset", default=0, low=0, high=MAX_OFFSET)
        notes = self._notes.recent(owner, limit=limit, offset=offset)
        return _json({"notes": [note.public() for note in notes]})

    async def create(self, request: Request) -> Response:
        owner = await self._caller(request, "notes:write")
        body = await json_object(request)
        body.setdefault("body", "")  # a note may be just a title
        values = fields(body, NOTE_FIELDS)
        note = self._notes.add(owner, title=values["title"], body=values["body"])
        return _json(note.public(), status=201, location=f"/notes/{note.id}")

    async def read(self, request: Request) -> Response:
        owner = await self._caller(request, "notes:read")
        return _json(_found(self._notes.get(owner, _note_id(request))).public())

    async def update(self, request: Request) -> Response:
        owner = await self._caller(request, "notes:write")
        note_id = _note_id(request)
        values = fields(await json_object(request), NOTE_FIELDS, partial=True)
        note = self._notes.update(
            owner, note_id, title=values.get("title"), body=values.get("body")
        )
        return _json(_found(note).public())

    async def delete(self, request: Request) -> Response:
        owner = await self._caller(request, "notes:write")
        if not self._notes.delete(owner, _note_id(request)):
            raise NotFound("no such note")
        return Response(status_code=204, headers=NO_STORE)

    async def _caller(self, request: Request, scope: str) -> str:
        principal = await self._verifier.authenticate(request)
        principal.require(scope)
        return principal.sub


class AdminEndpoints:
    def __init__(self, *, verifier: TokenVerifier, notes: NoteStore) -> None:
        self._verifier = verifier
        self._notes = notes

    async def stats(self, request: Request) -> Response:
        principal = await self._verifier.authenticate(request)
        principal.require("admin")
        stats = self._notes.stats()
        return _json({"users": stats.users, "notes": stats.notes})


def _note_id(request: Request) -> str:
    note_id = str(request.path_params["id"])
    # a malformed id cannot name a note: the same 404 as an unknown one
    if not NOTE_ID.fullmatch(note_id):
        raise NotFound("no such note")
    return note_id


def _found(note: Note | None) -> Note:
    if note is None:
        raise NotFound("no such note")
    return note


def _json(data: dict[str, Any], *, status: int = 200, location: str | None = None) -> Response:
    headers = dict(NO_STORE, **({"Location": location} if location else {}))
    return JSONResponse(data, status_code=status, headers=headers)


def routes(verifier: TokenVerifier, notes: NoteStore) -> list[Route]:
    note = NotesEndpoints(verifier=verifier, notes=notes)
    admin = AdminEndpoints(verifier=verifier, notes=notes)
    return [
        Route("/notes", note.collection, methods=["GET", "POST"]),
        Route("/notes/{id}", note.item, methods=["GET", "PATCH", "DELETE"]),
        Route("/admin/stats", admin.stats, methods=["GET"]),
    ]
