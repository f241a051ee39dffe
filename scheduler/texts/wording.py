"""The words of each text, rendered from templates/sms at send time.

Everything here works on plain values the dispatcher has already read, so rendering a batch
costs no queries. Texts carry no diagnosis, problem area or clinical words: the templates and
the prompt library are checked for that by their own tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import phonenumbers

from ..domain.ipt import GENERAL_AREA, PromptLibrary, load_prompt_library, phase_for
from ..domain.languages import DEFAULT_LANGUAGE
from ..domain.sms import FALLBACK_FIRST_NAME, encoding_for, sms_first_name
from ..formats import format_month_day, format_text_time, format_text_when, format_weekday
from ..i18n import locale_for, translate
from ..locations import Location, Practice
from ..package_data import prompts_file
from .localized import fewest_segments, greeting, render_template, template, weekday, when

# A therapist's goal is quoted verbatim but kept short: the prompt must stay a text, not a letter.
MAX_GOAL_CHARS = 80
# Closed weeks a confirmation names one by one; more are counted ("and 2 more weeks"), so the
# text stays within two segments.
MAX_SKIPPED_NAMED = 3


@cache
def prompt_library() -> PromptLibrary:
    return load_prompt_library(prompts_file())


def office_phone(office: Location) -> str:
    """The office's voice line as people write it, e.g. "(520) 555-0110"."""
    return _national(office.phone)


@cache
def _national(e164: str) -> str:
    # Parsing costs more than rendering the rest of a text, and there are nine offices.
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def help_reply(
    practice: Practice, office: Location, language: str | None = DEFAULT_LANGUAGE
) -> str:
    """The answer to HELP: the practice, the office's phone, and how to opt out."""
    return (
        template("help", language)
        .render(practice_name=practice.name, office_phone=office_phone(office))
        .strip()
    )


def short_goal(goal: str | None) -> str | None:
    """The therapist's weekly goal on one line, cut at a word boundary if long."""
    if not goal:
        return None
    text = " ".join(goal.split())
    if len(text) > MAX_GOAL_CHARS:
        text = text[: MAX_GOAL_CHARS - 3].rsplit(" ", 1)[0].rstrip(",;:") + "..."
    return text or None


@dataclass(frozen=True)
class TextFacts:
    """What one text needs to know, read by the dispatcher's claim query."""

    kind: str
    first_name: str | None
    client_zone: str
    office: Location
    practice: Practice
    number: int | None = None
    session_count: int | None = None
    starts_at: datetime | None = None
    prompt_text: str | None = None
    weekly_goal: str | None = None
    series_kind: str = "acute"
    link: str | None = None  # a questionnaire link's marker (texts.links), never the URL
    notice: Mapping[str, Any] | None = None  # a notice's facts, fixed at its change (notices)
    cadence_weeks: int = 1
    language: str = DEFAULT_LANGUAGE  # the client's ("en", "es"): words, dates and times


def visits_left(facts: TextFacts) -> int | None:
    """Visits after this one, for reminders in the termination phase ("visit 14 of 16, 2 left").

    None outside an acute course's termination phase, and for its last visit ("16 of 16"
    says it already).
    """
    number, total = facts.number, facts.session_count
    if facts.series_kind != "acute" or number is None or total is None:
        return None
    if not 1 <= number < total or phase_for(number, total) != "termination":
        return None
    return total - number


def render(facts: TextFacts) -> str:
    """The text's body; every template gets the same variables and uses what it needs.

    A text that is UCS-2 anyway (Spanish "sáb") is also worded without the weekday of its
    dates, and the shorter in segments is sent (texts.localized.fewest_segments).
    """
    text = _render(facts, named=True)
    if encoding_for(text) == "GSM-7":
        return text
    return fewest_segments((text, _render(facts, named=False)))


