"""The desk's pages that list sessions' texts show the text states `text_states` reads, from
those texts (`states_from_texts`), and "measure due" from the measures loaded with their
sessions: neither read of their own runs (the day sheet, the series page, the session page).
"""

from __future__ import annotations

import html
import re
from collections import Counter

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from scheduler.db.models import Series, TherapySession
from scheduler.services.context import ServiceContext
from scheduler.services.queries import local_day_bounds
from scheduler.services.text_state import TEXT_STATES, text_states
from tests.integration.test_week_reads import FIRST, _every_state, statements
from tests.web.pages_support import sign_in, staff

# A text-state cell: its state and its one-line detail (templates/pages/_macros.html).
_CELL = re.compile(r'class="text-state ts-(\w+)">.*?<p class="ts-detail">(.*?)</p>', re.S)
# What `text_states` and `measures.answered` send: neither may run on these pages.
_OWN_READS = ("AS sid", "SELECT measures.session_id")


@pytest.fixture
def desk(client: FlaskClient, db: Session) -> FlaskClient:
    staff(db, "desk.states@test.invalid")
    assert sign_in(client, "desk.states@test.invalid").status_code == 302
    return client


def _shown(desk: FlaskClient, engine: Engine, path: str) -> Counter[tuple[str, str]]:
    with statements(engine) as seen:
        page = desk.get(path)
    assert page.status_code == 200, path
    own = [s for s in seen if any(mark in s for mark in _OWN_READS)]
    assert own == [], f"{path} read again: {own}"
    body = page.get_data(as_text=True)
    return Counter((state, html.unescape(detail)) for state, detail in _CELL.findall(body))


def _read(db: Session, sessions: list[TherapySession]) -> Counter[tuple[str, str]]:
    return Counter((t.state, t.detail) for t in text_states(db, sessions).values())


def test_desk_pages_show_the_states_text_states_reads_without_reading_them_again(
    db: Session, ctx: ServiceContext, engine: Engine, desk: FlaskClient
) -> None:
    _every_state(db, ctx)
    start, end = local_day_bounds(ctx.locations.get("seattle").timezone, FIRST, FIRST)
    on_the_day = TherapySession.starts_at >= start, TherapySession.starts_at < end
    day = list(db.scalars(select(TherapySession).where(*on_the_day)))
    assert len(day) == 4  # each client's first session: their first measure is planned there
    path = f"/offices/seattle/day?date={FIRST.isoformat()}"
    sheet = _shown(desk, engine, path)
    assert sheet == _read(db, day)
    assert "measure due" in desk.get(path).get_data(as_text=True)
    seen = set(sheet)
    for series in db.scalars(select(Series).where(Series.id.in_({s.series_id for s in day}))):
        sessions = list(series.sessions)
        listed = _shown(desk, engine, f"/series/{series.id}")
        assert listed == _read(db, sessions)
        seen |= set(listed)
        for s in sessions[:5]:
            assert _shown(desk, engine, f"/sessions/{s.id}") == _read(db, [s])
    assert {state for state, _ in seen} == set(TEXT_STATES)
