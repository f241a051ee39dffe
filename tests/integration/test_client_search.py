"""Client search (`frontdesk.reads.search_clients`): what it finds, and on PostgreSQL that the
trigram indexes of migration 0018 serve it (a search read the whole clients table before)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import bindparam, event, insert, select, text, true
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.orm import Session

from scheduler.db.models import Client
from scheduler.web.frontdesk.reads import search_clients

PEOPLE = [
    ("Ana", "Garcia", "+15205550101"),
    ("Mariana", "López", "+15205550102"),
    ("Ben", "O'Neil", "+13055550103"),
    ("Rosa", "100% Real_Name", "+12065550104"),
]


@pytest.fixture
def people(db: Session) -> dict[str, int]:
    ids = {}
    for first, last, phone in PEOPLE:
        client = Client(
            first_name=first, last_name=last, phone=phone, timezone="America/Phoenix",
            home_office_id="tucson",
        )  # fmt: skip
        db.add(client)
        db.flush()
        ids[first] = client.id
    return ids


def names(found: list[Client]) -> list[str]:
    return [c.first_name for c in found]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("garcia", ["Ana"]),  # the last name alone
        ("ANA GARCIA", ["Ana"]),  # first and last, any case
        ("na g", ["Ana"]),  # across the space between them
        ("ana", ["Ana", "Mariana"]),  # within a first name; ordered by last name
        ("lópez", ["Mariana"]),
        ("o'neil", ["Ben"]),
        ("555-0103", ["Ben"]),  # the number's digits, whatever the punctuation
        ("100%", ["Rosa"]),  # LIKE's wildcards are searched for, not obeyed
        ("%", ["Rosa"]),
        ("_eal", []),
        ("real_name", ["Rosa"]),
        ("nobody", []),
    ],
)
def test_search_finds_by_any_part_of_the_name_or_number(
    db: Session, people: dict[str, int], query: str, expected: list[str]
):
    assert names(search_clients(db, query, where=Client.id.in_(people.values()))) == expected


def test_search_leaves_out_merged_clients_and_those_the_filter_hides(
    db: Session, people: dict[str, int]
):
    only = Client.id.in_(people.values())
    db.get(Client, people["Mariana"]).merged_into_id = people["Ana"]
    db.flush()
    assert names(search_clients(db, "ana", where=only)) == ["Ana"]
    assert names(search_clients(db, "ana", where=only & (Client.id != people["Ana"]))) == []


# ---- PostgreSQL: the plan ----------------------------------------------------------------


def _search_statement(db: Session, query: str) -> tuple[str, dict[str, Any]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    engine = db.get_bind()

    def record(_c: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        search_clients(db, query, where=true())
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen[-1]


@pytest.fixture
def many_clients(db: Session) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("TEST_DATABASE_URL is not set: trigram indexes exist on PostgreSQL only")
    rows = [
        {
            "first_name": f"First{i}",
            "last_name": f"Last{i % 977}",
            "phone": f"+1520{5_000_000 + i:07d}",
            "timezone": "America/Phoenix",
            "home_office_id": "tucson",
        }
        for i in range(5000)  # a large practice's clients: a smaller table is cheaper to scan
    ]
    db.execute(insert(Client), rows)
    # New entries wait in a GIN index's pending list, which the planner prices as read in
    # full, until (auto)vacuum merges them: merge them now, as a live server would have.
    for index in ("ix_clients_search_name", "ix_clients_search_phone"):
        db.execute(
            text("SELECT gin_clean_pending_list(CAST(:index AS regclass))"), {"index": index}
        )
    db.execute(text("ANALYZE clients"))


@pytest.mark.parametrize(("query", "index"), [("last123", "name"), ("5004321", "phone")])
def test_on_postgresql_search_reads_the_trigram_index(
    db: Session, many_clients: None, query: str, index: str
):
    statement, params = _search_statement(db, query)
    plan = "\n".join(
        row[0] for row in db.connection().exec_driver_sql("EXPLAIN " + statement, params)
    )
    assert f"Bitmap Index Scan on ix_clients_search_{index}" in plan, plan
    assert "Seq Scan on clients" not in plan, plan


def test_on_postgresql_the_index_serves_a_prepared_statements_generic_plan(
    db: Session, many_clients: None
):
    """psycopg prepares a statement after a few runs; PostgreSQL may then plan it once for
    any parameters. The expression searched must be the indexed one even then (a bound
    separator between the names would make it differ)."""
    from scheduler.db.models.practice import CLIENT_SEARCH_NAME

    query = select(Client.id).where(CLIENT_SEARCH_NAME.like(bindparam("q", "%last12%")))
    compiled = query.compile(dialect=asyncpg.dialect())  # numbered placeholders: $1, $2...
    values = [compiled.params[name] for name in compiled.positiontup or ()]
    arguments = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    # psycopg itself: EXPLAIN EXECUTE takes no bound parameters, and without any psycopg
    # leaves the pattern's % alone.
    raw = db.connection().connection.driver_connection
    raw.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    raw.execute(f"PREPARE client_search AS {compiled}")
    try:
        plan = "\n".join(
            row[0] for row in raw.execute(f"EXPLAIN EXECUTE client_search({arguments})")
        )
    finally:
        raw.execute("DEALLOCATE client_search")
    assert "Bitmap Index Scan on ix_clients_search_name" in plan, plan
