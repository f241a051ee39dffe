"""Symptom measures: the PHQ-9 and GAD-7 as published, their scoring, and the measure plan.

Both instruments were developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke
and colleagues with an educational grant from Pfizer Inc.; no permission is required to
reproduce, translate, display or distribute them. Their wording, answer options and
severity bands must stay exactly as published, so they are written out here once and every
form, API answer and chart reads them from this module.

Pure: no IO, no framework imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

Instrument = Literal["phq9", "gad7"]
INSTRUMENTS: tuple[Instrument, ...] = ("phq9", "gad7")
# When measures are asked for in a series: the standard points (1, 4, 8, 12 and the last),
# every session, or not at all.
MeasureSchedule = Literal["standard", "every_session", "none"]
MEASURE_SCHEDULES: tuple[MeasureSchedule, ...] = ("standard", "every_session", "none")
STANDARD_POINTS: tuple[int, ...] = (1, 4, 8, 12)

FREQUENCY_OPTIONS: tuple[str, ...] = (
    "Not at all",
    "Several days",
    "More than half the days",
    "Nearly every day",
)
DIFFICULTY_OPTIONS: tuple[str, ...] = (
    "Not difficult at all",
    "Somewhat difficult",
    "Very difficult",
    "Extremely difficult",
)
DIFFICULTY_QUESTION = (
    "If you checked off any problems, how difficult have these problems made it for you to do "
    "your work, take care of things at home, or get along with other people?"
)


@dataclass(frozen=True)
class Band:
    """A severity band: scores from `low` to `high` inclusive."""

    low: int
    high: int
    label: str


@dataclass(frozen=True)
class InstrumentSpec:
    code: Instrument
    name: str  # for clinicians only; never shown on a client's form
    stem: str
    items: tuple[str, ...]
    bands: tuple[Band, ...]

    @property
    def max_score(self) -> int:
        return 3 * len(self.items)


PHQ9 = InstrumentSpec(
    code="phq9",
    name="PHQ-9",
    stem=(
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    ),
    items=(
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself \u2014 or that you are a failure or have let yourself or "
        "your family down",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite "
        "\u2014 being so fidgety or restless that you have been moving around a lot more than "
        "usual",
        "Thoughts that you would be better off dead or of hurting yourself in some way",
    ),
    bands=(
        Band(0, 4, "minimal"),
        Band(5, 9, "mild"),
        Band(10, 14, "moderate"),
        Band(15, 19, "moderately severe"),
        Band(20, 27, "severe"),
    ),
)

GAD7 = InstrumentSpec(
    code="gad7",
    name="GAD-7",
    stem="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=(
        "Feeling nervous, anxious or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid as if something awful might happen",
    ),
    bands=(
        Band(0, 4, "minimal"),
        Band(5, 9, "mild"),
        Band(10, 14, "moderate"),
        Band(15, 21, "severe"),
    ),
)

SPECS: dict[str, InstrumentSpec] = {"phq9": PHQ9, "gad7": GAD7}
# PHQ-9 item 9 (thoughts of being better off dead or of self-harm), zero-based.
PHQ9_RISK_ITEM = 8


class AnswersInvalid(ValueError):
    """Answers that do not fit the instrument; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Scored:
    instrument: Instrument
    answers: tuple[int, ...]
    score: int
    severity: str
    # True when the answers signal risk: PHQ-9 item 9 above "Not at all".
    risk: bool


def spec(instrument: str) -> InstrumentSpec:
    found = SPECS.get(instrument)
    if found is None:
        raise AnswersInvalid("instrument", f"must be one of {', '.join(INSTRUMENTS)}")
    return found


def severity(instrument: str, score: int) -> str:
    """The published severity band of a total score."""
    for band in spec(instrument).bands:
        if band.low <= score <= band.high:
            return band.label
    raise AnswersInvalid("score", f"{score} is outside 0..{spec(instrument).max_score}")


def score(instrument: str, answers: Sequence[object]) -> Scored:
    """Score one completed questionnaire: every item answered 0-3, no more, no fewer."""
    found = spec(instrument)
    if isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
        raise AnswersInvalid("answers", "must be a list of numbers")
    if len(answers) != len(found.items):
        raise AnswersInvalid(
            "answers", f"{found.name} has {len(found.items)} items, got {len(answers)} answers"
        )
    values: list[int] = []
    for index, value in enumerate(answers):
        # bool is an int in Python; true/false is not an answer to a frequency question.
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3:
            raise AnswersInvalid(f"answers.{index}", "must be 0, 1, 2 or 3")
        values.append(value)
    total = sum(values)
    risk = instrument == "phq9" and values[PHQ9_RISK_ITEM] > 0
    return Scored(found.code, tuple(values), total, severity(instrument, total), risk)


def check_difficulty(value: object) -> int | None:
    """The optional unscored difficulty answer: None, or 0-3."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3:
        raise AnswersInvalid("difficulty", "must be 0, 1, 2 or 3")
    return value


@cache  # a handful of (schedule, count) pairs; a week's list asks for every session
def measure_points(schedule: MeasureSchedule, session_count: int) -> tuple[int, ...]:
    """Session numbers at which measures are due in a series of `session_count` sessions."""
    if schedule == "none" or session_count < 1:
        return ()
    if schedule == "every_session":
        return tuple(range(1, session_count + 1))
    points = {p for p in STANDARD_POINTS if p <= session_count} | {session_count}
    return tuple(sorted(points))


def planned_instruments(
    schedule: MeasureSchedule, gad7: bool, number: int, session_count: int
) -> tuple[Instrument, ...]:
    """The instruments due at session `number` (the PHQ-9, and the GAD-7 if the series has it)."""
    if number not in measure_points(schedule, session_count):
        return ()
    return ("phq9", "gad7") if gad7 else ("phq9",)
