"""A realistic practice written straight into PostgreSQL with COPY, for bench/load.py.

At scale 1: the nine offices of locations.yaml, 60 therapists, 1,500 clients, one 16-session
weekly series each (24,000 sessions) spread from 12 weeks ago to 4 weeks ahead, and their
texts: a booking confirmation per series and the office's reminders (24 h and 2 h before) per
session, sent when their time has passed and pending otherwise. Scale k multiplies therapists,
clients, series and sessions by k over the offices of `locations` (bench/load.py generates a
file of 9 x k offices for k > 1), so each office and each therapist holds the same load at
every scale.

The schema comes from the migrations (the caller runs them); this module only fills it. Rows
are written with COPY (psycopg's `cursor.copy`), not the ORM, so 480,000 sessions take seconds,
not an hour. Ids are chosen here so related rows can refer to each other; the sequences are
moved past them afterwards so the application's own inserts keep working.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, text

from scheduler.locations import LocationBook

THERAPISTS_PER_SCALE = 60
CLIENTS_PER_SCALE = 1_500
SESSIONS_PER_SERIES = 16
# A therapist's 25 weekly slots: five weekdays at five hours inside every office's hours.
SLOT_HOURS = (9, 10, 11, 14, 15)
PROBLEM_AREAS = ("grief", "role_dispute", "role_transition", "interpersonal_deficits")


@dataclass
class Seeded:
    """What the load needs to find in the seeded practice."""

    offices: list[str]
    therapists: int = 0
    clients: int = 0
    series: int = 0
    sessions: int = 0
    texts: int = 0
    # A session and client of the first office, near today: what a desk opens most.
    sample_session_id: int = 0
    sample_client_id: int = 0
    therapist_ids_by_office: dict[str, list[int]] = field(default_factory=dict)


def _copy(conn: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def seed(engine: Engine, book: LocationBook, scale: int, *, now: datetime) -> Seeded:
    """Fill an empty, migrated PostgreSQL database; offices must already be synced."""
    offices = list(book.ids)
    out = Seeded(offices=offices)
    n_therapists = THERAPISTS_PER_SCALE * scale
    n_clients = CLIENTS_PER_SCALE * scale
    this_monday = _monday(now.date())
    stamp = now
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        assert conn is not None
        # Therapists round-robin over the offices: 60 over 9 is 6 or 7 each, at every scale.
        therapist_office = {t: offices[(t - 1) % len(offices)] for t in range(1, n_therapists + 1)}
        for t, office in therapist_office.items():
            out.therapist_ids_by_office.setdefault(office, []).append(t)
        out.therapists = _copy(
            conn,
            "therapists",
            ("id", "name", "email", "active", "created_at"),
            (
                (t, f"Dr. Bench {t}", f"therapist{t}@bench.invalid", True, stamp)
                for t in therapist_office
            ),
        )
        _copy(
            conn,
            "therapist_offices",
            ("therapist_id", "office_id"),
            therapist_office.items(),
        )

        per_therapist = n_clients // n_therapists
        plan = _Planner(book, therapist_office, per_therapist, this_monday, now)
        # Three passes over the same deterministic plan, one COPY each: the rows never all sit
        # in memory at once (the 20x practice has a million texts).
        out.clients = _copy(
            conn, "clients", CLIENT_COLUMNS, (plan.client(c) for c in range(1, n_clients + 1))
        )
        out.series = _copy(
            conn, "series", SERIES_COLUMNS, (plan.series(c) for c in range(1, n_clients + 1))
        )
        out.sessions = _copy(
            conn,
            "sessions",
            SESSION_COLUMNS,
            (row for c in range(1, n_clients + 1) for row in plan.sessions(c)),
        )
        out.texts = _copy(
            conn,
            "outbound_messages",
            TEXT_COLUMNS,
            (row for c in range(1, n_clients + 1) for row in plan.texts(c)),
        )
        with conn.cursor() as cur:
            for table in ("therapists", "clients", "series", "sessions", "outbound_messages"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        conn.commit()
        out.sample_session_id, out.sample_client_id = plan.sample(offices[0])
    finally:
        raw.close()
    # Fresh statistics, as autovacuum would have them on a practice that grew over years.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("ANALYZE"))
    return out


CLIENT_COLUMNS = (
    "id", "first_name", "last_name", "phone", "timezone", "home_office_id",
    "sms_consent", "goal_prompt_consent", "goal_detail_consent", "created_at",
)  # fmt: skip
SERIES_COLUMNS = (
    "id", "client_id", "therapist_id", "office_id", "first_session_date", "start_time",
    "session_count", "duration_minutes", "problem_area", "room", "status", "kind",
    "cadence_weeks", "measure_schedule", "measure_gad7", "created_at", "created_by",
)  # fmt: skip
SESSION_COLUMNS = (
    "id", "series_id", "therapist_id", "office_id", "number", "counts", "is_make_up",
    "local_date", "local_time", "timezone", "starts_at", "ends_at", "room", "status",
    "late_cancel", "revision", "updated_at",
)  # fmt: skip
TEXT_COLUMNS = (
    "id", "client_id", "session_id", "series_id", "office_id", "kind", "send_at",
    "expires_at", "status", "attempts", "to_number", "provider_sid", "provider_status",
    "body", "session_revision", "session_starts_at", "created_at", "sent_at", "updated_at",
)  # fmt: skip
REMINDER = "Reminder: your appointment is coming up. Reply C to confirm, R to reschedule."
CONFIRMATION = "Your weekly appointments are booked. Reply C to confirm, HELP for help."


class _Planner:
    """Client c's rows, the same on every call: one series, its sessions, its texts.

    Client c belongs to therapist ((c-1) // per_therapist) + 1 and takes that therapist's
    weekly slot (c-1) % per_therapist, so no two series of a therapist overlap. Ids are derived
    from c, so the passes agree without keeping anything.
    """

    def __init__(
        self,
        book: LocationBook,
        therapist_office: dict[int, str],
        per_therapist: int,
        this_monday: date,
        now: datetime,
    ) -> None:
        self.book = book
        self.therapist_office = therapist_office
        self.per_therapist = per_therapist
        self.this_monday = this_monday
        self.now = now
        self.leads = max(len(book[o].reminder_leads_hours) for o in book.ids)

    def _who(self, c: int) -> tuple[int, str, int]:
        t = (c - 1) // self.per_therapist % len(self.therapist_office) + 1
        return t, self.therapist_office[t], (c - 1) % self.per_therapist

    def _phone(self, c: int) -> str:
        return f"+1{200 + c // 10_000:03d}555{c % 10_000:04d}"

    def _first(self, c: int) -> tuple[date, time]:
        slot = self._who(c)[2]
        weekday, hour = slot % 5, SLOT_HOURS[slot // 5 % len(SLOT_HOURS)]
        weeks = random.Random(c).randint(-12, 4)  # series started over the last quarter
        return self.this_monday + timedelta(weeks=weeks, days=weekday), time(hour)

    def client(self, c: int) -> tuple[Any, ...]:
        _t, office, _slot = self._who(c)
        zone = self.book[office].timezone
        return (
            c, f"Client{c}", f"Bench{c % 97}", self._phone(c), zone, office,
            True, True, False, self.now,
        )  # fmt: skip

    def series(self, c: int) -> tuple[Any, ...]:
        t, office, _slot = self._who(c)
        loc = self.book[office]
        first, at = self._first(c)
        room = loc.rooms[t % len(loc.rooms)] if loc.rooms else None
        area = PROBLEM_AREAS[c % len(PROBLEM_AREAS)]
        return (
            c, c, t, office, first, at, SESSIONS_PER_SERIES, 50, area, room, "active",
            "acute", 1, "standard", False, self.now - timedelta(weeks=13), "bench",
        )  # fmt: skip

    def _starts(self, c: int) -> list[tuple[int, date, time, datetime]]:
        first, at = self._first(c)
        zone = self.book[self._who(c)[1]].tz
        out = []
        for k in range(SESSIONS_PER_SERIES):
            day = first + timedelta(weeks=k)
            sid = (c - 1) * SESSIONS_PER_SERIES + k + 1
            out.append((sid, day, at, datetime.combine(day, at, zone).astimezone(UTC)))
        return out

    def sessions(self, c: int) -> Iterable[tuple[Any, ...]]:
        t, office, _slot = self._who(c)
        loc = self.book[office]
        room = loc.rooms[t % len(loc.rooms)] if loc.rooms else None
        rng = random.Random(-c)
        for k, (sid, day, at, starts) in enumerate(self._starts(c)):
            ends = starts + timedelta(minutes=50)
            past = ends < self.now
            status = ("no_show" if rng.random() < 0.08 else "attended") if past else "scheduled"
            yield (
                sid, c, t, office, k + 1, True, False, day, at, loc.timezone, starts, ends,
                room, status, False, 0, self.now,
            )  # fmt: skip

    def texts(self, c: int) -> Iterable[tuple[Any, ...]]:
        _t, office, _slot = self._who(c)
        leads = self.book[office].reminder_leads_hours
        per_client = 1 + SESSIONS_PER_SERIES * self.leads
        next_id = (c - 1) * per_client + 1
        booked = self.now - timedelta(weeks=13)
        yield self._text(next_id, c, None, office, "booking_confirmation", booked, None)
        # The kinds name the defaults: the longer lead is "reminder_24h" (domain.reminders).
        kinds = dict(
            zip(sorted(leads, reverse=True), ("reminder_24h", "reminder_2h"), strict=False)
        )
        for sid, _day, _at, starts in self._starts(c):
            for lead in leads:
                next_id += 1
                send_at = starts - timedelta(hours=lead)
                yield self._text(next_id, c, sid, office, kinds[lead], send_at, starts)

    def _text(
        self,
        text_id: int,
        c: int,
        session_id: int | None,
        office: str,
        kind: str,
        send_at: datetime,
        starts: datetime | None,
    ) -> tuple[Any, ...]:
        """Delivered with a provider SID if its time has passed, else pending."""
        sent = send_at <= self.now
        body = CONFIRMATION if session_id is None else REMINDER
        return (
            text_id, c, session_id, c, office, kind, send_at, starts,
            "delivered" if sent else "pending", 1 if sent else 0,
            self._phone(c) if sent else None, "SM" + secrets.token_hex(16) if sent else None,
            "delivered" if sent else None, body if sent else None,
            0 if session_id is not None else None, starts, send_at - timedelta(days=1),
            send_at if sent else None, send_at if sent else self.now,
        )  # fmt: skip

    def sample(self, office: str) -> tuple[int, int]:
        """The first future session at `office` and its client."""
        for c in range(1, len(self.therapist_office) * self.per_therapist + 1):
            if self._who(c)[1] != office:
                continue
            for sid, _day, _at, starts in self._starts(c):
                if starts > self.now:
                    return sid, c
        raise RuntimeError(f"no future session at {office}")
