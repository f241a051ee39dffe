"""The OpenAPI description, generated from the pydantic models that validate request bodies.

Every route of the blueprint must appear in OPERATIONS; a test compares this table with Flask's
URL map, so the document cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ...inputs import ID_MAX
from .base import blueprint
from .schemas import ClientIn, ClientMergeIn, SeriesIn, SeriesPatch, SessionPatch, TherapistIn

# (method, path, summary, request model or None, success status)
Operation = tuple[str, str, str, type[BaseModel] | None, int]
OPERATIONS: list[Operation] = [
    ("get", "/locations", "The offices, with their warnings", None, 200),
    ("get", "/locations/{location_id}", "One office", None, 200),
    ("post", "/therapists", "Create a therapist", TherapistIn, 201),
    ("get", "/therapists/{therapist_id}", "One therapist", None, 200),
    (
        "post",
        "/clients",
        'Create a client; a phone already on file answers 409 {"error": "duplicate", '
        '"existing": [{"id", "initials", "home_location_id"}]} (only records you may see) '
        'unless "confirm_duplicate": true',
        ClientIn,
        201,
    ),
    (
        "post",
        "/clients/{client_id}/merge",
        "Admins: merge client from_client_id into this one (series, texts, consents, inbound "
        "texts, inbox items, ratings move; its feed URLs are revoked; it then answers 404); "
        "audited",
        ClientMergeIn,
        200,
    ),
    ("get", "/clients/{client_id}", "One client with consent history", None, 200),
    (
        "get",
        "/clients/{client_id}/audit",
        "Who viewed this client's records, newest first (admins only)",
        None,
        200,
    ),
    ("post", "/series", "Book an N-session weekly series", SeriesIn, 201),
    ("get", "/series/{series_id}", "One series with its sessions", None, 200),
    ("patch", "/series/{series_id}", "Renegotiate N or cancel the rest", SeriesPatch, 200),
    ("get", "/sessions", "Sessions at an office between local dates", None, 200),
    ("get", "/sessions/{session_id}", "One session", None, 200),
    (
        "patch",
        "/sessions/{session_id}",
        "One change: move (starts_at_local, room, therapist_id), cancel (a client's "
        "cancellation inside the office's late window is a late cancel), attendance "
        "(attended, no_show, late_cancelled once started; scheduled undoes a mark made "
        "today), or the weekly goal",
        SessionPatch,
        200,
    ),
]
# Feature modules append their operations here when they register routes.
EXTRA_MODELS: list[type[BaseModel]] = []

_QUERY = {
    "/clients/{client_id}/audit": [
        ("limit", False, "integer", "How many entries, 1-1000 (default 200)"),
    ],
    "/sessions": [
        ("location_id", True, "string", "Office id"),
        ("from", False, "string", "First local date (YYYY-MM-DD), default today"),
        ("to", False, "string", "Last local date (YYYY-MM-DD), default from"),
    ],
}

# Every refusal is a JSON object with `error` (a short code) and usually `message`; the statuses
# below add their own keys. The schema is open (additionalProperties) so a new key is no break.
_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        "messages": {"type": "object", "additionalProperties": {"type": "string"}},
        "conflicts": {"type": "array", "items": {"type": "object"}},
        "summary": {"type": "array", "items": {"type": "object"}},
        "existing": {"type": "array", "items": {"type": "object"}},
        "not_shown": {"type": "integer"},
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_ERRORS = {
    "401": _error("Missing or invalid bearer token"),
    "403": _error("The token's user may not do this to a resource it can see"),
    "404": _error(
        "No such resource, or not one the token's user can see (ids outside 1-2147483647 too)"
    ),
    "409": _error(
        'Conflict: {"error": "conflict", "conflicts": [...], "summary": [...]}: '
        "each conflict names what blocks it in blocked_by (another session with its client's "
        "initials, therapist and time; a room; the office's hours; a holiday or closure by "
        "name), reason is therapist_busy, room_busy or client_busy for another session; "
        "summary says each obstacle once with the sessions it blocks. POST /clients "
        'answers 409 {"error": "duplicate", "existing": [...]} for a phone already on file'
    ),
    "413": _error("Body too large"),
    "422": _error(
        'Validation: {"error": "validation", "fields": {...}, "messages": {...}}'
        " (messages: each problem as a sentence naming its field). Text refuses control "
        "characters (line breaks only in multi-line fields), dates must be in 2000-2100, "
        "times carry no offset, numbers fit a 32-bit integer"
    ),
}


def build_spec() -> dict[str, Any]:
    models = {op[3] for op in OPERATIONS if op[3] is not None} | set(EXTRA_MODELS)
    _, schema = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, model, status in OPERATIONS:
        op: dict[str, Any] = {
            "summary": summary,
            "responses": {str(status): {"description": "OK"}, **_ERRORS},
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": _path_schema(name)}
            for name in _path_params(path)
        ] + [
            {"name": n, "in": "query", "required": r, "schema": {"type": t}, "description": d}
            for n, r, t, d in _QUERY.get(path, [])
            if method == "get"
        ]
        if params:
            op["parameters"] = params
        if model is not None:
            op["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}
                    }
                },
            }
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "IPT Scheduler API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": {**schema.get("$defs", {}), "Error": _ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _path_schema(name: str) -> dict[str, Any]:
    if name in ("location_id", "token"):
        return {"type": "string"}
    # Ids are 32-bit database integers; any other number in the path answers 404.
    return {"type": "integer", "minimum": 1, "maximum": ID_MAX}


@blueprint.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(build_spec())
