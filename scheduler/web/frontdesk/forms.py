"""The front desk's forms. Each carries a CSRF token; the services do the real validation."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from ...domain.languages import DEFAULT_LANGUAGE, LANGUAGE_NAMES
from ...domain.phases import PROBLEM_AREAS
from ...inputs import date_problem, int_problem, text_problem
from ...services.consent import CONSENT_SOURCES
from .present import PROBLEM_AREA_LABELS, US_ZONES, zone_name


def options(*pairs: tuple[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class Form(FlaskForm):
    """Every page form: scheduler/inputs.py's rules on each field, whatever the form declares.

    A textarea may hold line breaks; every other text field is one line. Dates stay within
    the years a practice books in, and numbers within a database integer.
    """

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for field in self:
            problem = _field_problem(field)
            if problem:
                field.errors = [*field.errors, problem]  # type: ignore[list-item]
                ok = False
        return ok


def _field_problem(field: Field) -> str | None:
    data = field.data
    if isinstance(data, str):
        return text_problem(data, multiline=isinstance(field, TextAreaField))
    if isinstance(data, bool):
        return None
    if isinstance(data, int):
        return int_problem(data)
    if isinstance(data, date):
        return date_problem(data)
    return None


CANCELLED_BY = options(("client", "The client"), ("practice", "The practice"))


class SignInForm(Form):
    email = StringField(
        "Email",
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class EmptyForm(Form):
    """Only the CSRF token: sign-out, feed-link rotation and other one-button actions."""


class BookingForm(Form):
    client_mode = RadioField(
        "Client",
        choices=options(("existing", "An existing client"), ("new", "A new client")),
        default="existing",
    )
    client_id = IntegerField("Client", validators=[Optional()])
    first_name = StringField("First name", validators=[Optional(), Length(max=100)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=100)])
    phone = StringField(
        "Mobile phone",
        validators=[Optional(), Length(max=40)],
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )
    client_timezone = SelectField(
        "Client's time zone",
        choices=options(("", "Same as the office"), *((z, zone_name(z)) for z in US_ZONES)),
        default="",
    )
    client_language = SelectField(
        "Texts in", choices=options(*LANGUAGE_NAMES.items()), default=DEFAULT_LANGUAGE
    )
    sms_consent = BooleanField("Agrees to text reminders")
    goal_prompt_consent = BooleanField("Agrees to weekly goal prompts by text")
    goal_detail_consent = BooleanField("Agrees that prompts may quote their own goal")
    confirm_duplicate = BooleanField(
        "This is another person sharing the phone (e.g. family): add a new record anyway"
    )
    location_id = SelectField("Office", validators=[DataRequired()])
    therapist_id = SelectField("Therapist", coerce=int, validators=[InputRequired()])
    room = SelectField("Room", validate_choice=False, default="")
    first_session_date = DateField("First session date", validators=[InputRequired()])
    start_time = TimeField("Start time (office local time)", validators=[InputRequired()])
    session_count = IntegerField(
        "Number of sessions (N)", default=16, validators=[InputRequired(), NumberRange(1, 99)]
    )
    duration_minutes = IntegerField(
        "Length in minutes", default=50, validators=[InputRequired(), NumberRange(15, 240)]
    )
    problem_area = SelectField(
        "IPT problem area",
        choices=options(
            ("", "Choose a problem area"), *((a, PROBLEM_AREA_LABELS[a]) for a in PROBLEM_AREAS)
        ),
        default="",
        validators=[DataRequired()],
    )
    # The services check these too (maintenance: 1-12 sessions); the form offers only what fits.
    kind = SelectField(
        "Kind of series",
        choices=options(
            ("acute", "IPT course (initial, middle and termination phases)"),
            ("maintenance", "Maintenance sessions after a course"),
        ),
        default="acute",
    )
    cadence_weeks = SelectField(
        "How often",
        choices=options(("1", "Every week"), ("2", "Every 2 weeks"), ("4", "Every 4 weeks")),
        coerce=int,
        default=1,
    )
    continues_series_id = IntegerField(
        "Continues the course", validators=[Optional()], widget=HiddenInput()
    )


class RescheduleForm(Form):
    new_date = DateField("Date", validators=[InputRequired()])
    new_time = TimeField("Start time (office local time)", validators=[InputRequired()])
    room = SelectField("Room", validate_choice=False, default="")
    therapist_id = SelectField("Therapist", coerce=int, validate_choice=False)


class CancelForm(Form):
    cancelled_by = RadioField("Who cancelled?", choices=CANCELLED_BY, validators=[InputRequired()])
    make_up = SelectField(
        "Make-up week",
        choices=options(
            ("", "The usual rule (practice: yes; client: no)"),
            ("yes", "Yes, add a make-up week"),
            ("no", "No make-up week"),
        ),
        default="",
    )
    reason = StringField("Reason (optional)", validators=[Optional(), Length(max=200)])


class AttendanceForm(Form):
    status = RadioField(
        "Attendance",
        choices=options(
            ("attended", "Attended"),
            ("no_show", "No-show"),
            ("late_cancelled", "Late cancel"),
        ),
        validators=[InputRequired()],
    )
    next = HiddenField()


class RenegotiateForm(Form):
    session_count = IntegerField(
        "New number of sessions (N)", validators=[InputRequired(), NumberRange(1, 99)]
    )


class CancelRestForm(Form):
    cancelled_by = RadioField("Who ended it?", choices=CANCELLED_BY, validators=[InputRequired()])
    reason = StringField("Reason (optional)", validators=[Optional(), Length(max=200)])
    confirm = BooleanField(
        "Yes, cancel every future session of this series", validators=[DataRequired()]
    )


class WeeklyGoalForm(Form):
    weekly_goal = TextAreaField(
        "Goal for the coming week",
        validators=[Optional(), Length(max=500)],
        description="Agreed in session; goal prompts quote it only with the client's consent.",
    )


class ClientForm(Form):
    """Contact and consents; only what differs from the record is sent to the service."""

    phone = StringField(
        "Mobile phone", validators=[DataRequired(), Length(max=40)], render_kw={"type": "tel"}
    )
    sms_consent = BooleanField("Agrees to text reminders")
    goal_prompt_consent = BooleanField("Agrees to weekly goal prompts by text")
    goal_detail_consent = BooleanField("Agrees that prompts may quote their own goal")
    language = SelectField(
        "Texts in", choices=options(*LANGUAGE_NAMES.items()), validators=[Optional()]
    )
    consent_source = SelectField(
        "How was a new consent given?",
        choices=options(
            ("", "Not needed / not given"),
            *((source, source.replace("_", " ").capitalize()) for source in CONSENT_SOURCES),
        ),
        default="",
    )
    consent_note = StringField(
        "Consent note (when, and who witnessed it)", validators=[Optional(), Length(max=500)]
    )
    # The number's opt-out, when the client asks by phone or in person instead of texting STOP.
    opt_out_number = BooleanField("Stop all texts to this number: the client asked us to")


class ReplyForm(Form):
    text = TextAreaField(
        "Reply by text",
        validators=[DataRequired(), Length(max=2000)],
        description="Sent from the office's number; at most 3 text messages long.",
    )


class ResolveForm(Form):
    note = TextAreaField("Note", validators=[Optional(), Length(max=1000)])


class AcknowledgeForm(Form):
    note = TextAreaField(
        "What was done",
        validators=[DataRequired(), Length(min=3, max=2000)],
        description="For example: called the client, safety plan reviewed, next contact agreed.",
    )


class HandoverForm(Form):
    """Start the in-office questionnaire; clinicians may add one the plan does not ask for."""

    phq9 = BooleanField("PHQ-9")
    gad7 = BooleanField("GAD-7")


class MeasurePlanForm(FlaskForm):
    """When questionnaires are due in a series, and whether the GAD-7 goes with the PHQ-9."""

    measure_schedule = SelectField(
        "PHQ-9 at",
        choices=options(
            ("standard", "Sessions 1, 4, 8, 12 and the last"),
            ("every_session", "Every session"),
            ("none", "None"),
        ),
        validators=[InputRequired()],
    )
    measure_gad7 = BooleanField("Also the GAD-7, at the same sessions")
