"""A small practice for the access tests: two offices, three therapists, five kinds of user.

Miami: therapist A treats client M (home Miami). Seattle: therapist B treats client S (home
Seattle). Therapist C works at both offices and treats no one. Each series has one session that
has already started (attendance can be recorded) and later ones; M's first session carries a
weekly goal. Inbox: M's reply to a goal prompt (Miami), a text from an unknown number (Miami),
S's free text (Seattle) and a text to no office's number (unrouted). M's started session has a
PHQ-9 whose item 9 opened an alert for therapist A.

The users: admin, an all-office desk user, a Miami-only desk user, therapist A and therapist B.
Test modules import the fixtures `world_fixture` (as `world`) and `apis_fixture` (as `apis`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from scheduler.db.models import Client, TherapySession
from scheduler.db.models.inbound import InboundMessage, InboxItem
from scheduler.services import feeds, inbox, measures
from scheduler.services.context import ServiceContext
from tests import factories
from tests.web.conftest import Api, make_user_token
from tests.web.inbound_support import new_sid, sent_goal_prompt
from tests.web.pages_support import sign_in

USERS = ("admin", "desk_all", "desk_miami", "ther_a", "ther_b")
GOAL = "Call my sister about Sunday dinner"
GOAL_REPLY = "I called her and we actually talked for an hour"
LATE_TEXT = "Running ten minutes late, sorry"
MISSING = 987654  # an id no row has


@dataclass
class World:
    ther_a: int
    ther_b: int
    ther_c: int
    client_m: int
    client_s: int
    series_m: int
    series_s: int
    started_m: int  # M's first session: already started, carries GOAL
    next_m: int  # M's second session: in the future
    started_s: int
    next_s: int
    next_m_date: str
    next_s_date: str
    first_date: str  # a free weekday for new bookings
    item_m_goal: int
    item_m_unknown: int
    item_s: int
    item_unrouted: int
    feed_token_a: str
    alert_m: int
    missing: int = MISSING
    emails: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def fill(self, template: str) -> str:
        return template.format(**{k: v for k, v in vars(self).items() if not isinstance(v, dict)})


def _start_now(db: Session, s: TherapySession, now: datetime) -> None:
    """Move a booked session to have started an hour ago (attendance needs a started one),
    or at the office's midnight if that was later: it stays on today's local date, which the
    day's lists show, whatever the hour the tests run at."""
    length = s.ends_at - s.starts_at
    zone = ZoneInfo(s.timezone)
    midnight = datetime.combine(now.astimezone(zone).date(), time(0), zone).astimezone(UTC)
    s.starts_at = max(now - timedelta(hours=1), midnight)
    s.ends_at = s.starts_at + length


def _text(
    db: Session, client: Client | None, office: str | None, body: str, at: datetime, kind: str
) -> InboxItem:
    message = InboundMessage(
        message_sid=new_sid(),
        from_number=client.phone if client else "+12065550999",
        to_number="+13055550131" if office == "miami" else "+12065550191",
        office_id=office,
        client_id=client.id if client else None,
        body=body,
        keyword="none",
        outcome="inbox",
        received_at=at,
    )
    db.add(message)
    db.flush()
    return inbox.open_item(
        db,
        office_id=office,
        kind=kind,
        summary=body,
        at=at,
        client_id=message.client_id,
        inbound_message_id=message.id,
    )


