"""The notes routes and /admin/stats.

Order of checks in every handler: token (401), scope (403), note id shape (404), body (415, 413,
422), then the store. A note of another user answers exactly like an unknown id: 404, never 403.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import schemas
from api.authentication import TokenVerifier
from api.errors import NotFound
from api.notes import Note, NoteStore
from api.schemas import NOTE_ID, NewNote, NoteListQuery, NotePatch
from api.validation import BodyValidator, json_body, query

NEW_NOTE, NOTE_PATCH = BodyValidator(NewNote), BodyValidator(NotePatch)
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
        page = query(request, NoteListQuery)
        notes = self._notes.recent(owner, limit=page.limit, offset=page.offset)
        page_of_notes: schemas.NoteList = {"notes": [note.public() for note in notes]}
        return _json(page_of_notes)

    async def create(self, request: Request) -> Response:
        owner = await self._caller(request, "notes:write")
        new = await json_body(request, NEW_NOTE)
        # a note may be just a title
        note = self._notes.add(owner, title=new["title"], body=new.get("body", ""))
        return _json(note.public(), status=201, location=f"/notes/{note.id}")

    async def read(self, request: Request) -> Response:
        owner = await self._caller(request, "notes:read")
        return _json(_found(self._notes.get(owner, _note_id(request))).public())

    async def update(self, request: Request) -> Response:
        owner = await self._caller(request, "notes:write")
        note_id = _note_id(request)
        patch = await json_body(request, NOTE_PATCH)
        note = self._notes.update(owner, note_id, title=patch.get("title"), body=patch.get("body"))
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
        counts: schemas.AdminStats = {"users": stats.users, "notes": stats.notes}
        return _json(counts)


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


def _json(
    data: Mapping[str, object], *, status: int = 200, location: str | None = None
) -> Response:
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