def _render(facts: TextFacts, *, named: bool) -> str:
    language, zone = facts.language, facts.client_zone
    at = day = ""
    if facts.starts_at is not None:
        at = when(facts.starts_at, zone, language, weekday=named)
        day = weekday(facts.starts_at, zone, language)
    first_name = sms_first_name(facts.first_name)
    if encoding_for(first_name) != "GSM-7":
        # A name in another script would turn the whole text into UCS-2 (70 characters a
        # segment) and split every reminder in three; a plain greeting keeps it to one.
        first_name = FALLBACK_FIRST_NAME
    context: dict[str, Any] = {
        "greeting": greeting(first_name, language),
        "first_name": first_name,
        "office_name": facts.office.name,
        "office_phone": office_phone(facts.office),
        "practice_name": facts.practice.name,
        "when": at,
        "first_when": at,
        "weekday": day,
        "number": facts.number,
        "session_count": facts.session_count,
        # The library is written in English; its catalog entry is the client's wording.
        "prompt_text": translate(language, facts.prompt_text) if facts.prompt_text else "",
        "weekly_goal": short_goal(facts.weekly_goal),
        "left": visits_left(facts),
        "link": facts.link or "",
        **NO_NOTICE,
    }
    context.update(notice_words(facts, named=named))
    return render_template(facts.kind, language, context).strip()


# What a template sees of a notice when the text is not one.
NO_NOTICE: dict[str, Any] = {
    "time": "",
    "cadence": 1,
    "first_date": "",
    "last_date": "",
    "last_when": "",
    "old_when": "",
    "skipped": [],
    "more_skipped": 0,
    "first_moved_to": "",
    "first_cancelled": False,
    "visits": 0,
}


def notice_words(facts: TextFacts, *, named: bool = True) -> dict[str, Any]:
    """A notice's stored facts as the client reads them (their zone and language); `named`:
    dates with their weekday."""
    zone, locale = facts.client_zone, locale_for(facts.language)
    stored = dict(facts.notice or {})

    def when(key: str) -> str:
        value = stored.get(key)
        if not value:
            return ""
        return format_text_when(_instant(value), zone, locale=locale, weekday=named)

    def day(key: str) -> str:
        value = stored.get(key)
        return format_month_day(_instant(value), zone, locale=locale) if value else ""

    if facts.kind == "booking_confirmation":
        if not stored and facts.starts_at is not None:  # planned before facts were stored
            start = facts.starts_at.isoformat()
            stored = {"pattern": start, "first": start, "first_planned": start}
            stored.update(cadence=facts.cadence_weeks, count=facts.session_count)
        pattern = _instant(stored["pattern"])
        skipped = [date.fromisoformat(d) for d in stored.get("skipped") or ()]
        return {
            "session_count": stored.get("count", facts.session_count),
            "cadence": int(stored.get("cadence") or 1),
            "weekday": format_weekday(pattern, zone, locale=locale),
            "time": format_text_time(pattern, zone, locale=locale),
            "first_date": day("first_planned"),
            "last_date": day("last"),
            "first_when": when("first"),
            "skipped": [format_month_day(d, locale=locale) for d in skipped[:MAX_SKIPPED_NAMED]],
            "more_skipped": max(len(skipped) - MAX_SKIPPED_NAMED, 0),
            "first_moved_to": when("first_moved_to")
            if stored.get("first_change") == "moved"
            else "",
            "first_cancelled": stored.get("first_change") == "cancelled",
        }
    if facts.kind == "session_changed" and stored:
        return {"when": when("new"), "old_when": when("old")}
    if facts.kind == "session_cancelled" and stored:
        return {"when": when("when")}
    if facts.kind not in ("series_changed", "series_cancelled"):
        return {}  # not a notice (reminders, prompts: most texts)
    # Without stored facts (a row planned before they were kept), the row's session stands in.
    at = ""
    if facts.starts_at:
        at = format_text_when(facts.starts_at, zone, locale=locale, weekday=named)
    if facts.kind == "series_changed":
        count = stored.get("count", facts.session_count)
        return {"session_count": count, "last_when": when("last") or at}
    return {"visits": int(stored.get("count") or 1), "when": when("first") or at}


def _instant(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


def choose_prompt(
    problem_area: str, number: int, session_count: int, used_ids: list[str], seed: int
) -> tuple[str, str]:
    """(prompt id, text) for the week after session `number`, not repeating `used_ids`."""
    library = prompt_library()
    area = problem_area if problem_area in library.areas else GENERAL_AREA
    number = min(max(number, 1), session_count)  # a make-up past a shortened course stays valid
    prompt = library.choose(area, phase_for(number, session_count), used_ids, seed)
    return prompt.id, prompt.text
