"""The reply parser, table-driven over many phrasings in English and Spanish (no database).

Decisions the tables pin down (see scheduler/domain/replies.py):
- Twilio's keywords alone, Spanish ALTO/PARA/PARAR/BAJA/NO MÁS alone, and short replies
  (at most 12 words) containing stop, unsubscribe, quit, revoke, optout or "opt out" opt out.
- "stop by/in/at/over" (a visit) and a negated "don't stop" are possible opt-outs, like
  "cancel" and "end" inside a longer reply: a person reads them at once and the client is
  told how to stop all texts, rather than losing reminders over a misread.
- "para" and "baja" inside a sentence mean "for" and "low": they are not opt-outs.
"""

from __future__ import annotations

import pytest

from scheduler.domain.replies import MAX_OPT_OUT_WORDS, normalise, parse_reply

ZWSP, ZWJ, WJ, BOM, SHY = "\u200b", "\u200d", "\u2060", "\ufeff", "\u00ad"

# (body, keyword, language); language None: not asserted.
TABLE: list[tuple[str, str, str | None]] = [
    # --- exact keywords, any dressing --------------------------------------------------
    ("STOP", "stop", "en"),
    ("stop.", "stop", "en"),
    ("  Stop!  ", "stop", "en"),
    ("STOPALL", "stop", "en"),
    ("stop all", "stop", "en"),
    ("Unsubscribe", "stop", "en"),
    ("cancel", "stop", "en"),
    ("END", "stop", "en"),
    ("quit", "stop", "en"),
    ("Revoke", "stop", "en"),
    ("optout", "stop", "en"),
    ("Opt-out", "stop", "en"),
    ("opt out", "stop", "en"),
    ("ＳＴＯＰ", "stop", "en"),
    ("START", "start", "en"),
    ("unstop", "start", "en"),
    ("Yes", "start", "en"),
    ("HELP", "help", "en"),
    ("info?", "help", "en"),
    ("C", "confirm", "en"),
    ("confirmed!", "confirm", "en"),
    ("R", "reschedule", "en"),
    ("Reschedule", "reschedule", "en"),
    # --- invisible characters, signatures, repeats --------------------------------------
    (f"STOP{ZWSP}", "stop", "en"),
    (f"ST{ZWSP}OP", "stop", "en"),
    (f"{BOM}stop{WJ}", "stop", "en"),
    (f"s{SHY}top", "stop", "en"),
    (f"S{ZWJ}TOP", "stop", "en"),
    ("STOP\n\nSent from my iPhone", "stop", "en"),
    ("Stop\nSent from my Samsung Galaxy smartphone.", "stop", "en"),
    ("stop -- Sent via Yahoo Mail", "stop", "en"),
    ("STOP\n--\nJane", "stop", "en"),
    ("STOP\nEnviado desde mi iPhone", "stop", "en"),
    ("stop stop stop", "stop", "en"),
    ("STOP! STOP!!", "stop", "en"),
    ("C C", "confirm", "en"),
    # --- plain words (at most 12) ------------------------------------------------------
    ("Stop please", "stop", "en"),
    ("stop texting me", "stop", "en"),
    ("Please stop", "stop", "en"),
    ("unsubscribe me", "stop", "en"),
    ("Please unsubscribe me from these texts", "stop", "en"),
    ("I want to opt out", "stop", "en"),
    ("stop sending me messages!!", "stop", "en"),
    ("I quit", "stop", "en"),
    ("revoke consent", "stop", "en"),
    ("please STOP all texts thank you", "stop", "en"),
    ("don't text me", "stop", "en"),
    ("no more texts please", "stop", "en"),
    ("please remove me from your list", "stop", "en"),
    ("cancel all texts", "stop", "en"),
    ("end these messages", "stop", "en"),
    ("one two three four five six seven eight nine ten eleven stop", "stop", "en"),
    # --- Spanish -------------------------------------------------------------------------
    ("ALTO", "stop", "es"),
    ("para", "stop", "es"),
    ("PARAR", "stop", "es"),
    ("Baja", "stop", "es"),
    ("no más", "stop", "es"),
    ("NO MAS", "stop", "es"),
    ("No mas!", "stop", "es"),
    ("ya no más por favor", "stop", "es"),
    ("no me manden más mensajes", "stop", "es"),
    ("No me envíen mensajes", "stop", "es"),
    ("no me escriban", "stop", "es"),
    ("No me escriban más", "stop", "es"),
    ("remove me", "stop", "en"),
    ("ya no quiero mensajes", "stop", "es"),
    ("no quiero recibir más mensajes", "stop", "es"),
    ("Ya no quiero recibir textos", "stop", "es"),
    ("dejen de escribirme", "stop", "es"),
    ("Dejen de mandarme mensajes por favor", "stop", "es"),
    ("cancelar suscripción", "stop", "es"),
    ("Cancelar mi suscripcion", "stop", "es"),
    ("quiero darme de baja", "stop", "es"),
    ("desuscribirme", "stop", "es"),
    ("basta de mensajes", "stop", "es"),
    ("no más mensajes", "stop", "es"),
    ("COMENZAR", "start", "es"),
    ("comenzar.", "start", "es"),
    ("AYUDA", "help", "es"),
    ("ayuda?", "help", "es"),
    ("confirmar", "confirm", "es"),
    ("Confirmár", "confirm", "es"),
    ("CONFIRMO", "confirm", "es"),
    ("reprogramar", "reschedule", "es"),
    ("REPROGRAMÁR", "reschedule", "es"),
    # --- possible opt-outs: a person reads them first -----------------------------------
    ("I need to cancel Tuesday's session", "possible_opt_out", None),
    ("can we end early today?", "possible_opt_out", None),
    ("stop by the office?", "possible_opt_out", None),
    ("Can I stop in before my session tomorrow?", "possible_opt_out", None),
    ("please don't stop my reminders", "possible_opt_out", None),
    ("Cancel my appointment", "possible_opt_out", None),
    ("When does my treatment end", "possible_opt_out", None),
    ("necesito cancelar la cita del martes", "possible_opt_out", None),
    ("quiero terminar temprano hoy", "possible_opt_out", None),
    (
        "I have been thinking about it for a while and I would like you to stop "
        "the messages for now",
        "possible_opt_out",
        None,
    ),
    # --- other --------------------------------------------------------------------------
    ("Running late, sorry!", "other", None),
    ("para cuando es mi cita?", "other", None),
    ("tengo la presión baja hoy", "other", None),
    ("estoy de baja médica esta semana", "other", None),
    ("no me manden la factura por correo", "other", None),
    ("can you remove me from Tuesday and put me on Friday", "other", None),
    ("no más tarde de las 5", "other", None),
    ("ok", "other", None),
    ("Sent from my iPhone", "other", None),
    ("", "other", None),
    (ZWSP, "other", None),
    ("👍", "other", None),
    ("stopping by later", "other", None),
]


