"""Replies to a client's text are in the client's language (SQLite and PostgreSQL).

The Spanish words themselves (confirmar, AYUDA, ALTO...) are recognised in domain.sms; here the
answers: HELP, C, R, ratings, free text, and who counts as "the client" on a shared phone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests import factories
from tests.web.inbound_support import (
    reply_text,
    sent_goal_prompt,
    settings_with_auth_token,  # noqa: F401  (fixture `settings`)
    twilio_fixture,  # noqa: F401  (fixture `twilio`)
)

MIAMI_SMS = "+13055550131"
HELP = {
    "en": "Interpersonal Therapy Associates: visit reminders. Help: (305) 555-0130. Texts are "
    "not watched 24/7. Msg&data rates may apply. Reply STOP to opt out.",
    "es": "Interpersonal Therapy Associates: recordatorios de citas. Ayuda: (305) 555-0130. Los "
    "mensajes no se atienden 24/7. Pueden aplicarse tarifas de mensajes y datos. "
    "Responda ALTO para darse de baja.",
}
CONFIRMED = {
    "en": "Thanks, your visit Wed Feb 24, 5:00 PM EST at Miami is confirmed. Reply R to "
    "reschedule.",
    "es": "Gracias, su cita del mié 24 feb, 5:00 p. m. EST en Miami queda confirmada. "
    "Responda R para reprogramar.",
}
RESCHEDULE = {
    "en": "Thanks, our staff will contact you to find a new time. Questions? Call (305) 555-0130.",
    "es": "Gracias, nuestro equipo va a comunicarse con usted para buscar otro horario. "
    "¿Preguntas? Llame al (305) 555-0130.",
}
RECEIVED = {
    "en": "Thanks, our staff will read your message. Texts are not watched 24/7. Urgent? "
    "Call (305) 555-0130. Emergency: call 911.",
    "es": "Gracias, nuestro equipo va a leer su mensaje. Los mensajes no se atienden 24/7. "
    "¿Urgente? Llame al (305) 555-0130. Emergencias: llame al 911.",
}
RATING = {
    "en": "Thanks, we noted your answer for this week.",
    "es": "Gracias, anotamos su respuesta de esta semana.",
}
NOTHING = {
    "en": "We could not find a visit to confirm; our staff will follow up. Questions? Call "
    "(305) 555-0130.",
    "es": "No encontramos una cita por confirmar; nuestro equipo va a comunicarse con usted. "
    "¿Preguntas? Llame al (305) 555-0130.",
}


def _miami(db, ctx, language: str, **kw):
    client = kw.pop("client_obj", None) or factories.client(
        db, ctx, "miami", language=language, **kw
    )
    series = factories.series(db, ctx, office="miami", client_obj=client)
    db.commit()
    return series


def _say(twilio, body: str, phone: str) -> str | None:
    return reply_text(twilio.text(body, frm=phone, to=MIAMI_SMS))


@pytest.mark.parametrize("language", ["en", "es"])
def test_each_answer_is_in_the_clients_language(twilio, db, ctx, language):
    series = _miami(db, ctx, language)
    phone = series.client.phone
    assert _say(twilio, "HELP", phone) == HELP[language]
    assert _say(twilio, "C", phone) == CONFIRMED[language]
    assert _say(twilio, "R", phone) == RESCHEDULE[language]
    assert _say(twilio, "Llegaré tarde", phone) == RECEIVED[language]
    first = min(series.sessions, key=lambda s: s.starts_at)
    sent_goal_prompt(db, series.client, first, sent_at=datetime.now(UTC) - timedelta(hours=2))
    assert _say(twilio, "4", phone) == RATING[language]


@pytest.mark.parametrize("language", ["en", "es"])
def test_nothing_to_confirm_in_the_clients_language(twilio, db, ctx, language):
    client = factories.client(db, ctx, "miami", language=language)
    db.commit()
    assert _say(twilio, "C", client.phone) == NOTHING[language]


def test_an_unknown_number_is_answered_in_english(twilio, db, ctx):
    _miami(db, ctx, "es")
    assert _say(twilio, "HELP", "+13055550999") == HELP["en"]
    assert _say(twilio, "hola", "+13055550999") == RECEIVED["en"]


def test_a_shared_phone_of_one_language_is_answered_in_it(twilio, db, ctx):
    first = factories.client(db, ctx, "miami", language="es", phone="+13055550177")
    factories.client(db, ctx, "miami", language="es", phone="+13055550177")
    db.commit()
    assert _say(twilio, "HELP", first.phone) == HELP["es"]
    assert _say(twilio, "hola", first.phone) == RECEIVED["es"]  # ambiguous sender, still Spanish


def test_a_shared_phone_of_two_languages_follows_the_client_we_can_tell(twilio, db, ctx):
    parent = factories.client(db, ctx, "miami", language="es", phone="+13055550178")
    child = factories.client(db, ctx, "miami", language="en", phone="+13055550178")
    db.commit()
    # Neither has a series here: we cannot tell who wrote, so the practice's default.
    assert _say(twilio, "HELP", parent.phone) == HELP["en"]
    # Only the parent has an active series at Miami: that is who writes to Miami.
    _miami(db, ctx, "es", client_obj=parent)
    assert _say(twilio, "HELP", parent.phone) == HELP["es"]
    assert _say(twilio, "C", parent.phone) == CONFIRMED["es"]
    assert child.language == "en"


def test_our_opt_out_and_opt_in_confirmations_in_both_languages():
    from scheduler.texts.localized import reply

    assert reply("opted_out", "es") == (
        "Listo, no le vamos a enviar otros mensajes. Responda COMENZAR para volver a recibirlos."
    )
    assert reply("opted_out", "en").startswith("You have successfully been unsubscribed.")
    assert reply("opted_in", "es").endswith("Responda ALTO para darse de baja.")


def test_spanish_words_are_answered_in_spanish(twilio, db, ctx):
    series = _miami(db, ctx, "es")
    phone = series.client.phone
    assert _say(twilio, "AYUDA", phone) == HELP["es"]
    assert _say(twilio, "confirmar", phone) == CONFIRMED["es"]
    assert _say(twilio, "reprogramar", phone) == RESCHEDULE["es"]
    assert _say(twilio, "necesito cancelar la cita del martes", phone) == (
        "Gracias, nuestro equipo va a leer su mensaje pronto. Para no recibir mensajes "
        "nuestros, responda ALTO. ¿Urgente? Llame al (305) 555-0130."
    )
    assert _say(twilio, "ALTO", phone) == (
        "Listo, no le vamos a enviar otros mensajes. Responda COMENZAR para volver a recibirlos."
    )
    assert _say(twilio, "hola", phone) is None  # nothing more goes to the number
    assert _say(twilio, "COMENZAR", phone) == (
        "Listo, va a recibir de nuevo nuestros mensajes. Responda AYUDA si necesita ayuda. "
        "Responda ALTO para darse de baja."
    )


@pytest.mark.parametrize("body", ["STOP", "stop"])
def test_twilios_own_keyword_is_left_to_twilio_in_any_language(twilio, db, ctx, body):
    series = _miami(db, ctx, "es")
    assert _say(twilio, body, series.client.phone) is None


def test_an_english_client_saying_no_mas_is_answered_in_english(twilio, db, ctx):
    series = _miami(db, ctx, "en")
    assert _say(twilio, "no más", series.client.phone) == (
        "You have successfully been unsubscribed. You will not receive any more messages from "
        "this number. Reply START to resubscribe."
    )


def test_the_inbox_shows_staff_the_clients_language(twilio, client, db, ctx):
    from tests.web.pages_support import sign_in, staff

    series = _miami(db, ctx, "es")
    _say(twilio, "necesito cancelar la cita del martes", series.client.phone)
    staff(db, "desk@test.invalid")
    assert sign_in(client, "desk@test.invalid").status_code == 302
    page = client.get("/inbox").get_data(as_text=True)
    assert 'data-language="es"' in page and "Texts in Español" in page
    assert "reply STOP for that (ALTO, in Spanish)." in page
