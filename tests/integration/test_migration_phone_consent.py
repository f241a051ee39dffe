"""Migration 0012 moves opt-outs from client records to their numbers, and back on downgrade."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from scheduler.db.migrate import alembic_config, upgrade
from scheduler.db.session import make_engine
from scheduler.db.types import UTCDateTime
from tests.support.scratch import scratch_database

EARLY = datetime(2026, 10, 1, 15, tzinfo=UTC)
LATE = datetime(2026, 11, 2, 16, tzinfo=UTC)

_clients = sa.table(
    "clients",
    *(sa.column(n) for n in ("id", "first_name", "last_name", "phone", "timezone")),
    *(sa.column(n) for n in ("home_office_id", "sms_consent", "goal_prompt_consent")),
    sa.column("goal_detail_consent"),
    sa.column("opted_out_at", UTCDateTime()),
    sa.column("created_at", UTCDateTime()),
)


def _client(id_: int, phone: str, opted_out_at: datetime | None) -> dict[str, object]:
    return {
        "id": id_,
        "first_name": "A",
        "last_name": "B",
        "phone": phone,
        "timezone": "America/Los_Angeles",
        "home_office_id": "seattle",
        "sms_consent": True,
        "goal_prompt_consent": False,
        "goal_detail_consent": False,
        "opted_out_at": opted_out_at,
        "created_at": EARLY,
    }


def test_client_opt_outs_become_the_numbers_and_come_back_on_downgrade():
    server = os.environ.get("TEST_DATABASE_URL") or "sqlite"
    with scratch_database(server, prefix="ipt_mig12") as url:
        eng = make_engine(url)
        try:
            upgrade(eng, "0011_frontdesk")
            with eng.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO offices (id, name, address, timezone, sms_number, phone, "
                        "active, synced_at) VALUES ('seattle', 'Seattle', 'x', "
                        "'America/Los_Angeles', '+12065550191', '+12065550190', true, :at)"
                    ),
                    {"at": EARLY.replace(tzinfo=None) if eng.dialect.name == "sqlite" else EARLY},
                )
                conn.execute(
                    sa.insert(_clients),
                    [
                        _client(1, "+12065550101", LATE),
                        _client(2, "+12065550101", EARLY),  # same number: the earliest wins
                        _client(3, "+12065550102", None),
                        _client(4, "+12065550103", LATE),
                    ],
                )
            upgrade(eng)
            with eng.connect() as conn:
                pc = sa.table(
                    "phone_consents", sa.column("phone"), sa.column("opted_out_at", UTCDateTime())
                )
                state = conn.execute(
                    sa.select(pc.c.phone, pc.c.opted_out_at).order_by(pc.c.phone)
                ).all()
                events = conn.execute(
                    sa.text("SELECT phone, event, source FROM phone_consent_events ORDER BY phone")
                ).all()
                columns = {c["name"] for c in sa.inspect(conn).get_columns("clients")}
            assert [p for p, _ in state] == ["+12065550101", "+12065550103"]
            assert dict(state) == {"+12065550101": EARLY, "+12065550103": LATE}
            assert [tuple(e) for e in events] == [
                ("+12065550101", "opt_out", "migration"),
                ("+12065550103", "opt_out", "migration"),
            ]
            assert "opted_out_at" not in columns

            cfg = alembic_config(eng.url.render_as_string(hide_password=False))
            with eng.begin() as conn:
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "0011_frontdesk")
            with eng.connect() as conn:
                back = conn.execute(
                    sa.select(_clients.c.id, _clients.c.opted_out_at).order_by(_clients.c.id)
                ).all()
            assert [(i, at) for i, at in back] == [(1, EARLY), (2, EARLY), (3, None), (4, LATE)]
        finally:
            eng.dispose()
