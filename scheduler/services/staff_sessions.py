"""Browser sessions of staff, kept on the server so that they can end.

The signed cookie carries only a random secret; the database keeps its SHA-256, who it belongs
to, when it began and when it was last used. A session ends when the user signs out, after
`idle` without a request, `ABSOLUTE_LIMIT` after sign-in whatever the activity, and at once for
every browser when the user is disabled or their password is set. All web processes read the
same rows, so an ended session is refused everywhere, and a copied cookie with it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, not_, select
from sqlalchemy.orm import Session, joinedload

from ..config import Settings
from ..db.models import StaffSession, User
from . import audit

ABSOLUTE_LIMIT = timedelta(hours=12)
# "Last seen" is written at most this often: a page load is then a read, not a write, and
# the idle timeout is still enforced to within this margin.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Limits:
    idle: timedelta
    absolute: timedelta = ABSOLUTE_LIMIT

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(idle=timedelta(minutes=settings.session_idle_minutes))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start(db: Session, user: User, *, now: datetime) -> str:
    """Open a session for `user` and return the secret for the cookie (stored only hashed)."""
    secret = secrets.token_urlsafe(32)
    db.add(StaffSession(user=user, secret_hash=_digest(secret), created_at=now, last_seen_at=now))
    return secret


def _expired(row: StaffSession, now: datetime, limits: Limits) -> bool:
    return now - row.last_seen_at >= limits.idle or now - row.created_at >= limits.absolute


def resolve(db: Session, secret: str, *, now: datetime, limits: Limits) -> User | None:
    """The active user whose live session this is; an expired session is ended on the way.

    Writes (a touch or an expiry) are left in `db` for the caller to commit.
    """
    # The user's offices come in the same statement: every page asks for them (its reach).
    query = (
        select(StaffSession)
        .where(StaffSession.secret_hash == _digest(secret))
        .options(joinedload(StaffSession.user).joinedload(User.offices))
    )
    row = db.execute(query).unique().scalar_one_or_none()
    if row is None:
        return None
    if _expired(row, now, limits) or not row.user.active:
        db.delete(row)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row.user


def end(db: Session, secret: str, *, ip: str | None = None) -> User | None:
    """Sign out: delete the session row (so its cookie is refused from now on); audited."""
    row = db.scalar(select(StaffSession).where(StaffSession.secret_hash == _digest(secret)))
    if row is None:
        return None
    user = row.user
    db.delete(row)
    audit.record(
        db, actor=user.email, action="user.signed_out", entity="user", entity_id=user.id, ip=ip
    )
    return user


def end_all(db: Session, user_id: int) -> int:
    """End every browser session of one user (disabled, or a new password); returns how many."""
    result = db.execute(
        delete(StaffSession)
        .where(StaffSession.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _live(now: datetime, limits: Limits) -> ColumnElement[bool]:
    return and_(
        StaffSession.last_seen_at > now - limits.idle,
        StaffSession.created_at > now - limits.absolute,
    )


def open_counts(db: Session, *, now: datetime, limits: Limits) -> dict[int, int]:
    """User id -> how many browsers that user is signed in on now."""
    rows = db.execute(
        select(StaffSession.user_id, func.count())
        .where(_live(now, limits))
        .group_by(StaffSession.user_id)
    )
    return {user_id: count for user_id, count in rows.tuples()}


def sweep(db: Session, *, now: datetime, limits: Limits) -> int:
    """Delete sessions past either limit (the worker's housekeeping); returns how many."""
    result = db.execute(
        delete(StaffSession)
        .where(not_(_live(now, limits)))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
