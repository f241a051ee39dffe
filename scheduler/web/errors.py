"""Turning refusals into responses: JSON under /api, plain pages elsewhere."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Flask, Response, g, jsonify, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from ..formats import field_errors
from ..services import access
from ..services.client_records import Duplicate
from ..services.conflicts import redact, summarise
from ..services.errors import Conflict, Forbidden, Invalid, NotFound
from .context import db

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/webhooks/", "/feeds/")) or request.is_json


def json_error(status: int, error: str, **extra: Any) -> Response:
    response = jsonify({"error": error, **extra})
    response.status_code = status
    return response


def register(app: Flask) -> None:
    @app.errorhandler(Invalid)
    def _invalid(exc: Invalid) -> Response:
        # `fields` keeps each problem as before; `messages` says it as a sentence naming the
        # field ("Session count must be between 8 and 20"), ready to show a person.
        return json_error(422, "validation", fields=exc.fields, messages=field_errors(exc.fields))

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound) -> Response:
        if exc.field:  # an id inside the body that points nowhere is a bad field, not a bad URL
            fields = {exc.field: f"{exc.what} not found"}
            return json_error(422, "validation", fields=fields, messages=field_errors(fields))
        return json_error(404, "not_found", message=str(exc))

    @app.errorhandler(Conflict)
    def _conflict(exc: Conflict) -> Response:
        # Whoever is signed in (API token or browser) sees other offices' clients only if they
        # reach them; `summary` says each obstacle once (16 weeks outside hours are one line).
        reader = g.get("user")
        conflicts = exc.conflicts
        if reader is not None:
            conflicts = redact(conflicts, access.reach(reader).office)
        return json_error(
            409, "conflict", message=str(exc), conflicts=conflicts, summary=summarise(conflicts)
        )

    @app.errorhandler(Duplicate)
    def _duplicate(exc: Duplicate) -> Response:
        # Only records the reader may see are named (id and initials, nothing more); others
        # are counted so the desk knows to ask an admin rather than make another record.
        reader = g.get("user")
        shown = [c for c in exc.existing if reader and access.can_read(db(), reader, c)]
        hidden = len(exc.existing) - len(shown)
        message = "a client with this phone is already on file; use that record, or send "
        message += "confirm_duplicate: true if this is another person (families share phones)"
        if hidden:
            message += f"; {hidden} more at offices you do not serve (ask an admin)"
        return json_error(
            409,
            "duplicate",
            message=message,
            existing=[
                {"id": c.id, "initials": c.initials, "home_location_id": c.home_office_id}
                for c in shown
            ],
            not_shown=hidden,
        )

    @app.errorhandler(Forbidden)
    def _forbidden(exc: Forbidden) -> Response:
        return json_error(403, "forbidden", message=str(exc) or "not allowed")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response | HTTPException:
        if not wants_json():
            return exc
        names = {
            413: "too_large",
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthorized",
            403: "forbidden",
            400: "bad_request",
        }
        message = exc.description or exc.name
        if exc.code == 413:
            message = "the request body is too large"
        response = json_error(exc.code or 500, names.get(exc.code or 500, "error"), message=message)
        if exc.code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="ipt-scheduler"'
        # A 405 says which methods the URL does take (RFC 9110), as Werkzeug's own page does.
        allowed = getattr(exc, "valid_methods", None)
        if exc.code == 405 and allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response | tuple[str, int]:
        # The path, never the query string or body; the traceback's frames, never the
        # exception's own words, which for a database error may quote the values (a name).
        log.error(
            "unhandled error on %s %s: %s\n%s",
            request.method,
            request.path,
            exception_summary(exc),
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        if wants_json():
            return json_error(500, "internal", message="internal error; it has been logged")
        return "Internal error; it has been logged.", 500


def exception_summary(exc: BaseException) -> str:
    """What went wrong, without any data: the exception's type and, for a database error, the
    driver's error class and SQLSTATE (the statement's values are never part of it)."""
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
        return f"{type(exc).__name__} ({type(orig).__name__}, {code or 'no code'})"
    return type(exc).__name__
