"""A small demo practice for `serve --demo`: a few therapists and clients, series in Tucson and
one in Seattle that crosses the spring DST change, and a past to work with (`demo_history`:
attendance, a rated weekly goal, inbox items; `demo_course`: questionnaires, a course in its
termination phase and one continued by monthly maintenance). Idempotent: a second run adds nothing.

The demo's accounts have a published password, so it is seeded only into a database that is
empty or holds only the demo: one whose accounts are all the demo's own (a real practice has
at least one real account; `.invalid` addresses cannot belong to anyone) and which, before
the demo is seeded, holds no clients or therapists either.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from ..db.models import Client, Therapist, User
from . import accounts, booking, demo_history, directory
from .context import ServiceContext
from .errors import ServiceError

DEMO_ADMIN = "admin@demo.invalid"
DEMO_DESK = "desk@demo.invalid"
DEMO_THERAPIST = "ana.reyes@demo.invalid"
DEMO_ACCOUNTS = (DEMO_ADMIN, DEMO_DESK, DEMO_THERAPIST)
DEMO_PASSWORD = "demo-password-1"
# Who to sign in as to try each role (printed by `serve --demo`, shown on the sign-in page).
DEMO_SIGN_INS = (
    ("admin", DEMO_ADMIN),
    ("front desk", DEMO_DESK),
    ("therapist", DEMO_THERAPIST),
)


_REFUSAL = (
    "the demo, with its published password, is seeded only into an empty database or one "
    "that holds only the demo. Nothing was changed: point DATABASE_URL at a new database, "
    "or run `serve` without --demo"
)


class NotADemoDatabase(ServiceError):
    """The database holds more than the demo; seeding would publish a password into it."""


def ensure_demo_only(db: Session) -> None:
    """Refuse (NotADemoDatabase) unless the database is empty or holds only the demo.

    Reads only; safe on a database that is not migrated yet, or is migrated to an older
    revision, so it can run before anything is created or upgraded.
    """
    if not inspect(db.connection()).has_table(User.__tablename__):
        return  # nothing there yet: an empty database
    emails = {email.lower() for email in db.scalars(select(User.email))}
    others = emails - set(DEMO_ACCOUNTS)
    if others:
        raise NotADemoDatabase(
            f"this database holds {len(others)} account(s) that are not the demo's; {_REFUSAL}"
        )
    if emails:
        return  # the demo's accounts, and whatever was made with them
    for table, what in ((Client.__table__, "client"), (Therapist.__table__, "therapist")):
        count = db.scalar(select(func.count()).select_from(table)) or 0
        if count:
            raise NotADemoDatabase(
                f"this database has no accounts but holds {count} {what} record(s); {_REFUSAL}"
            )


def _next_weekday(start: date, weekday: int) -> date:
    return start + timedelta(days=(weekday - start.weekday()) % 7 or 7)


def seed_demo(db: Session, ctx: ServiceContext) -> str:
    """Seed once (only into an empty or demo-only database); return a fresh demo admin token."""
    ensure_demo_only(db)
    if db.scalar(select(User.id).where(User.email == DEMO_ADMIN)) is None:
        _seed(db, ctx)
    return accounts.create_token(db, DEMO_ADMIN, label="demo", actor="demo")


def _seed(db: Session, ctx: ServiceContext) -> None:
    accounts.create_user(
        db, email=DEMO_ADMIN, role="admin", password=DEMO_PASSWORD, name="Demo Admin", actor="demo"
    )
    accounts.create_user(
        db,
        email=DEMO_DESK,
        role="front_desk",
        password=DEMO_PASSWORD,
        name="Front Desk",
        actor="demo",
    )
    people = [
        ("Dr. Ana Reyes", "ana.reyes@demo.invalid", ["tucson", "dallas"]),
        ("Dr. Sam Okafor", "sam.okafor@demo.invalid", ["seattle", "folsom"]),
        ("Dr. Lee Kim", "lee.kim@demo.invalid", ["miami", "baltimore", "port-washington"]),
    ]
    therapists: dict[str, Therapist] = {}
    for name, email, offices in people:
        therapists[email] = directory.create_therapist(
            db, ctx, name=name, email=email, location_ids=offices, actor="demo"
        )
    accounts.create_user(
        db,
        email=DEMO_THERAPIST,
        role="therapist",
        password=DEMO_PASSWORD,
        name="Ana Reyes",
        actor="demo",
    )
    clients: list[Client] = []
    # Maria reads her texts in Spanish: the demo shows both languages going out.
    for first, last, phone, home, zone, language in [
        ("Maria", "Lopez", "+15205550143", "tucson", None, "es"),
        ("James", "Carter", "+15205550177", "tucson", "America/Los_Angeles", "en"),
        ("Priya", "Shah", "+12065550131", "seattle", None, "en"),
        ("Tom", "Baker", "+13055550122", "miami", None, "en"),
    ]:
        clients.append(
            directory.create_client(
                db,
                ctx,
                directory.NewClient(
                    first_name=first,
                    last_name=last,
                    phone=phone,
                    home_location_id=home,
                    timezone=zone,
                    language=language,
                    sms_consent=True,
                    goal_prompt_consent=True,
                ),
                actor="demo",
                source="demo",
            )
        )
    today = ctx.clock().astimezone(ctx.locations["tucson"].tz).date()
    ana, sam, lee = therapists.values()
    plans: list[tuple[Client, Therapist, str, date, time, int, str]] = [
        (clients[0], ana, "tucson", _next_weekday(today, 1), time(10), 16, "role_transition"),
        (clients[1], ana, "tucson", _next_weekday(today, 3), time(15), 12, "role_dispute"),
        (clients[3], lee, "miami", _next_weekday(today, 2), time(11), 12, "grief"),
    ]
    # One Seattle series that runs across the next spring-forward change (the second Sunday
    # of March, on the 8th at the earliest): from three weeks before it, or from next week
    # when that has passed (late February), which still runs across it.
    spring = date(today.year + (today.month > 2), 3, 8)
    plans.append(
        (
            clients[2],
            sam,
            "seattle",
            max(_next_weekday(spring - timedelta(weeks=3), 2), _next_weekday(today, 2)),
            time(17),
            16,
            "interpersonal_deficits",
        )
    )
    for client, therapist, office, first_day, at, count, area in plans:
        booking.book_series(
            db,
            ctx,
            booking.SeriesRequest(
                client_id=client.id,
                therapist_id=therapist.id,
                location_id=office,
                first_session_date=first_day,
                start_time=at,
                session_count=count,
                problem_area=area,
            ),
            actor="demo",
        )
    demo_history.seed_history(db, ctx, ana, clients)
