"""Texts go out in the client's language, worded at send time (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

import pytest

from scheduler.domain.ipt import clinical_words_in
from scheduler.i18n import translate
from scheduler.services import consent, session_changes
from scheduler.texts.wording import prompt_library
from tests import factories
from tests.integration.dispatch_support import book, rows

OPT_OUT = {"en": "Reply STOP to opt out.", "es": "Responda ALTO para darse de baja."}
CONFIRMATION = {
    "en": "Hi Casey, you're booked at Seattle: 12 visits, every Wednesday at 5:00 PM PST, "
    "Feb 24 to May 12. Reply STOP to opt out.",
    "es": "Hola, Casey. Tiene 12 citas en Seattle: cada miércoles, 5:00 p. m. PST, "
    "del 24 feb al 12 may. Responda ALTO para darse de baja.",
}
REMINDER_24H = {
    "en": "Hi Casey, visit 1 of 12 is Wed Feb 24, 5:00 PM PST at Seattle. "
    "Reply C to confirm, R to reschedule. Reply STOP to opt out.",
    "es": "Hola, Casey. Su cita 1 de 12 es el mié 24 feb, 5:00 p. m. PST en Seattle. "
    "Responda C para confirmar o R para reprogramar. Responda ALTO para darse de baja.",
}
REMINDER_2H = {
    "en": "Hi Casey, see you soon: Wed Feb 24, 5:00 PM PST at Seattle. "
    "Reply C to confirm, R to reschedule. Reply STOP to opt out.",
    "es": "Hola, Casey. Nos vemos pronto: mié 24 feb, 5:00 p. m. PST en Seattle. "
    "Responda C para confirmar o R para reprogramar. Responda ALTO para darse de baja.",
}
CHANGED = {
    "en": "Hi Casey, your visit 2 of 12 at Seattle moved from Wed Mar 3, 5:00 PM PST to "
    "Thu Mar 4, 6:00 PM PST. Questions? (206) 555-0190. Reply STOP to opt out.",
    "es": "Hola, Casey. Su cita 2 de 12 en Seattle cambia del mié 3 mar, 5:00 p. m. PST al "
    "jue 4 mar, 6:00 p. m. PST. ¿Preguntas? (206) 555-0190. Responda ALTO para darse de baja.",
}
CANCELLED = {
    "en": "Hi Casey, your Wed Mar 10, 5:00 PM PST visit at Seattle is cancelled. "
    "Questions? Call (206) 555-0190. Reply STOP to opt out.",
    "es": "Hola, Casey. Su cita del mié 10 mar, 5:00 p. m. PST en Seattle fue cancelada. "
    "¿Preguntas? Llame al (206) 555-0190. Responda ALTO para darse de baja.",
}


def _send(db, clock, dispatcher, gateway, session_id: int, kind: str) -> str:
    (row,) = rows(db, session_id=session_id, kind=kind)
    clock.now = max(clock.now, row.send_at)
    dispatcher.run_pass()
    (row,) = rows(db, session_id=session_id, kind=kind)
    assert row.status == "sent", row.reason
    assert row.body == gateway.messages[-1].body
    return row.body


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_planned_text_is_in_the_clients_language(
    db, tctx, clock, dispatcher, gateway, language
):
    client = factories.client(db, tctx, language=language, goal_detail_consent=True)
    series = book(db, tctx, client_obj=client)
    dispatcher.run_pass()
    assert gateway.messages[-1].body == CONFIRMATION[language]
    first, second, third = series.sessions[:3]
    assert _send(db, clock, dispatcher, gateway, first.id, "reminder_24h") == REMINDER_24H[language]
    assert _send(db, clock, dispatcher, gateway, first.id, "reminder_2h") == REMINDER_2H[language]

    prompt = _send(db, clock, dispatcher, gateway, first.id, "goal_prompt")
    (row,) = rows(db, session_id=first.id, kind="goal_prompt")
    library = {
        p.id: p.text
        for area in prompt_library().areas
        for phase in ("initial", "middle", "termination")
        for p in prompt_library().cell(area, phase)
    }
    assert translate(language, library[row.prompt_id]) in prompt
    assert prompt.endswith(OPT_OUT[language]) and clinical_words_in(prompt) == []
    if language == "es":
        assert prompt.startswith("Hola, Casey. ")
        assert "Responda 1-5 (5 = muy bien) o con unas palabras." in prompt

    session_changes.reschedule(db, tctx, second.id, datetime(2027, 3, 4, 18, 0), actor="desk")
    db.commit()
    dispatcher.run_pass()
    assert gateway.messages[-1].body == CHANGED[language]
    session_changes.cancel(db, tctx, third.id, cancelled_by="practice", make_up=False, actor="d")
    db.commit()
    dispatcher.run_pass()
    assert gateway.messages[-1].body == CANCELLED[language]

    last = max(series.sessions, key=lambda s: s.starts_at)
    closing = _send(db, clock, dispatcher, gateway, last.id, "closing")
    expected = {
        "en": "Hi Casey, thank you for the work you put in these past weeks.",
        "es": "Hola, Casey. Gracias por todo su esfuerzo en estas semanas.",
    }
    assert closing.startswith(expected[language]) and closing.endswith(OPT_OUT[language])


def test_a_new_language_applies_to_texts_not_yet_sent(db, tctx, clock, dispatcher, gateway):
    client = factories.client(db, tctx)
    series = book(db, tctx, client_obj=client)
    dispatcher.run_pass()
    assert gateway.messages[-1].body.startswith("Hi Casey, you're booked")
    consent.update_client(db, tctx, client.id, consent.ClientChange(language="es"), actor="desk")
    db.commit()
    body = _send(db, clock, dispatcher, gateway, series.sessions[0].id, "reminder_24h")
    assert body == REMINDER_24H["es"]


def test_a_spanish_saturday_reminder_leaves_out_the_day_name_to_stay_gsm7(
    db, tctx, clock, dispatcher, gateway
):
    from datetime import date, time

    from scheduler.domain.sms import encoding_for, segment_count

    client = factories.client(db, tctx, language="es", first_name="Maria de los Angeles")
    series = book(db, tctx, client_obj=client, first=date(2027, 2, 27), at=time(10))
    dispatcher.run_pass()
    body = _send(db, clock, dispatcher, gateway, series.sessions[0].id, "reminder_24h")
    assert "es el 27 feb, 10:00 a. m. PST en Seattle" in body
    assert encoding_for(body) == "GSM-7" and segment_count(body) == 2


def test_series_notices_in_spanish(db, tctx, dispatcher, gateway):
    from datetime import date

    from scheduler.domain.sms import encoding_for, segment_count

    client = factories.client(db, tctx, language="es")
    # Mondays from Feb 22, 2027: Memorial Day (May 31) is skipped and a week added at the end.
    series = book(db, tctx, client_obj=client, first=date(2027, 2, 22), count=16)
    dispatcher.run_pass()
    assert gateway.messages[-1].body == (
        "Hola, Casey. Tiene 16 citas en Seattle: cada lunes, 5:00 p. m. PST, del 22 feb al "
        "14 jun. Sin cita el 31 may: el consultorio cierra. Responda ALTO para darse de baja."
    )
    session_changes.renegotiate(db, tctx, series.id, 14, actor="desk")
    db.commit()
    dispatcher.run_pass()
    changed = gateway.messages[-1].body
    assert changed == (
        "Hola, Casey. Ahora tiene 14 citas en total en Seattle; la cita final es el "
        "lun 24 may, 5:00 p. m. PDT. ¿Preguntas? (206) 555-0190. Responda ALTO para darse de baja."
    )
    session_changes.cancel_rest(db, tctx, series.id, cancelled_by="client", reason=None, actor="d")
    db.commit()
    dispatcher.run_pass()
    cancelled = gateway.messages[-1].body
    assert cancelled == (
        "Hola, Casey. Sus 14 citas restantes en Seattle, desde el lun 22 feb, 5:00 p. m. PST, "
        "fueron canceladas. ¿Preguntas? Llame al (206) 555-0190. Responda ALTO para darse de baja."
    )
    for body in (changed, cancelled):
        assert encoding_for(body) == "GSM-7" and segment_count(body) <= 2
