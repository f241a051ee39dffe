"""The shared input rules (scheduler/inputs.py) at every door: API bodies and query strings,
page forms, path ids. Each case below was a 500 on SQLite or PostgreSQL before the rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.db.models import Client, Series
from scheduler.inputs import text_problem
from scheduler.services.context import ServiceContext
from tests import factories
from tests.web.pages_support import csrf, sign_in, staff
from tests.web.test_api_series import people, series_body  # noqa: F401 (a fixture)
from tests.web.test_pages_booking import _booking

NEW_CLIENT = {
    "first_name": "Ada",
    "last_name": "Quill",
    "phone": "(206) 555-0143",
    "home_location_id": "seattle",
    "sms_consent": True,
}


def _count(db: Session, model: Any) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("first_name", "Ada\x00", "must not contain control characters"),  # PG: was a 500
        ("last_name", "Qu\x1bill", "must not contain control characters"),
        ("last_name", "Qu\nill", "must be a single line"),
    ],
)
def test_text_with_control_characters_is_422_naming_the_field(api, db, field, value, problem):
    before = _count(db, Client)
    response = api.post("/clients", NEW_CLIENT | {field: value})
    assert response.status_code == 422, response.json
    assert problem in response.json["fields"][field]
    assert _count(db, Client) == before


def test_a_lone_surrogate_no_database_can_store_is_422(api, db):
    before = _count(db, Client)
    response = api.post("/clients", NEW_CLIENT | {"first_name": "Ada\ud800"})
    assert response.status_code == 422  # the JSON parser refuses it as the body
    assert _count(db, Client) == before
    assert "lone surrogates" in (text_problem("Ada\ud800") or "")


def test_multi_line_fields_keep_their_line_breaks():
    assert text_problem("first line\nsecond\r\n\tthird", multiline=True) is None
    assert text_problem("first\x00", multiline=True) == "must not contain control characters"
    assert text_problem("one\ttab") == "must not contain control characters"


@pytest.mark.parametrize("raw", [str(2**31), str(2**63), "9" * 30, "0"])
@pytest.mark.parametrize(
    "path", ["/series/{}", "/sessions/{}", "/clients/{}", "/therapists/{}", "/inbox/{}"]
)
def test_ids_no_database_integer_holds_are_404_on_the_api(api, path, raw):
    response = api.get(path.format(raw))
    assert response.status_code == 404  # PG: 2^31 was a 500; SQLite: 2^63 was a 500
    assert response.json["error"] == "not_found"


@pytest.mark.parametrize("raw", [str(2**31), str(2**63)])
def test_ids_no_database_integer_holds_are_404_on_pages(client, db, raw):
    staff(db, "desk@test.invalid")
    sign_in(client, "desk@test.invalid")
    for path in (f"/clients/{raw}", f"/series/{raw}", f"/sessions/{raw}"):
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize("field", ["client_id", "therapist_id"])
def test_body_ids_past_the_integer_range_are_422(api, people, field):  # noqa: F811
    for value in (2**31, 2**63):
        response = api.post("/series", series_body(people, **{field: value}))
        assert response.status_code == 422 and field in response.json["fields"]


@pytest.mark.parametrize("start", ["09:00Z", "09:00+05:00", "09:00:00-07:00"])
def test_start_time_with_an_offset_is_422(api, db, people, start):  # noqa: F811
    response = api.post("/series", series_body(people, start_time=start))
    assert response.status_code == 422
    assert "without an offset" in response.json["fields"]["start_time"]
    assert _count(db, Series) == 0


@pytest.mark.parametrize("day", ["9999-12-01", "1999-12-31", "2101-01-01"])
def test_dates_outside_2000_2100_are_422(api, db, people, day):  # noqa: F811
    response = api.post("/series", series_body(people, first_session_date=day))
    assert response.status_code == 422
    assert "2000-2100" in response.json["fields"]["first_session_date"]
    assert _count(db, Series) == 0


def test_a_move_to_year_9999_or_with_an_offset_is_422(api, people):  # noqa: F811
    booked = api.post("/series", series_body(people)).json
    session_id = booked["sessions"][0]["id"]
    for when in ("9999-03-03T18:00", "2027-03-03T18:00Z"):
        response = api.patch(f"/sessions/{session_id}", {"starts_at_local": when})
        assert response.status_code == 422 and "starts_at_local" in response.json["fields"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("location_id=seattle&from=9999-01-01&to=9999-01-02", "from"),
        ("location_id=seattle%00", "location_id"),
        ("location_id=seattle&from=2027-01-01%1b", "from"),
    ],
)
def test_query_strings_follow_the_same_rules(api, query, field):
    response = api.get(f"/sessions?{query}")
    assert response.status_code == 422 and field in response.json["fields"]


def test_page_forms_refuse_control_characters_and_write_nothing(
    client: FlaskClient, db: Session, ctx: ServiceContext
) -> None:
    staff(db, "desk@test.invalid")
    sign_in(client, "desk@test.invalid")
    therapist = factories.therapist(db, ctx, "seattle")
    db.commit()
    token = csrf(client, "/book")
    for over in ({"first_name": "Rob\x00in"}, {"last_name": "Ha\nle"}):
        response = client.post("/book", data=_booking(therapist.id, **over) | {"csrf_token": token})
        assert response.status_code == 422, over
    day = {"first_session_date": "9999-12-06"}
    response = client.post("/book", data=_booking(therapist.id, **day) | {"csrf_token": token})
    assert response.status_code == 422
    assert db.scalar(select(Client).where(Client.last_name.like("Ha%le"))) is None


def test_page_search_with_a_nul_is_refused_not_a_500(client: FlaskClient, db: Session) -> None:
    staff(db, "desk@test.invalid")
    sign_in(client, "desk@test.invalid")
    response = client.get("/clients?q=Ro%00bin")
    assert response.status_code == 422 and "Q must not contain control characters" in response.text


ODD_QUERIES = [
    "date=9999-12-31",
    "date=0001-01-01",
    "start=9999-12-31",
    "from=9999-01-01&to=9999-02-01",
    "new_date=9999-12-31&new_time=10:00",
    "client_id=99999999999999",
    "therapist=99999999999",
    "therapist_id=9999999999999",
]


def test_no_page_answers_500_to_out_of_range_query_values(app, client, db, ctx):
    staff(db, "adm@test.invalid", role="admin")
    booked = factories.series(db, ctx)
    db.commit()
    sign_in(client, "adm@test.invalid")
    ids = {
        "session_id": booked.sessions[0].id,
        "series_id": booked.id,
        "client_id": booked.client_id,
        "therapist_id": booked.therapist_id,
    }
    paths = []
    for rule in app.url_map.iter_rules():
        skip = rule.rule.startswith(("/api", "/static", "/feeds", "/webhooks", "/m/"))
        skip = skip or rule.rule in ("/readyz", "/metrics")  # 503 without a worker: by design
        if "GET" not in rule.methods or skip or not set(rule.arguments) <= set(ids):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", str(ids[name]))
        paths.append(path)
    assert "/therapists/{}".format(ids["therapist_id"]) in paths and "/book" in paths
    for query in ODD_QUERIES:
        for path in paths:
            assert client.get(f"{path}?office=seattle&{query}").status_code < 500, (path, query)


def _body_models() -> set[type]:
    from scheduler.web.api import openapi  # every route module has registered its operations

    return {op[3] for op in openapi.OPERATIONS if op[3] is not None} | set(openapi.EXTRA_MODELS)


def _text_fields(model: type) -> list[str]:
    schema = model.model_json_schema()
    names = []
    for name, prop in schema["properties"].items():
        kinds = [prop, *prop.get("anyOf", [])]
        free = [k for k in kinds if not {"format", "enum", "const"} & set(k)]
        if any(k.get("type") == "string" for k in free):
            names.append(name)
    return names


def test_every_text_field_of_every_api_body_refuses_nul_and_escape(app):
    from pydantic import ValidationError

    checked = 0
    for model in _body_models():
        for name in _text_fields(model):
            for bad in ("a\x00b", "a\x1bb"):
                with pytest.raises(ValidationError) as caught:
                    model.model_validate_json(json.dumps({name: bad}))
                problems = {e["loc"][0]: e for e in caught.value.errors() if e["loc"]}
                # Refused by the shared rule (an email's pattern may refuse it first).
                kind = problems[name]["type"]
                assert kind in ("input_rule", "string_pattern_mismatch"), (model.__name__, name)
                checked += 1
    assert checked >= 20  # names, emails, phones, rooms, reasons, notes, goals, replies...


def test_every_single_line_page_field_refuses_a_line_break(app):
    from werkzeug.datastructures import MultiDict
    from wtforms import HiddenField, StringField, TextAreaField

    from scheduler.web.frontdesk import forms

    app.config["WTF_CSRF_ENABLED"] = False
    checked = 0
    for form_class in vars(forms).values():
        if not (isinstance(form_class, type) and issubclass(form_class, forms.Form)):
            continue
        with app.test_request_context(method="POST"):
            for field in form_class():
                if not isinstance(field, StringField) or isinstance(field, HiddenField):
                    continue
                multiline = isinstance(field, TextAreaField)
                form = form_class(formdata=MultiDict({field.name: "one\ntwo"}))
                for other in form:  # choices are filled in by the views
                    if getattr(other, "choices", ()) is None:
                        other.choices = []
                form.validate()
                said = " ".join(str(e) for e in form[field.name].errors)
                assert ("must be a single line" in said) != multiline, (form_class, field.name)
                checked += 1
    assert checked >= 8
