"""Reply keywords, GSM-7/UCS-2 segment counting, first names, times, and the SMS templates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jinja2 import Environment

from scheduler.domain.ipt import clinical_words_in
from scheduler.domain.reminders import MessageKind
from scheduler.domain.sms import (
    MAX_FIRST_NAME_IN_SMS,
    OPT_OUT_WORDS,
    Parsed,
    characters_used,
    encoding_for,
    parse_reply,
    segment_count,
    sms_first_name,
)
from scheduler.formats import format_text_when
from scheduler.package_data import templates_dir
from scheduler.texts.localized import environment

TEMPLATES = templates_dir() / "sms"
ALL_KINDS: tuple[MessageKind, ...] = (
    "booking_confirmation",
    "session_changed",
    "session_cancelled",
    "series_changed",
    "series_cancelled",
    "reminder_24h",
    "reminder_2h",
    "goal_prompt",
    "closing",
    "measure_link",
)
# A questionnaire link is a URL of about 70 characters: that text may take two segments. So may
# a confirmation that names its pattern, range and closed weeks, a move with both times, and
# the notices about the whole series.
TWO_SEGMENT_KINDS = (
    "measure_link",
    "booking_confirmation",
    "session_changed",
    "series_changed",
    "series_cancelled",
)
WORST_LINK = "https://scheduler.example-practice.org/m/" + "x" * 43

# --- keywords ---------------------------------------------------------------------------


@pytest.mark.parametrize("word", OPT_OUT_WORDS)
@pytest.mark.parametrize("shape", ["{}", "{}.", "  {} ", "{}!", "\n{}\n"])
def test_every_opt_out_word_in_any_case_and_dressing(word: str, shape: str) -> None:
    for variant in (word, word.lower(), word.capitalize()):
        assert parse_reply(shape.format(variant)).keyword == "stop"


@pytest.mark.parametrize("body", ["  stop. ", "Stop!", "ＳＴＯＰ", "stop all", "Opt out", "(stop)"])
def test_stop_variants(body: str) -> None:
    assert parse_reply(body).keyword == "stop"


@pytest.mark.parametrize("body", ["START", "start", "Unstop", "yes", " Yes! "])
def test_opt_in_words(body: str) -> None:
    assert parse_reply(body).keyword == "start"


@pytest.mark.parametrize("body", ["HELP", "help?", "Info", " info. "])
def test_help_words(body: str) -> None:
    assert parse_reply(body).keyword == "help"


@pytest.mark.parametrize("body", ["c", "C", " c. ", "Confirm", "CONFIRM!", "confirmed"])
def test_confirm(body: str) -> None:
    assert parse_reply(body).keyword == "confirm"


@pytest.mark.parametrize("body", ["r", "R.", "Reschedule", " RESCHEDULE "])
def test_reschedule(body: str) -> None:
    assert parse_reply(body).keyword == "reschedule"


@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("shape", ["{}", "{}.", " {} ", "{}!"])
def test_ratings_one_to_five(rating: int, shape: str) -> None:
    assert parse_reply(shape.format(rating)) == Parsed(
        "rating", rating=rating, text=shape.format(rating).strip(), rule="exact"
    )


def test_full_width_digit_is_a_rating() -> None:
    assert parse_reply("３").rating == 3


@pytest.mark.parametrize(
    "body",
    ["0", "6", "10", "35", "3.5", "👍", "🛑", "move to Friday?", "", "  ", "c r"],
)
def test_everything_else_is_other(body: str) -> None:
    parsed = parse_reply(body)
    assert parsed.keyword == "other"
    assert parsed.rating is None


def test_other_keeps_the_text_for_staff() -> None:
    assert parse_reply("  Running late, sorry!  ").text == "Running late, sorry!"


# --- encoding and segments --------------------------------------------------------------


def test_plain_ascii_is_gsm7_one_septet_each() -> None:
    assert encoding_for("Hi Ana, see you soon.") == "GSM-7"
    assert characters_used("Hi Ana") == 6


@pytest.mark.parametrize("ch", ["€", "[", "]", "{", "}", "~", "^", "|", "\\"])
def test_extension_characters_cost_two_septets(ch: str) -> None:
    assert encoding_for(f"a{ch}") == "GSM-7"
    assert characters_used(f"a{ch}") == 3


def test_gsm_basic_accented_letters_stay_gsm7() -> None:
    assert encoding_for("Ñandù è à ü Ø £ ¿¡ ΔΩ") == "GSM-7"


@pytest.mark.parametrize("text", ["Zoë", "ç", "ú", "“smart quotes”", "日本", "hi 👍"])
def test_characters_outside_gsm_force_ucs2(text: str) -> None:
    assert encoding_for(text) == "UCS-2"


def test_emoji_counts_two_utf16_units() -> None:
    assert characters_used("👍") == 2
    assert characters_used("a👍") == 3


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # 160 septets
        ("€" * 80 + "a", 2),
        ("a" * 159 + "€", 2),  # 161 septets
        ("a" * 70 + "é", 1),  # é is in the GSM basic table
        ("ë" * 70, 1),
        ("ë" * 71, 2),
        ("ë" * 134, 2),
        ("ë" * 135, 3),
        ("👍" * 35, 1),  # 70 UTF-16 units
        ("👍" * 35 + "a", 2),
    ],
)
def test_segment_boundaries(text: str, segments: int) -> None:
    assert segment_count(text) == segments


def test_escape_pair_is_not_split_across_parts() -> None:
    # 152 septets then "€": plain division says 2 parts of 153, but the pair cannot straddle.
    text = "a" * 152 + "€" + "a" * 152
    assert characters_used(text) == 306
    assert segment_count(text) == 3


def test_surrogate_pair_is_not_split_across_parts() -> None:
    text = "ë" * 66 + "👍" + "ë" * 66  # 134 units, but the emoji cannot straddle the 67 border
    assert characters_used(text) == 134
    assert segment_count(text) == 3


# --- names and times --------------------------------------------------------------------


def test_first_name_truncated_to_limit() -> None:
    assert sms_first_name("Maximiliana-Josephine Rose") == "Maximiliana-Josephin"
    assert len(sms_first_name("x" * 50)) == MAX_FIRST_NAME_IN_SMS


def test_first_name_keeps_gsm_and_folds_other_accents() -> None:
    assert sms_first_name("  José  ") == "José"
    assert sms_first_name("Zoë") == "Zoe"
    assert sms_first_name("Çelik") == "Çelik"
    assert sms_first_name("François") == "Francois"


def test_first_name_fallback_and_other_scripts() -> None:
    assert sms_first_name("") == "there"
    assert sms_first_name(None) == "there"
    assert sms_first_name("美咲") == "美咲"


@pytest.mark.parametrize(
    ("instant", "zone", "expected"),
    [
        (datetime(2027, 3, 4, 1, 0, tzinfo=UTC), "America/Los_Angeles", "Wed Mar 3, 5:00 PM PST"),
        (datetime(2027, 7, 1, 0, 30, tzinfo=UTC), "America/Phoenix", "Wed Jun 30, 5:30 PM MST"),
        (datetime(2027, 7, 1, 0, 30, tzinfo=UTC), "America/New_York", "Wed Jun 30, 8:30 PM EDT"),
        (datetime(2027, 11, 8, 18, 5, tzinfo=UTC), "America/Chicago", "Mon Nov 8, 12:05 PM CST"),
        (datetime(2027, 3, 14, 7, 0, tzinfo=UTC), "America/New_York", "Sun Mar 14, 3:00 AM EDT"),
        (datetime(2027, 1, 1, 5, 0, tzinfo=UTC), "America/New_York", "Fri Jan 1, 12:00 AM EST"),
    ],
)
def test_format_when(instant: datetime, zone: str, expected: str) -> None:
    assert format_text_when(instant, zone) == expected


def test_format_when_rejects_naive() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_text_when(datetime(2027, 1, 1, 12), "America/Chicago")


# --- templates --------------------------------------------------------------------------

WORST_WHEN = "Wed Sep 30, 12:30 PM AKDT"  # longest weekday/month/day/hour/abbreviation mix
WORST_CONTEXT: dict[str, object] = {
    "first_name": sms_first_name("Maximiliana-Josephine Rose"),
    "greeting": f"Hi {sms_first_name('Maximiliana-Josephine Rose')},",
    "office_name": "Parsippany-Troy Hills",
    "practice_name": "P" * 40,
    "office_phone": "+1 (973) 555-0123",
    "when": WORST_WHEN,
    "first_when": WORST_WHEN,
    "weekday": "Wednesday",
    "number": 20,
    "session_count": 20,
    "prompt_text": "x" * 70,  # MAX_PROMPT_CHARS
    "weekly_goal": None,
    "left": 2,  # "visit 18 of 20, 2 left:" is the longest reminder
    "link": WORST_LINK,
    # A notice's facts (texts.notices), at their longest.
    "time": "12:30 PM AKDT",
    "cadence": 12,
    "first_date": "Sep 30",
    "last_date": "Sep 30",
    "last_when": WORST_WHEN,
    "old_when": WORST_WHEN,
    "skipped": ["Sep 30", "Sep 30", "Sep 30"],
    "more_skipped": 9,
    "first_moved_to": WORST_WHEN,
    "first_cancelled": True,
    "visits": 20,
}


@pytest.fixture(scope="module")
def env() -> Environment:
    return environment("en")  # the English texts (tests/unit/test_text_languages.py: all)


def test_there_is_a_template_per_message_kind_and_for_help() -> None:
    names = {p.stem for p in TEMPLATES.glob("*.txt")}
    assert set(ALL_KINDS) | {"help"} <= names


@pytest.mark.parametrize("kind", [*ALL_KINDS, "help"])
def test_worst_case_render_is_one_gsm7_segment(env: Environment, kind: str) -> None:
    text = env.get_template(f"{kind}.txt").render(**WORST_CONTEXT)
    assert len(str(WORST_CONTEXT["first_name"])) == MAX_FIRST_NAME_IN_SMS
    assert encoding_for(text) == "GSM-7", text
    allowed = 2 if kind in TWO_SEGMENT_KINDS else 1
    assert segment_count(text) <= allowed, (characters_used(text), text)


@pytest.mark.parametrize("kind", [*ALL_KINDS, "help"])
def test_template_wording_rules(env: Environment, kind: str) -> None:
    text = env.get_template(f"{kind}.txt").render(**WORST_CONTEXT)
    assert text.endswith("Reply STOP to opt out.")
    assert "\n" not in text
    assert "CANCEL" not in text.upper().replace("CANCELLED", "")
    assert clinical_words_in(text) == []


@pytest.mark.parametrize("kind", ["reminder_24h", "reminder_2h"])
def test_reminders_offer_confirm_and_reschedule(env: Environment, kind: str) -> None:
    text = env.get_template(f"{kind}.txt").render(**WORST_CONTEXT)
    assert "Reply C to confirm, R to reschedule" in text
    assert WORST_WHEN in text


def test_goal_prompt_quotes_goal_only_when_given(env: Environment) -> None:
    template = env.get_template("goal_prompt.txt")
    plain = template.render(**{**WORST_CONTEXT, "prompt_text": "How is it going?"})
    assert "goal this week" not in plain
    detailed = template.render(
        **{**WORST_CONTEXT, "prompt_text": "How is it going?", "weekly_goal": "Call Sam. "}
    )
    assert "your goal this week: Call Sam. How is it going?" in detailed
    # Without detailed consent the renderer may leave weekly_goal out altogether.
    context = {k: v for k, v in WORST_CONTEXT.items() if k != "weekly_goal"}
    assert template.render(**context).startswith(f"Hi {WORST_CONTEXT['first_name']}, xxx")


def test_termination_reminder_counts_the_visits_left(env: Environment) -> None:
    template = env.get_template("reminder_24h.txt")
    termination = template.render(**{**WORST_CONTEXT, "number": 14, "session_count": 16})
    assert ", visit 14 of 16, 2 left: " in termination
    plain = template.render(**{**WORST_CONTEXT, "number": 5, "left": None})
    assert "visit 5 of 20 is Wed" in plain


def test_link_text_carries_the_link_and_no_clinical_words(env: Environment) -> None:
    text = env.get_template("measure_link.txt").render(**WORST_CONTEXT)
    assert WORST_LINK in text and WORST_WHEN in text
    assert clinical_words_in(text) == []


def test_visits_left_only_in_an_acute_courses_termination(locations) -> None:
    from scheduler.texts.wording import TextFacts, visits_left

    def facts(number: int, total: int, kind: str = "acute") -> TextFacts:
        return TextFacts(
            kind="reminder_24h",
            first_name="Jo",
            client_zone="America/Los_Angeles",
            office=locations["seattle"],
            practice=locations.practice,
            number=number,
            session_count=total,
            series_kind=kind,
        )

    assert [visits_left(facts(n, 16)) for n in (13, 14, 15, 16)] == [None, 2, 1, None]
    assert [visits_left(facts(n, 8)) for n in (6, 7, 8)] == [None, 1, None]
    assert visits_left(facts(2, 3, "maintenance")) is None
