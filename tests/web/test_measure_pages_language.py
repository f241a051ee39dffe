"""The questionnaire pages a client opens by link are in the client's language."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from scheduler.db.models import Client, MeasureForm
from scheduler.domain import measures as domain
from scheduler.i18n import translate
from scheduler.services import measure_forms
from tests.web.course_support import book, clock, practice
from tests.web.test_measure_forms import answers, linked_then_moved, submit

__all__ = ["clock", "practice"]  # fixtures


def _speaking(db, practice, language: str) -> None:
    client = db.get(Client, practice.client["id"])
    client.language = language
    db.commit()


def _text(response) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_form_thanks_and_gone_pages_speak_the_clients_language(
    practice, client, db, ctx, clock, language
):
    _speaking(db, practice, language)
    sid = book(practice)["sessions"][0]["id"]
    token = measure_forms.issue_link(db, replace(ctx, clock=clock), sid)
    db.commit()
    page = client.get(f"/m/{token}")
    assert page.status_code == 200
    assert f'<html lang="{language}">' in page.get_data(as_text=True)
    shown = _text(page)
    for text in (domain.PHQ9.stem, *domain.PHQ9.items, *domain.FREQUENCY_OPTIONS):
        assert translate(language, text) in shown
    heading = {"en": "A few questions before your visit", "es": "Unas preguntas antes de su cita"}
    assert heading[language] in shown
    if language == "es":
        assert "Ningún día" in shown and "Enviar mis respuestas" in shown
        assert "Poco interés o placer en hacer cosas" in shown

    missing = submit(client, f"/m/{token}", answers([0] * 8))  # one left open
    assert missing.status_code == 422
    still = {"en": "1 is still open:", "es": "Queda 1 sin responder:"}
    assert still[language] in _text(missing)

    done = submit(client, f"/m/{token}", answers([0] * 9))
    assert done.status_code == 302
    thanks = _text(client.get(done.location))
    said = {"en": "Your answers have been sent.", "es": "Sus respuestas fueron enviadas."}
    assert said[language] in thanks and "988" in thanks

    gone = client.get(f"/m/{token}")
    assert gone.status_code == 410
    answered = {
        "en": "These questions have already been answered. Thank you.",
        "es": "Estas preguntas ya fueron respondidas. Gracias.",
    }
    assert answered[language] in _text(gone)


def test_an_expired_spanish_link_says_so_in_spanish(practice, client, db, ctx, clock):
    _speaking(db, practice, "es")
    sid = book(practice)["sessions"][0]["id"]
    token = measure_forms.issue_link(db, replace(ctx, clock=clock), sid)
    db.commit()
    stored = db.scalar(select(MeasureForm))
    clock.at = stored.expires_at + timedelta(seconds=1)
    gone = client.get(f"/m/{token}")
    assert gone.status_code == 410
    assert "Este enlace ya venció." in _text(gone)


def test_a_spanish_link_whose_visit_moved_weeks_later_says_when_in_spanish(
    practice, client, db, ctx, clock
):
    _speaking(db, practice, "es")
    _, token = linked_then_moved(practice, db, ctx, clock, "2027-09-22T12:00")
    waiting = client.get(f"/m/{token}")
    assert waiting.status_code == 409
    assert "Estas preguntas estarán disponibles una semana antes de su cita." in _text(waiting)
    assert "Todavía no hay nada que responder" in _text(waiting)
    assert '<html lang="es">' in waiting.get_data(as_text=True)


def test_a_link_that_opens_nothing_is_answered_in_english(client):
    gone = client.get("/m/not-a-real-token-at-all")
    assert gone.status_code == 404
    assert "This link is not valid." in _text(gone)
    assert '<html lang="en">' in gone.get_data(as_text=True)


def test_front_desk_pages_stay_english(practice, client, db):
    _speaking(db, practice, "es")
    page = client.get("/signin").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page
