"""Small builders for test data, used across integration and web tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from scheduler.db.models import Client, Series, Therapist
from scheduler.services import booking, directory, phone_consent
from scheduler.services.context import ServiceContext

_counter = iter(range(10_000, 99_999))


def therapist(db: Session, ctx: ServiceContext, *offices: str, name: str = "Dr. Test") -> Therapist:
    n = next(_counter)
    return directory.create_therapist(
        db,
        ctx,
        name=name,
        email=f"t{n}@test.invalid",
        location_ids=list(offices or ["seattle"]),
        actor="test",
    )


def client(db: Session, ctx: ServiceContext, home: str = "seattle", **kw: Any) -> Client:
    n = next(_counter)
    fields: dict[str, Any] = {
        "first_name": "Casey",
        "last_name": f"Client{n}",
        "phone": f"+1206555{n % 100:04d}",
        "home_location_id": home,
        "sms_consent": True,
        "goal_prompt_consent": True,
        # Test data may share phones on purpose (families); the duplicate check has its own tests.
        "confirm_duplicate": True,
    }
    fields.update(kw)
    return directory.create_client(db, ctx, directory.NewClient(**fields), actor="test")


def series(
    db: Session,
    ctx: ServiceContext,
    *,
    office: str = "seattle",
    first: date = date(2027, 2, 24),
    at: time = time(17),
    count: int = 16,
    therapist_obj: Therapist | None = None,
    client_obj: Client | None = None,
    **kw: Any,
) -> Series:
    t = therapist_obj or therapist(db, ctx, office)
    c = client_obj or client(db, ctx, office)
    req = booking.SeriesRequest(
        client_id=c.id,
        therapist_id=t.id,
        location_id=office,
        first_session_date=first,
        start_time=at,
        session_count=count,
        problem_area=kw.pop("problem_area", "role_transition"),
        **kw,
    )
    return booking.book_series(db, ctx, req, actor="test").series


def opt_out_number(db: Session, phone: str, at: datetime | None = None) -> None:
    """Record that `phone` texted STOP (the number's state and its history), nothing else."""
    phone_consent.opt_out(db, phone, at=at or datetime.now(UTC), source="sms_keyword")
