"""An office's week is served from the render cache only while every row it shows is unchanged.

With real commits (a scratch PostgreSQL database of its own, `pg_support`): the week is read,
something it shows is changed the way the practice changes it (the desk, the worker's send,
an inbound STOP, a questionnaire, a raw UPDATE), and the next read must answer exactly what an
app without the cache answers, and no longer what it answered before. Readers with different
reach never share an entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from scheduler.config import Settings
from scheduler.db.models import Client, MeasureResponse, OutboundMessage, Series, TherapySession
from scheduler.services import accounts, phone_consent, session_changes, session_reads
from scheduler.web import create_app
from scheduler.wiring import Container, build
from tests import factories
from tests.integration.pg_support import ROOT, book, engine, pg_url  # noqa: F401  (fixtures)

# Each test books into a week of its own, twelve weeks after the last test's (its series of 8
# reach no further): the scratch database is the module's, and its rows stay.
MONDAY = date(2027, 3, 1)


@dataclass
class Practice:
    container: Container
    cached: Flask
    uncached: Flask
    tokens: dict[str, str]
    therapist_id: int
    clients: list[int]
    sessions: list[int]  # each client's session in the week
    monday: date

    @property
    def week(self) -> str:
        sunday = self.monday + timedelta(days=6)
        return f"/api/v1/sessions?location_id=seattle&from={self.monday}&to={sunday}"

    def read(self, reader: str = "admin", *, app: Flask | None = None) -> bytes:
        answer = (
            (app or self.cached)
            .test_client()
            .get(self.week, headers={"Authorization": f"Bearer {self.tokens[reader]}"})
        )
        assert answer.status_code == 200, answer.data
        return answer.get_data()

    def fresh(self, reader: str = "admin") -> bytes:
        return self.read(reader, app=self.uncached)

    def change(self, write: Callable[[Session, Practice], Any]) -> None:
        with self.container.sessions.begin() as db:
            write(db, self)


@pytest.fixture
def practice(pg_url: str, engine: Any, book: Any) -> Iterator[Practice]:  # noqa: F811
    settings = replace(
        Settings(),
        database_url=pg_url,
        secret_key="test-secret-key-0123456789",
        locations_file=ROOT / "locations.yaml",
    )
    container = build(settings, locations=book, engine=engine)
    ctx = container.ctx
    n = next(_numbers)
    monday = MONDAY + timedelta(weeks=12 * n)
    wednesday = monday + timedelta(days=2)
    with container.sessions.begin() as db:
        therapist = factories.therapist(db, ctx, "seattle")
        other = factories.therapist(db, ctx, "seattle")
        booked = [
            factories.series(db, ctx, first=wednesday, at=time(9 + i), therapist_obj=who, count=8)
            for i, who in enumerate((therapist, therapist, other))
        ]
        tokens = {}
        for reader, role, extra in (
            ("admin", "admin", {}),
            ("desk", "front_desk", {"office_ids": ["seattle"]}),
            ("therapist", "therapist", {"therapist_id": therapist.id}),
        ):
            email = f"{reader}{n}@test.invalid"
            accounts.create_user(db, email=email, role=role, password="correct-horse-1", **extra)
            tokens[reader] = accounts.create_token(db, email)
        ids = (therapist.id, [s.client_id for s in booked], [s.sessions[0].id for s in booked])
    cached = create_app(container=container)
    uncached = create_app(container=replace_settings(container, render_cache_mb=0))
    yield Practice(container, cached, uncached, tokens, *ids, monday)


_numbers = iter(range(1000))


def replace_settings(container: Container, **changes: Any) -> Container:
    return replace(container, settings=replace(container.settings, **changes))


def test_the_same_week_asked_again_is_not_rendered_again(practice, monkeypatch):
    first = practice.read()
    rendered = []
    real = session_reads.between
    monkeypatch.setattr(
        session_reads, "between", lambda *a, **k: rendered.append(1) or real(*a, **k)
    )
    assert practice.read() == first == practice.fresh()
    # The uncached app rendered; the cached one answered from what it kept.
    assert len(rendered) == 1
    assert len(practice.cached.extensions["ipt_renders"]) == 1
    assert len(practice.uncached.extensions["ipt_renders"]) == 0


def _move(db: Session, p: Practice) -> None:
    db.execute(
        update(TherapySession).where(TherapySession.id == p.sessions[0]).values(room="Room 9")
    )


def _cancel(db: Session, p: Practice) -> None:
    session_changes.cancel(
        db, p.container.ctx, p.sessions[1], cancelled_by="client", actor="desk@test.invalid"
    )


def _goal(db: Session, p: Practice) -> None:
    session_changes.set_weekly_goal(db, p.sessions[0], "call my sister", actor="t@test.invalid")


def _text_sent(db: Session, p: Practice) -> None:
    # What the worker's send records: a reminder left.
    db.execute(
        update(OutboundMessage)
        .where(OutboundMessage.session_id == p.sessions[0], OutboundMessage.kind == "reminder_24h")
        .values(status="sent", sent_at=datetime.now(UTC))
    )


def _stop(db: Session, p: Practice) -> None:
    phone = db.get(Client, p.clients[2]).phone  # type: ignore[union-attr]
    phone_consent.opt_out(db, phone, at=datetime.now(UTC), source="sms_keyword")


def _consent_withdrawn(db: Session, p: Practice) -> None:
    db.execute(update(Client).where(Client.id == p.clients[1]).values(sms_consent=False))


def _questionnaire(db: Session, p: Practice) -> None:
    session = db.get(TherapySession, p.sessions[0])
    assert session is not None
    db.add(
        MeasureResponse(
            session_id=session.id,
            series_id=session.series_id,
            client_id=p.clients[0],
            instrument="phq9",
            answers=[0] * 9,
            score=0,
            severity="minimal",
            source="office",
        )
    )


def _series_shortened(db: Session, p: Practice) -> None:
    series_id = db.get(TherapySession, p.sessions[2]).series_id  # type: ignore[union-attr]
    db.execute(update(Series).where(Series.id == series_id).values(session_count=14))


def _booked(db: Session, p: Practice) -> None:
    ctx = p.container.ctx
    therapist = factories.therapist(db, ctx, "seattle")
    first = p.monday + timedelta(days=3)
    factories.series(db, ctx, first=first, at=time(15), therapist_obj=therapist, count=8)


def _left_the_week(db: Session, p: Practice) -> None:
    db.execute(
        update(TherapySession).where(TherapySession.id == p.sessions[2]).values(office_id="dallas")
    )


CHANGES = {
    "a session's room": _move,
    "a session cancelled": _cancel,
    "a weekly goal": _goal,
    "a reminder sent": _text_sent,
    "the number texted STOP": _stop,
    "consent withdrawn": _consent_withdrawn,
    "a questionnaire answered": _questionnaire,
    "the series shortened": _series_shortened,
    "a new series booked into the week": _booked,
    "a session left the office": _left_the_week,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_any_change_to_what_the_week_shows_is_served_at_once(practice, change):
    for reader in ("admin", "desk", "therapist"):
        practice.read(reader)  # kept
    before = practice.read()
    practice.change(change)
    for reader in ("admin", "desk", "therapist"):
        assert practice.read(reader) == practice.fresh(reader), reader
    assert practice.read() != before


def test_readers_with_different_reach_never_share_an_entry(practice):
    practice.change(_goal)
    admin = practice.read("admin")
    desk = practice.read("desk")
    therapist = practice.read("therapist")
    assert b"call my sister" in admin  # admins see clinical fields
    assert b"call my sister" not in desk  # the desk never does
    assert b"call my sister" in therapist  # the treating therapist does
    assert therapist != admin  # the other therapist's client is not theirs to list
    for reader, seen in (("admin", admin), ("desk", desk), ("therapist", therapist)):
        assert seen == practice.fresh(reader)
    assert len(practice.cached.extensions["ipt_renders"]) == 3


def test_a_transaction_that_wrote_gets_no_fingerprint(practice):
    start = datetime.combine(practice.monday, time(8), UTC)
    end = start + timedelta(days=7)
    practice.read()  # the token's first use is marked (a write): done, for a minute
    with practice.container.sessions() as db:
        user = accounts.user_for_token(db, practice.tokens["admin"])
        assert user is not None
        where = {"start": start, "end": end, "office_id": "seattle"}
        assert session_reads.between_version(db, user, **where) is not None
        _move(db, practice)
        assert session_reads.between_version(db, user, **where) is None
        db.rollback()
