"""Who may see the clinical side of a course: measures, alerts, the course view and the report.

Measures, alerts, the course view and the outcomes report are clinical: the treating
therapist and admins only. The front desk learns that a measure is due and nothing else.
The rule for refusals is the practice's: a row outside the user's reach answers 404 (it is
not confirmed to exist); a clinical read or action on a row within reach answers 403.

These checks are kept in this one module so that they can move into the practice-wide
policy (services/access.py) as measure, alert and course rules in one step.
"""

from __future__ import annotations

from ..db.models import User
from .errors import Forbidden, NotFound

CLINICAL_REFUSAL = "measures, alerts and the course view are for the treating therapist and admins"


def in_reach(user: User, office_id: str, therapist_id: int) -> bool:
    """May `user` know this row exists (its schedule is theirs to see)?"""
    if user.role == "admin":
        return True
    if user.role == "therapist":
        return user.therapist_id is not None and user.therapist_id == therapist_id
    return user.may_see_office(office_id)


def sees_clinical(user: User, therapist_id: int) -> bool:
    """The treating therapist and admins read and write a course's clinical content."""
    if user.role == "admin":
        return True
    return user.role == "therapist" and user.therapist_id == therapist_id


def require_clinical(
    user: User, office_id: str, therapist_id: int, *, what: str, ident: object
) -> None:
    """NotFound outside the user's reach, Forbidden for the front desk within it."""
    if not in_reach(user, office_id, therapist_id):
        raise NotFound(what, ident)
    if not sees_clinical(user, therapist_id):
        raise Forbidden(CLINICAL_REFUSAL)


def require_in_reach(
    user: User, office_id: str, therapist_id: int, *, what: str, ident: object, field: str | None
) -> None:
    """NotFound (naming `field` when the id came in a body) unless the row is in reach."""
    if not in_reach(user, office_id, therapist_id):
        raise NotFound(what, ident, field=field)


def require_admin(user: User) -> None:
    if user.role != "admin":
        raise Forbidden("the course outcomes report is for admins")


def require_alert_reader(user: User) -> None:
    """Alerts are listed for therapists (their own) and admins (all), never the front desk."""
    if user.role not in ("admin", "therapist"):
        raise Forbidden(CLINICAL_REFUSAL)
