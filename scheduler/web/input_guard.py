"""The request-level half of the shared input rules (scheduler/inputs.py), for every route.

- `<int:...>` in any URL is a row id from 1 to 2^31-1: an id the database could not hold answers
  404 like any id that names nothing, on SQLite and PostgreSQL alike, instead of overflowing a
  query.
- Query strings and form fields are text: a control character (NUL, escape...) in any of them is
  refused with 422 naming the field before a view runs. Forms may carry line breaks here (a
  textarea); single-line form fields refuse them in forms.py, JSON bodies in api/schemas.py.

Twilio's webhooks are left to their own checks: they answer 400 as Twilio expects, and a
client's text is kept even when it holds odd characters.
"""

from __future__ import annotations

from flask import Flask, Response, abort, request
from werkzeug.routing import IntegerConverter, Map

from ..formats import field_errors
from ..inputs import id_problem, text_problem
from .errors import json_error, wants_json


class IdConverter(IntegerConverter):
    """`<int:...>`: any run of digits matches; `refuse_bad_text` then answers 404 for a number
    outside 1..2^31-1. (Refusing in the converter would let Werkzeug answer 405 where another
    method's rule has the same path, since it checks methods before converters.)"""

    def __init__(self, url_map: Map, *args: object, **kwargs: object) -> None:
        super().__init__(url_map)


def register(app: Flask) -> None:
    """Install the id converter (before any blueprint adds its rules) and the text check."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_bad_text)


def problems() -> dict[str, str]:
    """Each query or form field of this request that breaks the text rules, by name."""
    found: dict[str, str] = {}
    sources = [(request.args, False)]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append((request.form, True))
    for fields, multiline in sources:
        for name, value in fields.items(multi=True):
            if text_problem(name):
                found.setdefault("field name", "must not contain control characters")
            elif problem := text_problem(value, multiline=multiline):
                found.setdefault(name, problem)
    return found


def refuse_bad_text() -> Response | tuple[str, int, dict[str, str]] | None:
    if request.path.startswith("/webhooks/"):
        return None
    # An id no database row can have, or a path segment (a feed token, an office id) with
    # control characters, names nothing.
    for value in (request.view_args or {}).values():
        bad_id = isinstance(value, int) and id_problem(value)
        if bad_id or (isinstance(value, str) and text_problem(value)):
            abort(404)
    found = problems()
    if not found:
        return None
    if wants_json():
        return json_error(422, "validation", fields=found, messages=field_errors(found))
    lines = "; ".join(field_errors(found).values())
    return f"Not accepted: {lines}", 422, {"Content-Type": "text/plain; charset=utf-8"}
