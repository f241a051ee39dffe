"""Request bodies of the JSON API. The same models validate requests and feed the OpenAPI file."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from flask import request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ...domain.languages import Language
from ...domain.measures import Instrument, MeasureSchedule
from ...domain.phases import ProblemArea, SeriesKind
from ...inputs import date_problem, int_problem, text_problem, wall_time_problem
from ...services.errors import Invalid

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
LongName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254),
]
LocationId = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class Body(BaseModel):
    # strict: "16" is not 16 and "yes" is not true; unknown fields are a mistake worth naming.
    model_config = ConfigDict(strict=True, extra="forbid")
    # Fields whose text may span lines (notes, replies); every other text is one line.
    multiline: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _shared_input_rules(cls, value: Any, info: ValidationInfo) -> Any:
        """scheduler/inputs.py's rules, for every field of every body: no subclass can forget."""
        problem = _problem(value, multiline=info.field_name in cls.multiline)
        if problem:
            raise PydanticCustomError("input_rule", problem)
        return value


class TherapistIn(Body):
    name: LongName
    email: Email
    location_ids: list[LocationId] = Field(min_length=1)


class ClientIn(Body):
    first_name: Name
    last_name: Name
    phone: Annotated[str, StringConstraints(min_length=3, max_length=40)]
    home_location_id: LocationId
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    # The language texts and link pages are in (scheduler/domain/languages.py).
    language: Language = "en"
    sms_consent: bool
    goal_prompt_consent: bool = False
    goal_detail_consent: bool = False
    # A phone already on file answers 409 "duplicate" unless this says it is meant (families).
    confirm_duplicate: bool = False


class ClientMergeIn(Body):
    """Merge the record `from_client_id` into the one in the URL (admins)."""

    from_client_id: int


class SeriesIn(Body):
    client_id: int
    therapist_id: int
    location_id: LocationId
    first_session_date: date
    start_time: time
    session_count: int
    duration_minutes: int = 50
    problem_area: ProblemArea
    room: Annotated[str, StringConstraints(min_length=1, max_length=60)] | None = None
    closure_policy: Literal["skip", "reject"] = "skip"
    kind: SeriesKind = "acute"
    # Weeks between sessions; a maintenance series usually meets every 4 weeks.
    cadence_weeks: Literal[1, 2, 4] = 1
    continues_series_id: int | None = None
    # When questionnaires are due; default: standard for a course, every visit for maintenance.
    measure_schedule: MeasureSchedule | None = None
    measure_gad7: bool = False


Room = Annotated[str, StringConstraints(min_length=1, max_length=60)]


class SessionPatch(Body):
    """One kind of change per request: a move (new local time, room and/or therapist), a
    cancellation, attendance (attended, no_show, late_cancelled; "scheduled" undoes a mark
    recorded today), or the weekly goal."""

    multiline = frozenset({"weekly_goal"})

    starts_at_local: datetime | None = None
    room: Room | None = None
    therapist_id: int | None = None
    status: Literal["cancelled", "attended", "no_show", "late_cancelled", "scheduled"] | None = None
    cancelled_by: Literal["client", "practice"] | None = None
    make_up: bool | None = None
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None
    weekly_goal: Annotated[str, StringConstraints(max_length=500)] | None = None


class SessionMoveIn(Body):
    """A change to preview: a new local date and time, and/or another room (null: none in
    particular) or therapist. Nothing is saved."""

    starts_at_local: datetime | None = None
    room: Room | None = None
    therapist_id: int | None = None


class SeriesPatch(Body):
    """One change per request: N, cancelling the rest, or the measure plan (clinicians)."""

    session_count: int | None = None
    status: Literal["cancelled"] | None = None
    cancelled_by: Literal["client", "practice"] | None = None
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None
    measure_schedule: MeasureSchedule | None = None
    measure_gad7: bool | None = None


class MeasureIn(Body):
    """One completed questionnaire: every item's answer 0-3 in the published order."""

    instrument: Instrument
    answers: list[int] = Field(min_length=1, max_length=9)
    # The unscored last question ("how difficult have these problems made it..."), 0-3.
    difficulty: int | None = None


class AlertAcknowledgement(Body):
    """What was done about the alert."""

    multiline = frozenset({"note"})

    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]


def _problem(value: Any, *, multiline: bool) -> str | None:
    if isinstance(value, str):
        return text_problem(value, multiline=multiline)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int_problem(value)
    if isinstance(value, datetime | time):
        return wall_time_problem(value)
    if isinstance(value, date):
        return date_problem(value)
    if isinstance(value, list | tuple | set | frozenset):
        return next((p for v in value if (p := _problem(v, multiline=multiline))), None)
    return None


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M]) -> M:
    """Validate the JSON body against `model`, or raise Invalid naming each bad field."""
    if not request.is_json:
        raise Invalid({"body": "must be JSON (Content-Type: application/json)"})
    raw = request.get_data(cache=True)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise Invalid(_fields(exc)) from None


def _fields(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        if err["type"] == "json_invalid":
            loc = "body"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "is not a known field"
        elif err["type"] == "missing":
            message = "is required"
        elif err["type"] == "literal_error":
            # "Language must be 'en' or 'es'" rather than pydantic's "Input should be ...".
            message = f"must be {err.get('ctx', {}).get('expected', 'one of the allowed values')}"
        fields.setdefault(loc, message)
    return fields
