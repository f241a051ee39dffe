"""The segment budget (issue 14): every kind of text in every language, with the longest values.

The table behind these tests: `uv run python bench/text_segments.py`.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from scheduler.domain.ipt import clinical_words_in
from scheduler.domain.languages import LANGUAGE_NAMES
from scheduler.domain.sms import GSM7_BASIC, GSM7_EXTENSION, encoding_for, segment_count
from scheduler.texts import localized
from scheduler.texts.budget import (
    BUDGET,
    DAYS,
    LONGEST_OFFICE,
    ZONE,
    Sample,
    template_kinds,
    worst_cases,
    worst_per_kind,
)

OPT_OUT_LINE = {"en": "Reply STOP to opt out.", "es": "Responda ALTO para darse de baja."}


@pytest.fixture(scope="module")
def samples(locations) -> list[Sample]:
    return worst_cases(locations["tucson"], locations.practice)


def _non_gsm(text: str) -> set[str]:
    return {ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION}


def test_every_template_is_measured_in_every_language(samples) -> None:
    kinds = {s.kind for s in samples}
    assert kinds == template_kinds() | {"help"}
    for kind in kinds:
        assert {s.language for s in samples if s.kind == kind} == set(LANGUAGE_NAMES)


def test_the_worst_values_are_in_the_samples(samples) -> None:
    reminders = [s.text for s in samples if s.kind == "reminder_24h"]
    assert any(LONGEST_OFFICE in t and "Maria de los Angeles" in t for t in reminders)
    assert any("mié 29 sept, 12:30 p. m. AKDT" in t for t in reminders)
    assert any("Wed Sep 29, 12:30 PM AKDT" in t for t in reminders)


def test_english_texts_stay_gsm7(samples) -> None:
    for s in samples:
        if s.language == "en":
            assert s.encoding == "GSM-7", s.text


@pytest.mark.parametrize("kind", sorted(BUDGET))
@pytest.mark.parametrize("language", sorted(LANGUAGE_NAMES))
def test_reminders_change_notices_and_prompts_fit_their_budget(samples, kind, language) -> None:
    mine = [s for s in samples if s.kind == kind and s.language == language]
    assert mine
    worst = max(mine, key=lambda s: (s.segments, len(s.text)))
    assert worst.segments <= BUDGET[kind], (worst.encoding, len(worst.text), worst.text)


def test_spanish_keeps_its_accents(samples) -> None:
    spanish = [s.text for s in samples if s.language == "es"]
    assert any("¿Qué" in t for t in spanish)
    assert any("mié" in t for t in spanish)
    # The one non-GSM letter in the fixed wording is a weekday's: "sábado" stays whole.
    confirmations = [s.text for s in samples if s.kind == "booking_confirmation"]
    assert any("cada sábado, 12:30 p. m. AKDT, del 25 sept" in t for t in confirmations)
    for text in spanish:
        assert _non_gsm(text) <= {"á"}, text
        assert "sabado" not in text and " sab " not in text  # never an accent dropped


def test_a_saturday_in_spanish_drops_the_day_name_not_its_accent() -> None:
    saturday, wednesday = DAYS[0], DAYS[4]
    assert saturday.weekday() == 5 and wednesday.weekday() == 2
    with_day = localized.when(saturday, ZONE, "es")
    assert with_day == "sáb 25 sept, 12:30 p. m. AKDT"
    text = localized.reply("confirmed", "es", starts_at=saturday, zone=ZONE, office_name="Miami")
    assert "del 25 sept, 12:30 p. m. AKDT" in text and segment_count(text) == 1
    weekday_kept = localized.reply(
        "confirmed", "es", starts_at=wednesday, zone=ZONE, office_name="Miami"
    )
    assert "del mié 29 sept, 12:30 p. m. AKDT" in weekday_kept
    english = localized.reply("confirmed", "en", starts_at=saturday, zone=ZONE, office_name="Miami")
    assert "Sat Sep 25, 12:30 PM AKDT" in english


@pytest.mark.parametrize("when", ["mié 30 sept, 12:30 p. m. AKDT", "30 sept, 12:30 p. m. AKDT"])
@pytest.mark.parametrize("kind", ["reminder_24h", "reminder_2h", "session_changed"])
def test_the_longest_spanish_date_style_still_fits(kind, when) -> None:
    """CLDR's "es" (used) writes "sept" and "p. m."; the longest dates still fit two."""
    context = {
        "greeting": localized.greeting("Maria de los Angeles", "es"),
        "office_name": LONGEST_OFFICE,
        "office_phone": "(973) 555-0123",
        "when": when,
        "old_when": when,
        "number": 18,
        "session_count": 20,
        "left": 2,
    }
    text = localized.template(kind, "es").render(**context)
    assert when in text
    assert encoding_for(text) == "GSM-7" and segment_count(text) <= 2


def test_texts_end_with_the_opt_out_line_and_name_nothing_clinical(samples, locations) -> None:
    practice = locations.practice.name  # the program name, which HELP must carry anyway
    for s in samples:
        if not s.kind.startswith("reply_"):
            assert s.text.endswith(OPT_OUT_LINE[s.language]), s.text
        assert "\n" not in s.text
        assert clinical_words_in(s.text.replace(practice, "")) == [], s.text


def test_the_table_has_one_worst_case_per_kind_and_language(samples) -> None:
    worst = worst_per_kind(samples)
    assert len(worst) == len(template_kinds() | {"help"}) * len(LANGUAGE_NAMES)
    assert worst[("reminder_24h", "en")].encoding == "GSM-7"


def test_days_cover_a_whole_week() -> None:
    assert sorted(d.astimezone(ZoneInfo(ZONE)).weekday() for d in DAYS) == list(range(7))


def test_confirmations_fit_two_segments_but_a_spanish_saturday(samples) -> None:
    """Not in BUDGET (sent once a series): a Spanish series on Saturdays is UCS-2 ("cada
    sábado" cannot lose its day name) and takes up to 5 segments with every extra; other
    Spanish confirmations stay GSM-7 and, with every extra at once (a moved first visit and
    closed weeks, in CLDR's longer "sept" and "p. m."), take up to 3 (bench/text_segments.py)."""
    for s in samples:
        if s.kind != "booking_confirmation":
            continue
        if s.language == "es" and "sábado" in s.text:
            assert s.encoding == "UCS-2" and s.segments <= 5, s.text
        elif s.language == "es":
            assert s.encoding == "GSM-7" and s.segments <= 3, s.text
        else:
            assert s.encoding == "GSM-7" and s.segments <= 2, s.text