def build(db: Session, ctx: ServiceContext) -> World:
    now = datetime.now(UTC)
    today = now.date()
    # A Wednesday three to four weeks out: clear of the started sessions' moved slots.
    first = today + timedelta(days=21 + (2 - today.weekday()) % 7)
    ther_a = factories.therapist(db, ctx, "miami", name="Dr. Ana Alvarez")
    ther_b = factories.therapist(db, ctx, "seattle", name="Dr. Ben Brooks")
    ther_c = factories.therapist(db, ctx, "miami", "seattle", name="Dr. Cy Cole")
    client_m = factories.client(db, ctx, "miami", first_name="Mia", phone="+13055550142")
    client_s = factories.client(db, ctx, "seattle", first_name="Sam", phone="+12065550143")
    series_m = factories.series(
        db, ctx, office="miami", first=first, at=time(10), count=12,
        therapist_obj=ther_a, client_obj=client_m,
    )  # fmt: skip
    series_s = factories.series(
        db, ctx, office="seattle", first=first, at=time(17), count=12,
        therapist_obj=ther_b, client_obj=client_s,
    )  # fmt: skip
    sessions_m = sorted(series_m.sessions, key=lambda s: s.starts_at)
    sessions_s = sorted(series_s.sessions, key=lambda s: s.starts_at)
    _start_now(db, sessions_m[0], now)
    _start_now(db, sessions_s[0], now)
    sessions_m[0].weekly_goal = GOAL
    db.flush()
    sent_goal_prompt(db, client_m, sessions_m[0], sent_at=now - timedelta(minutes=30))
    item_m_goal = _text(db, client_m, "miami", GOAL_REPLY, now - timedelta(minutes=5), "free_text")
    item_m_unknown = _text(db, None, "miami", "Who is this?", now, "unknown_sender")
    item_s = _text(db, client_s, "seattle", LATE_TEXT, now, "free_text")
    item_unrouted = _text(db, None, None, "Sent to nowhere", now, "unrouted")
    feed_token_a = feeds.rotate_token(db, ctx, "therapist", ther_a.id, actor="test")
    risky = [0] * 8 + [1]  # PHQ-9 item 9 "Several days": the safe path's alert
    recorded = measures.record(
        db, ctx, sessions_m[0].id, "phq9", risky, source="staff", actor="test"
    )
    assert recorded.alert is not None
    db.commit()
    world = World(
        ther_a=ther_a.id,
        ther_b=ther_b.id,
        ther_c=ther_c.id,
        client_m=client_m.id,
        client_s=client_s.id,
        series_m=series_m.id,
        series_s=series_s.id,
        started_m=sessions_m[0].id,
        next_m=sessions_m[1].id,
        started_s=sessions_s[0].id,
        next_s=sessions_s[1].id,
        next_m_date=sessions_m[1].local_date.isoformat(),
        next_s_date=sessions_s[1].local_date.isoformat(),
        first_date=(first + timedelta(days=1)).isoformat(),
        item_m_goal=item_m_goal.id,
        item_m_unknown=item_m_unknown.id,
        item_s=item_s.id,
        item_unrouted=item_unrouted.id,
        feed_token_a=feed_token_a,
        alert_m=recorded.alert.id,
    )
    accounts: dict[str, tuple[str, dict[str, Any]]] = {
        "admin": ("admin", {}),
        "desk_all": ("front_desk", {}),
        "desk_miami": ("front_desk", {"office_ids": ["miami"]}),
        "ther_a": ("therapist", {"therapist_id": ther_a.id}),
        "ther_b": ("therapist", {"therapist_id": ther_b.id}),
    }
    for name, (role, extra) in accounts.items():
        email = f"{name.replace('_', '-')}@access.test"
        world.emails[name] = email
        world.tokens[name] = make_user_token(db, email, role, **extra)
    return world


def page_clients(app: Flask, world: World) -> dict[str, FlaskClient]:
    """One signed-in browser per user (CSRF is checked by its own tests, not here)."""
    app.config["WTF_CSRF_ENABLED"] = False
    found = {}
    for name in USERS:
        browser = app.test_client()
        response = sign_in(browser, world.emails[name])
        assert response.status_code == 302, (name, response.status_code)
        found[name] = browser
    return found


@pytest.fixture(name="world")
def world_fixture(db: Session, ctx: ServiceContext) -> World:
    return build(db, ctx)


@pytest.fixture(name="apis")
def apis_fixture(client: FlaskClient, world: World) -> dict[str, Api]:
    """Each user's bearer-token API client."""
    return {user: Api(client, token) for user, token in world.tokens.items()}
