"""The client's language: API, booking form and preview, client and series pages, feeds."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.db.models import Client, Series
from scheduler.services import feeds
from scheduler.services.context import ServiceContext
from tests import factories
from tests.integration.test_feeds import fetch, parse_feed
from tests.web.pages_support import csrf, sign_in, staff


def _body(**over: Any) -> dict[str, Any]:
    body = {
        "first_name": "Lucía",
        "last_name": "Ortega",
        "phone": "(305) 555-0144",
        "home_location_id": "miami",
        "sms_consent": True,
    }
    body.update(over)
    return body


def _count(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Client)) or 0


def test_the_api_takes_and_shows_the_language(api, db):
    spanish = api.post("/clients", _body(language="es"))
    assert spanish.status_code == 201, spanish.json
    assert spanish.json["language"] == "es"
    assert api.get(f"/clients/{spanish.json['id']}").json["language"] == "es"
    english = api.post("/clients", _body(phone="(305) 555-0145"))
    assert english.json["language"] == "en"  # the default


@pytest.mark.parametrize("value", ["fr", "ES", "", "spanish", 1, None])
def test_an_unknown_language_is_refused_naming_the_field(api, db, value):
    before = _count(db)
    r = api.post("/clients", _body(language=value))
    assert r.status_code == 422
    assert "language" in r.json["fields"], r.json
    if isinstance(value, str):
        assert r.json["messages"]["language"] == "Language must be 'en' or 'es'"
    assert _count(db) == before


def test_patch_changes_the_language_and_refuses_others(api, db):
    made = api.post("/clients", _body()).json
    changed = api.patch(f"/clients/{made['id']}", {"language": "es"})
    assert changed.status_code == 200 and changed.json["language"] == "es"
    refused = api.patch(f"/clients/{made['id']}", {"language": "pt"})
    assert refused.status_code == 422 and "language" in refused.json["fields"]
    assert api.get(f"/clients/{made['id']}").json["language"] == "es"


def test_the_openapi_document_lists_the_language(api):
    doc = api.get("/openapi.json").json
    text = str(doc)
    assert "'en'" in text and "'es'" in text and "language" in text


@pytest.fixture
def desk(client: FlaskClient, db: Session) -> FlaskClient:
    staff(db, "desk@test.invalid")
    assert sign_in(client, "desk@test.invalid").status_code == 302
    return client


def _form(therapist_id: int, **over: str) -> dict[str, str]:
    form = {
        "client_mode": "new",
        "first_name": "Lucía",
        "last_name": "Ortega",
        "phone": "(305) 555-0146",
        "client_timezone": "",
        "client_language": "es",
        "sms_consent": "y",
        "location_id": "miami",
        "therapist_id": str(therapist_id),
        "room": "",
        "first_session_date": "2027-02-24",
        "start_time": "17:00",
        "session_count": "12",
        "duration_minutes": "50",
        "problem_area": "role_transition",
        "action": "book",
    }
    form.update(over)
    return form


def test_the_preview_shows_the_confirmation_in_the_new_clients_language(desk, db, ctx):
    therapist = factories.therapist(db, ctx, "miami")
    db.commit()
    token = csrf(desk, "/book")
    for language, expected in (
        (
            "es",
            "Hola, Lucia. Tiene 12 citas en Miami: cada miércoles, 5:00 p. m. EST, "
            "del 24 feb al 12 may. Responda ALTO para darse de baja.",
        ),
        (
            "en",
            "Hi Lucia, you're booked at Miami: 12 visits, every Wednesday at 5:00 PM EST, "
            "Feb 24 to May 12. Reply STOP to opt out.",
        ),
    ):
        form = _form(therapist.id, client_language=language) | {"csrf_token": token}
        body = desk.post("/book/preview", data=form).json
        assert body["confirmation"]["text"] == expected
        assert body["confirmation"]["language"] == language
        assert f'lang="{language}"' in body["html"]
        assert (
            "Confirmation text, in " + ("Español" if language == "es" else "English")
            in (body["html"])
        )


def test_the_preview_of_an_existing_client_uses_their_language(desk, db, ctx):
    therapist = factories.therapist(db, ctx, "miami")
    known = factories.client(db, ctx, "miami", first_name="Rosa", language="es")
    db.commit()
    form = _form(therapist.id, client_mode="existing", client_language="en") | {
        "client_id": str(known.id),
        "csrf_token": csrf(desk, "/book"),
    }
    body = desk.post("/book/preview", data=form).json
    assert body["confirmation"]["text"].startswith("Hola, Rosa. Tiene 12 citas en Miami:")
    found = desk.get("/book/clients?q=Rosa").json
    assert [(c["language"], c["language_name"]) for c in found] == [("es", "Español")]


def test_booking_a_new_client_records_the_language_and_pages_show_it(desk, db, ctx):
    therapist = factories.therapist(db, ctx, "miami")
    db.commit()
    done = desk.post("/book", data=_form(therapist.id) | {"csrf_token": csrf(desk, "/book")})
    assert done.status_code == 302, done.text
    series = db.scalars(select(Series).where(Series.therapist_id == therapist.id)).one()
    assert series.client.language == "es"
    page = desk.get(f"/series/{series.id}").text
    assert "Texts in" in page and 'data-language="es"' in page and "Español" in page
    client_page = desk.get(f"/clients/{series.client.id}").text
    assert 'data-language="es"' in client_page and "Español" in client_page


def test_the_client_page_changes_the_language(desk, db, ctx):
    c = factories.client(db, ctx, "miami")
    db.commit()
    token = csrf(desk, f"/clients/{c.id}")
    form = {"csrf_token": token, "phone": c.phone, "language": "es", "sms_consent": "y"}
    form |= {"goal_prompt_consent": "y"}
    assert desk.post(f"/clients/{c.id}", data=form).status_code == 302
    db.expire_all()
    assert db.get(Client, c.id).language == "es"
    bad = desk.post(f"/clients/{c.id}", data=form | {"language": "xx"})
    assert bad.status_code == 422
    db.expire_all()
    assert db.get(Client, c.id).language == "es"


def test_feeds_are_the_same_whatever_the_clients_language(db, ctx: ServiceContext):
    bodies = []
    for language in ("en", "es"):
        client = factories.client(db, ctx, "miami", language=language, first_name="Ana")
        series = factories.series(
            db, ctx, office="miami", client_obj=client, first=date(2027, 3, 3)
        )
        token = feeds.rotate_token(db, ctx, "client", client.id, actor="test")
        db.commit()
        events = parse_feed(fetch(db, ctx, "client", token))
        bodies.append(sorted((e.summary, e.description, e.start) for e in events.values()))
        assert len(events) == len(series.sessions)
    assert bodies[0] == bodies[1]
