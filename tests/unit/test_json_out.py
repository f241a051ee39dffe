"""orjson writes the API's JSON: the same documents Flask's own provider wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, cast
from uuid import UUID

from flask import Flask, Response
from flask.json.provider import DefaultJSONProvider

from scheduler.web.json_out import OrjsonProvider


class Colour(StrEnum):
    RED = "red"


@dataclass
class Point:
    x: int
    at: date


SAMPLES = [
    {"b": 1, "a": [1.5, None, True, "é ✓ \u2028"], "c": {"z": 0, "y": {}}},
    {2: "int keys", 1: [{"k": Colour.RED}]},
    {"when": datetime(2027, 3, 1, 9, 30, tzinfo=UTC), "day": date(2027, 3, 1)},
    {"money": Decimal("12.50"), "id": UUID(int=7), "point": Point(1, date(2027, 1, 2))},
    [],
    "just a string",
    {"echoed": "Ada\ud800", "big": 2**70},  # orjson refuses both: written Flask's way
]


def _body(provider: Any, obj: Any) -> str:
    return cast(Response, provider.response(obj)).get_data(as_text=True)


def _both() -> tuple[Flask, DefaultJSONProvider]:
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    return app, DefaultJSONProvider(app)


def test_answers_parse_to_what_flask_wrote() -> None:
    app, flask_own = _both()
    with app.app_context():
        for sample in SAMPLES:
            ours = _body(app.json, sample)
            theirs = _body(flask_own, sample)
            assert json.loads(ours) == json.loads(theirs), sample
            assert ours.endswith("\n")


def test_keys_stay_sorted_and_compact() -> None:
    app, _ = _both()
    with app.app_context():
        assert _body(app.json, {"b": 1, "a": {"d": 2, "c": 3}}) == '{"a":{"c":3,"d":2},"b":1}\n'


def test_other_dump_options_go_the_standard_way() -> None:
    app, _ = _both()
    assert app.json.dumps({"a": 1}, indent=2) == '{\n  "a": 1\n}'
