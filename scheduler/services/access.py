"""Who reaches which row, and what each role may do with it: one policy for the API and the pages.

Every surface asks the same two questions, in this order:

1. **Reach** (`can_read`, the `*_filter` clauses for lists and searches, and one row by id
   through `visible_rows.get_visible`): may this user know that the row exists? Outside its
   reach a row answers 404 with the same body as a row that does not exist, so no surface
   confirms what it hides.
2. **Action** (`can`, `authorize`): may this user do `action` to a row it reaches? If not, 403.

What each role reaches:

- ``admin``: everything, including texts that reached no office (unrouted inbox items).
- ``front_desk``: its assigned offices (every office when none is assigned); the clients whose
  home office or any series is at one of them; the therapists who work at one of them (listed
  there, or holding a series there); the series, sessions and inbox items of those offices.
- ``therapist``: the series it treats, their sessions and clients, any single session it was
  given to cover, and itself. Nothing office-wide: no day sheets, inboxes or office feeds.

Offices themselves (name, address, hours) are the practice's public directory: every user
reads them, so an office the user may not work at answers 403, never 404.

Clinical content (weekly goals, the client's replies to goal prompts and their text, ratings,
weekly reviews, and from issue 12 measures, alerts and the course view) is for admins and the
treating therapist only (`clinical_visible`). The front desk never gets it: the API leaves
those fields out (absent, not null), pages do not render them, and clinical actions answer 403.

What an inbox item shows the front desk: kind, time, office, client, session, the sender's
number, the resolution note, and the text of the message, because the inbox is where the desk
acts on what clients send to the office (a reschedule request, "running late", an unknown
number). The one exception is a reply to a weekly goal prompt (`review.goal_replies`): those
words are clinical, so the desk sees that the client replied and when, and the words go to the
treating therapist's weekly review.

Feed URLs are shown only to users who may rotate them (action ``rotate_feed``): an office's
to staff of that office; a therapist's to the therapist, admins and desk staff whose offices
cover every office the therapist works at; a client's to admins and desk staff whose offices
cover every office the client is treated at (a feed shows every session of its owner, so a
one-office desk must not get a window onto the others).

Extending it: add the action's name to `Action` and one `@_rule("name")` function below; give
new kinds of row a branch in `can_read` and a `*_filter`. Later features use the same entry
points: e.g. inbox replies are ``work_inbox`` on the item, a client merge is ``merge_clients``
(admins), measures and alerts are ``read_clinical`` on the series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true, union
from sqlalchemy.orm import Session

from ..db.models import Client, Series, Therapist, TherapySession, User, therapist_offices
from ..db.models.inbound import InboxItem
from ..locations import Location
from .errors import Forbidden, NotFound
from .queries import client_office_ids, therapist_office_ids
from .session_view import AnySession, SessionView

Action = Literal[
    "use_front_desk",  # the desk's tools: client search, therapist list, booking form
    "view_schedule",  # an office's day, week and session list
    "book",  # book a series at an office
    "add_client",  # create a client whose home is an office
    "add_therapist",  # create a therapist working at offices (a list of office ids)
    "edit_client",  # phone and consents
    "change_schedule",  # reschedule, cancel, renegotiate N, cancel the rest
    "mark_attendance",  # attended / no-show
    "read_clinical",  # goals, replies, ratings, reviews (issue 12: measures, alerts, course)
    "write_clinical",  # set a weekly goal
    "rotate_feed",  # see and reissue a feed URL (therapist, client or office id)
    "work_inbox",  # list an office's inbox, resolve an item (issue 11: reply)
    "read_audit",  # who viewed a client
    "merge_clients",  # issue 11: fold one client record into another
    "hand_over_measure",  # issue 12: give the client the in-office questionnaire (a session)
    "list_alerts",  # issue 12: open alerts (a therapist's own; admins all)
    "read_reports",  # issue 12: course outcomes per office and therapist
]

DESK_ROLES = ("admin", "front_desk")

# Rows the policy knows; an office is given as its id.
Row = Client | Therapist | Series | TherapySession | InboxItem
_Model = TypeVar("_Model", Client, Therapist, Series, TherapySession, InboxItem)

# What a 404 calls each kind of row (the same words whether it is hidden or missing).
ROW_NAMES: dict[type[Any], str] = {
    Client: "client",
    Therapist: "therapist",
    Series: "series",
    TherapySession: "session",
    InboxItem: "inbox item",
}


@dataclass(frozen=True)
class Reach:
    """The part of the practice a user reaches, as data (see the module docstring)."""

    role: str
    # None: every office. Therapists reach no office as a whole: an empty set.
    offices: frozenset[str] | None
    # The therapist a therapist user is; None for other roles (and unlinked therapist users).
    therapist_id: int | None

    @property
    def desk(self) -> bool:
        return self.role in DESK_ROLES

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    def office(self, office_id: str | None) -> bool:
        """Does this user work at `office_id` (an office's schedule, inbox, feed)?"""
        if office_id is None or not self.desk:
            return False
        return self.offices is None or office_id in self.offices

    def covers(self, office_ids: Iterable[str]) -> bool:
        return all(self.office(o) for o in office_ids)


def reach(user: User) -> Reach:
    if user.role == "admin":
        return Reach("admin", None, None)
    if user.role == "front_desk":
        assigned = frozenset(o.id for o in user.offices)
        return Reach("front_desk", assigned or None, None)
    if user.role == "therapist":
        return Reach("therapist", frozenset(), user.therapist_id)
    return Reach(user.role, frozenset(), None)  # an unknown role reaches nothing


# --- reach as SQL: lists and searches filter in the query ------------------------------------


def _treated_by(therapist_id: int) -> Any:
    return select(Series.id).where(Series.therapist_id == therapist_id)


def client_filter(user: User) -> ColumnElement[bool]:
    # A record merged into another is history: nobody reaches it (it answers 404).
    return and_(Client.merged_into_id.is_(None), _client_reach(user))


def _client_reach(user: User) -> ColumnElement[bool]:
    r = reach(user)
    if r.desk and r.offices is None:
        return true()
    if r.desk:
        assert r.offices is not None
        treated_here = select(Series.client_id).where(Series.office_id.in_(r.offices))
        return or_(Client.home_office_id.in_(r.offices), Client.id.in_(treated_here))
    if r.therapist_id is not None:
        return Client.id.in_(select(Series.client_id).where(Series.therapist_id == r.therapist_id))
    return false()


def therapist_filter(user: User) -> ColumnElement[bool]:
    r = reach(user)
    if r.desk and r.offices is None:
        return true()
    if r.desk:
        assert r.offices is not None
        listed = select(therapist_offices.c.therapist_id).where(
            therapist_offices.c.office_id.in_(r.offices)
        )
        treating = select(Series.therapist_id).where(Series.office_id.in_(r.offices))
        return Therapist.id.in_(union(listed, treating))
    if r.therapist_id is not None:
        return Therapist.id == r.therapist_id
    return false()


def series_filter(user: User) -> ColumnElement[bool]:
    r = reach(user)
    if r.desk:
        return true() if r.offices is None else Series.office_id.in_(r.offices)
    if r.therapist_id is not None:
        return Series.therapist_id == r.therapist_id
    return false()


def session_filter(user: User) -> ColumnElement[bool]:
    r = reach(user)
    if r.desk:
        return true() if r.offices is None else TherapySession.office_id.in_(r.offices)
    if r.therapist_id is not None:
        return or_(
            TherapySession.therapist_id == r.therapist_id,
            TherapySession.series_id.in_(_treated_by(r.therapist_id)),
        )
    return false()


def inbox_filter(user: User) -> ColumnElement[bool]:
    r = reach(user)
    if r.admin:
        return true()
    if r.desk:  # clinical items (a measure's alert) are the admins' alone
        here = true() if r.offices is None else InboxItem.office_id.in_(r.offices)
        return and_(InboxItem.office_id.is_not(None), here, InboxItem.admins_only.is_(False))
    return false()


_FILTERS: dict[type[Any], Callable[[User], ColumnElement[bool]]] = {
    Client: client_filter,
    Therapist: therapist_filter,
    Series: series_filter,
    TherapySession: session_filter,
    InboxItem: inbox_filter,
}


def visible(user: User, model: type[Row]) -> ColumnElement[bool]:
    """The WHERE clause that keeps only the rows of `model` this user reaches."""
    return _FILTERS[model](user)


# --- reach of single rows ----------------------------------------------------------------------


def can_read(db: Session, user: User, row: Row | str) -> bool:
    """Does `row` (or the office with this id) lie within this user's reach?"""
    if isinstance(row, str):
        return True  # offices are the practice's directory
    r = reach(user)
    if isinstance(row, Series):
        return r.office(row.office_id) if r.desk else row.therapist_id == r.therapist_id
    if isinstance(row, TherapySession):
        if r.desk:
            return r.office(row.office_id)
        return r.therapist_id is not None and r.therapist_id in (
            row.therapist_id,
            row.series.therapist_id,
        )
    if isinstance(row, InboxItem):
        return r.admin or (r.desk and r.office(row.office_id) and not row.admins_only)
    if isinstance(row, Client) and row.merged_into_id is not None:
        return False
    if r.desk and r.offices is None:
        return True
    return reaches(db, user, type(row), row.id)


def reaches(db: Session, user: User, model: type[Row], row_id: int) -> bool:
    """Does row `row_id` of `model` exist within this user's reach? (one EXISTS query)"""
    found = db.scalar(select(exists().where(model.id == row_id, visible(user, model))))
    return bool(found)


def sees_clinical_of_every_session(user: User) -> bool:
    """Whether every session this user reaches shows its clinical content (`clinical_visible`):
    true of admins, and of therapists, who reach only the sessions they or their series'
    therapist hold; never of the front desk. A read can name its audit action from this
    before it has the row."""
    r = reach(user)
    return r.admin or (r.therapist_id is not None and not r.desk)


def clinical_visible(user: User, row: Series | AnySession | InboxItem) -> bool:
    """Goals, replies, ratings, reviews: admins and the treating therapist only."""
    return clinical_visible_in(reach(user), row)


def clinical_visible_in(r: Reach, row: Series | AnySession | InboxItem) -> bool:
    """`clinical_visible` for a reach worked out once (a list asks it of every row)."""
    if r.admin:
        return True
    if r.therapist_id is None:
        return False
    if isinstance(row, Series):
        return row.therapist_id == r.therapist_id
    if isinstance(row, TherapySession | SessionView):
        return r.therapist_id in (row.therapist_id, row.series.therapist_id)
    return False  # therapists reach no inbox item; the review shows them the replies


# --- actions -----------------------------------------------------------------------------------

Rule = Callable[[Session, User, Any], bool]
_RULES: dict[str, Rule] = {}


def _rule(action: Action) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        _RULES[action] = fn
        return fn

    return register


def can(
    db: Session, user: User, action: Action, row: Row | str | Sequence[str] | None = None
) -> bool:
    """May this user take `action` on `row` (which it is assumed to reach)?"""
    return _RULES[action](db, user, row)


def authorize(
    db: Session, user: User, action: Action, row: Row | str | Sequence[str] | None = None
) -> None:
    """NotFound if `row` is outside the user's reach; Forbidden if the action is not allowed."""
    if isinstance(row, Row) and not can_read(db, user, row):
        raise NotFound(ROW_NAMES[type(row)], row.id)
    if not can(db, user, action, row):
        raise Forbidden(_REFUSALS.get(action, "your role may not do this"))


_REFUSALS: dict[str, str] = {
    "use_front_desk": "this is for front-desk staff",
    "view_schedule": "you do not work at this office",
    "book": "you may not book at this office",
    "add_client": "you may not add clients at this office",
    "add_therapist": "you may not add therapists at these offices",
    "edit_client": "only front-desk staff change contact details and consents",
    "change_schedule": "only front-desk staff change the schedule",
    "mark_attendance": "only front-desk staff and the session's therapist record attendance",
    "read_clinical": "clinical content is for the treating therapist",
    "write_clinical": "only the session's therapist may set its goal",
    "rotate_feed": "you may not manage this calendar link",
    "work_inbox": "you do not work this office's inbox",
    "read_audit": "only admins see who viewed a record",
    "merge_clients": "only admins merge client records",
    "hand_over_measure": "only staff of this office and the treating therapist hand it over",
    "list_alerts": "alerts are for the treating therapists and admins",
    "read_reports": "only admins see the course outcomes",
}


@_rule("use_front_desk")
def _use_front_desk(db: Session, user: User, row: Any) -> bool:
    return reach(user).desk


@_rule("view_schedule")
@_rule("book")
@_rule("add_client")
@_rule("work_inbox")
def _at_my_office(db: Session, user: User, row: Any) -> bool:
    """Office-wide work: at an office (id) the desk user is assigned to, or on its inbox item."""
    if isinstance(row, InboxItem):
        return can_read(db, user, row)
    return reach(user).office(row)


@_rule("add_therapist")
def _add_therapist(db: Session, user: User, row: Any) -> bool:
    return reach(user).covers(row or ()) and reach(user).desk


@_rule("edit_client")
@_rule("change_schedule")
def _desk_only(db: Session, user: User, row: Any) -> bool:
    return reach(user).desk


@_rule("mark_attendance")
def _mark_attendance(db: Session, user: User, row: Any) -> bool:
    return reach(user).desk or (isinstance(row, TherapySession) and clinical_visible(user, row))


@_rule("read_clinical")
@_rule("write_clinical")
def _clinical(db: Session, user: User, row: Any) -> bool:
    return isinstance(row, Series | TherapySession | InboxItem) and clinical_visible(user, row)


@_rule("read_audit")
@_rule("merge_clients")
@_rule("read_reports")
def _admin_only(db: Session, user: User, row: Any) -> bool:
    return reach(user).admin


@_rule("hand_over_measure")  # the desk hands over what is due; the therapist may ask more
def _hand_over_measure(db: Session, user: User, row: Any) -> bool:
    return isinstance(row, TherapySession) and (reach(user).desk or clinical_visible(user, row))


@_rule("list_alerts")
def _list_alerts(db: Session, user: User, row: Any) -> bool:
    return reach(user).admin or reach(user).therapist_id is not None


@_rule("rotate_feed")
def _rotate_feed(db: Session, user: User, row: Any) -> bool:
    r = reach(user)
    if isinstance(row, str):
        return r.office(row)
    if isinstance(row, Therapist):
        if r.therapist_id is not None:
            return row.id == r.therapist_id
        return r.admin or (r.desk and r.covers(therapist_office_ids(db, row.id)))
    if isinstance(row, Client):
        return r.admin or (r.desk and r.covers(client_office_ids(db, row)))
    return False


def visible_offices(user: User, offices: Iterable[Location]) -> list[Location]:
    """The offices whose schedule this user may open, in the order given."""
    r = reach(user)
    return [loc for loc in offices if r.office(loc.id)]
