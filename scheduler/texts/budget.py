"""The segment budget: every kind of text, in every language, worded with the longest values.

`worst_cases` renders each template the way the dispatcher does (texts.wording) with the
longest realistic values: a 20-character first name (the cap in domain.sms), the longest office
name, the longest zone abbreviation, every weekday, two-digit days and 12:30 PM, and each prompt
of the library. tests/unit/test_text_budget.py holds it to `BUDGET`; bench/text_segments.py
prints the table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from ..domain.ipt import PHASES
from ..domain.languages import LANGUAGE_NAMES
from ..domain.sms import encoding_for, segment_count
from ..locations import Location, Practice
from ..package_data import templates_dir
from . import localized, wording

# Most segments each kind may take. Reminders and change notices are what every client gets
# every week; two segments is what the practice pays for at most.
BUDGET: dict[str, int] = {
    "reminder_24h": 2,
    "reminder_2h": 2,
    "session_changed": 2,
    "session_cancelled": 2,
    "series_changed": 2,
    "series_cancelled": 2,
    "goal_prompt": 2,
}
LONGEST_OFFICE = "Parsippany-Troy Hills"
LONG_FIRST_NAMES = ("Maria de los Angeles", "Maximiliana-Josephine")  # the second is cut to 20
LONG_GOAL = "Call my sister on Sunday and ask her to come along to the market next Saturday"
LONG_LINK = "https://scheduler.example-practice.org/m/" + "x" * 43
ZONE = "America/Anchorage"  # "AKDT": the longest abbreviation of a US zone
# Saturday 25 September 2027 to Friday 1 October 2027, 12:30 PM in Anchorage.
DAYS = tuple(datetime(2027, 9, 25, 20, 30, tzinfo=UTC) + timedelta(days=n) for n in range(7))


@dataclass(frozen=True)
class Sample:
    kind: str
    language: str
    text: str

    @property
    def encoding(self) -> str:
        return encoding_for(self.text)

    @property
    def segments(self) -> int:
        return segment_count(self.text)


def template_kinds() -> set[str]:
    """Every text template in templates/sms (each must have samples)."""
    return {p.stem for p in (templates_dir() / "sms").glob("*.txt")}


def _facts(
    kind: str, office: Location, practice: Practice, language: str
) -> list[wording.TextFacts]:
    base = wording.TextFacts(
        kind=kind,
        first_name=LONG_FIRST_NAMES[0],
        client_zone=ZONE,
        office=office,
        practice=practice,
        number=18,
        session_count=20,  # visit 18 of 20, 2 left
        link=LONG_LINK,
        language=language,
    )
    names = [replace(base, first_name=n) for n in LONG_FIRST_NAMES]
    if kind == "goal_prompt":
        library = wording.prompt_library()
        texts = sorted(
            {p.text for area in library.areas for ph in PHASES for p in library.cell(area, ph)}
        )
        return [
            replace(n, prompt_text=t, weekly_goal=g)
            for n in names
            for t in texts
            for g in (None, LONG_GOAL)
        ]
    return [
        replace(n, starts_at=day, notice=notice)
        for n in names
        for day in DAYS
        for notice in _notices(kind, day)
    ]


def _notices(kind: str, day: datetime) -> list[dict[str, object] | None]:
    """The facts a notice of `kind` is worded from (texts.notices), at their longest."""
    at, week = day.isoformat(), timedelta(days=7)
    later, last = (day + timedelta(days=1)).isoformat(), (day + 19 * week).isoformat()
    if kind == "booking_confirmation":
        base = {"pattern": at, "first": at, "first_planned": at, "last": last, "count": 20}
        closed = [(day + n * week).date().isoformat() for n in (3, 5, 8, 9, 12)]
        return [
            base | {"cadence": 1},
            base
            | {"cadence": 4, "skipped": closed, "first_change": "moved", "first_moved_to": later},
            base
            | {"cadence": 1, "skipped": closed[:3], "first_change": "cancelled", "first": later},
        ]
    if kind == "session_changed":
        return [{"old": at, "new": later}, {"old": later, "new": at}]
    if kind == "session_cancelled":
        return [{"when": at}]
    if kind == "series_changed":
        return [{"count": 20, "last": at}]
    if kind == "series_cancelled":
        return [{"count": 1, "first": at}, {"count": 12, "first": at}]
    return [None]


def _replies(office: Location, practice: Practice, language: str) -> list[Sample]:
    phone = wording.office_phone(office)
    samples = []
    for kind in localized.REPLY_KINDS:
        days: tuple[datetime | None, ...] = DAYS if kind == "confirmed" else (None,)
        for day in days:
            values: dict[str, object] = {
                "office_phone": phone,
                "office_name": office.name,
                "practice_name": practice.name,
            }
            if day is not None:
                values.update(starts_at=day, zone=ZONE)
            text = localized.reply(kind, language, **values)
            samples.append(Sample(f"reply_{kind}", language, text))
    help_text = wording.help_reply(practice, office, language)
    samples.append(Sample("help", language, help_text))
    return samples


def worst_cases(office: Location, practice: Practice) -> list[Sample]:
    """Every template rendered with the longest values, in every language."""
    office = replace(office, name=LONGEST_OFFICE)
    samples: list[Sample] = []
    for language in LANGUAGE_NAMES:
        samples.extend(_replies(office, practice, language))
        for kind in sorted(template_kinds()):
            if kind.startswith("reply_") or kind == "help":
                continue
            for facts in _facts(kind, office, practice, language):
                samples.append(Sample(kind, language, wording.render(facts)))
    return samples


def worst_per_kind(samples: list[Sample]) -> dict[tuple[str, str], Sample]:
    """The sample with the most segments (then characters) for each (kind, language)."""
    worst: dict[tuple[str, str], Sample] = {}
    for s in samples:
        key = (s.kind, s.language)
        now = worst.get(key)
        if now is None or (s.segments, len(s.text)) > (now.segments, len(now.text)):
            worst[key] = s
    return worst
