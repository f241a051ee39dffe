"""Every readable route runs a number of SQL statements that does not grow with the rows shown.

Each GET route of the app (taken from its url_map, so a new one is covered or this fails) is
requested with the access table's paths, as an admin and as a one-office desk user, against
the small practice of `access_world`; then the practice grows (more therapists, clients,
series, sessions today, inbox items, texts, questionnaires with alerts) and every route is
asked again. The statement count must be the same both times and at most MAX_STATEMENTS.

Statements are counted with SQLAlchemy's before_cursor_execute event. The SAVEPOINTs that
stand in for the request's BEGIN/COMMIT inside a test's transaction are not counted (in
production they are the transaction's own begin and commit, which that event never sees).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from scheduler.services import feeds, measure_forms, measures
from scheduler.services.context import ServiceContext
from tests import factories
from tests.web.access_world import (
    World,
    _start_now,
    _text,
    page_clients,
    world_fixture,  # noqa: F401  (fixture `world`)
)
from tests.web.inbound_support import sent_goal_prompt
from tests.web.test_access_table import API, PAGES, Case, _call, _rolled_back, _Sample

MAX_STATEMENTS = 10
# Every office; one office (its user's offices are loaded); a therapist (clinical pages).
READERS = ("admin", "desk_miami", "ther_a")
# Answers that are not the app's own reads of the practice.
NOT_COUNTED = {"static", "api.openapi"}
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def readers(case: Case) -> list[str]:
    """Who of READERS gets this row's answer (200, or a redirect onward); nobody: []."""
    if case.method != "GET":
        return []
    answers = (200, 302, 503) if case.path == "/readyz" else (200, 302)  # no worker beats here
    return [u for u in READERS if case.statuses()[u] in answers]


# Routes the access table reads only with made-up tokens (404): read here with real ones,
# which `with_tokens` adds to the world.
BY_TOKEN = [
    Case("GET", "/feeds/locations/{feed_token_miami}.ics", "200 200 200 200 200"),
    Case("GET", "/feeds/clients/{feed_token_m}.ics", "200 200 200 200 200"),
    Case("GET", "/m/{form_token_m}", "200 200 200 200 200"),
]


def readable_cases(app: Flask) -> list[Case]:
    return [case for case in [*API, *PAGES, *BY_TOKEN] if readers(case)]


def with_tokens(db: Session, ctx: ServiceContext, world: World) -> World:
    """The world with a Miami feed, a feed of client M and M's in-office questionnaire."""
    tokens = {
        "feed_token_miami": feeds.rotate_token(db, ctx, "location", "miami", actor="test"),
        "feed_token_m": feeds.rotate_token(db, ctx, "client", world.client_m, actor="test"),
        "form_token_m": measure_forms.start_handover(
            db, ctx, world.started_m, instruments=["gad7"], actor="test"
        ),
    }
    db.commit()
    for name, token in tokens.items():
        setattr(world, name, token)
    return world


def test_every_get_route_has_a_readable_row(app: Flask) -> None:
    """A GET route no reader reads in the access table would escape the count."""
    adapter = app.url_map.bind("localhost")
    covered = {
        adapter.match(case.path.split("?")[0].format_map(_Sample()), method="GET")[0]
        for case in readable_cases(app)
    }
    routes = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.endpoint not in NOT_COUNTED
    }
    assert sorted(routes - covered) == []


def grow(db: Session, ctx: ServiceContext, world: World, per_office: int) -> None:
    """More of everything the lists show, in both offices the world uses."""
    now = datetime.now(UTC)
    first = datetime.fromisoformat(world.first_date).date() + timedelta(days=1)
    for office, area in (("miami", "305"), ("seattle", "206")):
        therapist = factories.therapist(db, ctx, office, name=f"Dr. More {office}")
        for i in range(per_office):
            client = factories.client(
                db, ctx, office, first_name="Casey", phone=f"+1{area}555{160 + i:04d}"
            )
            series = factories.series(
                db, ctx, office=office, first=first, at=time(8 + 2 * i), count=12,
                therapist_obj=therapist, client_obj=client,
            )  # fmt: skip
            sessions = sorted(series.sessions, key=lambda s: s.starts_at)
            _start_now(db, sessions[0], now)  # on today's day sheet and this week's
            db.flush()
            sent_goal_prompt(db, client, sessions[0], sent_at=now - timedelta(minutes=20))
            _text(db, client, office, f"Reply {i}", now - timedelta(minutes=i), "free_text")
            _text(db, None, office, f"Unknown {i}", now, "unknown_sender")
            measures.record(
                db, ctx, sessions[0].id, "phq9", [0] * 8 + [1], source="staff", actor="test"
            )
    db.commit()


def statement_counts(
    app: Flask, world: World, connection: Any, engine: Engine, cases: list[Case]
) -> dict[str, list[str]]:
    browsers = page_clients(app, world)
    counts: dict[str, list[str]] = {}
    for case in cases:
        api = case.path.startswith("/api/")
        for user in readers(case):
            token = world.tokens[user] if api else None
            with _rolled_back(connection):  # warm: a first request may fill process caches
                _call(browsers[user], case, world, token)
            with _rolled_back(connection), counting(engine) as seen:
                status = _call(browsers[user], case, world, token)
            assert status == case.statuses()[user], (case.path, user, status)
            counts[f"{case.path} as {user}"] = list(seen)  # "<path> as <user>"
    return counts


def test_statements_per_read_do_not_grow_with_the_rows_shown(
    app: Flask,
    world: World,
    db: Session,
    ctx: ServiceContext,
    connection: Any,
    engine: Engine,
) -> None:
    cases = readable_cases(app)
    world = with_tokens(db, ctx, world)
    small = statement_counts(app, world, connection, engine, cases)
    grow(db, ctx, world, per_office=3)
    larger = statement_counts(app, world, connection, engine, cases)
    grew = {
        k: f"{len(small[k])} -> {len(larger[k])}; repeated: {repeated(larger[k])}"
        for k in small
        if len(small[k]) != len(larger[k])
    }
    assert grew == {}, "statements grow with the rows shown:\n" + "\n".join(
        f"{k}: {v}" for k, v in grew.items()
    )
    over = {k: v for k, v in larger.items() if len(v) > MAX_STATEMENTS}
    assert over == {}, f"more than {MAX_STATEMENTS} statements:\n" + "\n".join(
        f"{k}: {len(v)}: " + " | ".join(" ".join(s.split())[:70] for s in v)
        for k, v in over.items()
    )


def repeated(statements: list[str]) -> list[str]:
    """The statements sent more than once (where an N+1 shows), shortened."""
    seen = Counter(" ".join(s.split())[:90] for s in statements)
    return [f"{n}x {sql}" for sql, n in seen.most_common() if n > 1]