@pytest.mark.parametrize(("body", "keyword", "language"), TABLE)
def test_the_table(body: str, keyword: str, language: str | None) -> None:
    parsed = parse_reply(body)
    assert parsed.keyword == keyword, (body, parsed)
    if language is not None:
        assert parsed.language == language, (body, parsed)


@pytest.mark.parametrize(
    ("body", "carrier"),
    [
        ("STOP", True),
        (" stop. ", True),
        ("Start", True),
        ("HELP", True),
        ("opt out", False),  # Twilio's keyword is OPTOUT, one word
        ("STOP\n\nSent from my iPhone", False),
        (f"STOP{ZWSP}", False),
        ("stop stop", False),
        ("ALTO", False),
        ("COMENZAR", False),
        ("Stop please", False),
    ],
)
def test_only_twilios_own_keywords_are_left_for_twilio_to_answer(body: str, carrier: bool) -> None:
    assert parse_reply(body).carrier is carrier


def test_the_word_limit_is_twelve() -> None:
    twelve = " ".join([f"w{i}" for i in range(MAX_OPT_OUT_WORDS - 1)] + ["stop"])
    thirteen = "w12 " + twelve
    assert len(normalise(twelve)) == MAX_OPT_OUT_WORDS
    assert parse_reply(twelve).keyword == "stop"
    assert parse_reply(thirteen).keyword == "possible_opt_out"


def test_normalise_folds_case_accents_invisibles_and_repeats() -> None:
    assert normalise(f"  No  MÁS{ZWSP} más!! \n\nSent from my iPhone") == ["no", "mas"]
    assert normalise("don't  STOP") == ["dont", "stop"]


def test_the_parsed_reply_keeps_the_text_and_names_the_rule() -> None:
    parsed = parse_reply("  Stop please  ")
    assert (parsed.text, parsed.rule, parsed.word) == ("Stop please", "words", "STOP")
    exact = parse_reply("STOP")
    assert (exact.rule, exact.word) == ("exact", "STOP")
