"""Calendar feeds: secret URLs, what each subscriber may see, and keeping stored feeds fresh.

A feed URL carries a token that is HMAC(secret key, nonce). The database keeps the nonce and
the token's SHA-256, so a leaked database yields no working URL, while staff can still be
shown the current URL (re-derived from the nonce and checked against the stored hash).

Feeds are rendered ahead of time into ``stored_feeds`` (by the worker, or by the first request
that finds the stored copy stale) so a poll costs two small queries: resolve the token with the
stored validators, and fingerprint the sessions the feed covers. Only when the fingerprint
differs, or the copy is a day old (sessions leave the window as time passes), is it rebuilt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args
from urllib.parse import urlparse

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from ..config import Settings
from ..db.models import Client, FeedToken, Office, Series, StoredFeed, Therapist, TherapySession
from ..db.session import transaction
from ..ical import FeedEvent, FeedMeta, Status, build_calendar
from . import audit
from .context import ServiceContext
from .errors import Invalid, NotFound

log = logging.getLogger(__name__)

FeedKind = Literal["therapist", "location", "client"]
FEED_KINDS: tuple[FeedKind, ...] = get_args(FeedKind)
# The path segment of each kind under /feeds/.
URL_SEGMENTS: dict[FeedKind, str] = {
    "therapist": "therapists",
    "location": "locations",
    "client": "clients",
}
# How often calendar apps are asked to poll (REFRESH-INTERVAL, X-PUBLISHED-TTL).
REFRESH = timedelta(hours=1)
# A stored feed older than this is rebuilt even if no session changed, because sessions leave
# the window as time passes and names or addresses may have changed.
MAX_AGE = timedelta(days=1)
# Part of every fingerprint: changing how events are written invalidates every stored feed.
FORMAT_VERSION = "1"

_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")
_NO_HASH = "0" * 64


@dataclass(frozen=True)
class FeedHead:
    """The validators of a fresh stored feed: all a conditional request needs."""

    feed_id: int
    kind: FeedKind
    owner_id: str
    etag: str  # quoted, strong
    last_modified: datetime  # aware UTC, whole seconds


# --- tokens ---------------------------------------------------------------------------------


def _key(settings: Settings) -> bytes:
    # A key of its own, so a feed token never equals any other HMAC made with the secret key.
    return hmac.new(settings.secret_key.encode(), b"ipt-scheduler feed tokens", "sha256").digest()


def _derive(settings: Settings, nonce: str) -> str:
    mac = hmac.new(_key(settings), nonce.encode(), "sha256").digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()  # 256 bits, 43 characters


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(settings: Settings, kind: FeedKind, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/feeds/{URL_SEGMENTS[kind]}/{token}.ics"


def rotate_token(
    db: Session, ctx: ServiceContext, kind: FeedKind, owner_id: object, *, actor: str
) -> str:
    """Issue a new token for the owner's feed and revoke any earlier one at once.

    Returns the token (shown once here; ``current_feed_url`` re-derives it later).
    """
    owner = _lock_owner(db, kind, owner_id)
    now = ctx.clock()
    db.execute(
        update(FeedToken)
        .where(
            FeedToken.owner_kind == kind,
            FeedToken.owner_id == owner,
            FeedToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    nonce = secrets.token_hex(32)
    token = _derive(ctx.settings, nonce)
    db.add(
        FeedToken(
            owner_kind=kind, owner_id=owner, token_hash=_hash(token), nonce=nonce, created_at=now
        )
    )
    if _stored(db, kind, owner) is None:
        db.add(StoredFeed(owner_kind=kind, owner_id=owner, event_count=0))
    db.flush()
    audit.record(db, actor=actor, action="feed.token_issued", entity=kind, entity_id=owner)
    return token


issue_token = rotate_token  # issuing the first token is rotating from none


def current_feed_url(
    db: Session, ctx: ServiceContext, kind: FeedKind, owner_id: object
) -> str | None:
    """The URL of the owner's live token, or None if there is none or it cannot be re-derived.

    Re-deriving needs the secret key the token was made with; after SECRET_KEY changes the old
    URL keeps working (only its hash is checked) but can no longer be shown: rotate it.
    """
    row = db.execute(
        select(FeedToken.nonce, FeedToken.token_hash)
        .where(
            FeedToken.owner_kind == kind,
            FeedToken.owner_id == str(owner_id),
            FeedToken.revoked_at.is_(None),
        )
        .order_by(FeedToken.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    token = _derive(ctx.settings, row.nonce)
    if not hmac.compare_digest(_hash(token), row.token_hash):
        return None
    return feed_url(ctx.settings, kind, token)


def resolve_token(db: Session, kind: FeedKind, token: str) -> FeedToken | None:
    """The live token row for ``token`` under ``kind``; None for unknown and revoked alike."""
    if not _TOKEN_SHAPE.fullmatch(token):
        return None
    wanted = _hash(token)
    row = db.scalar(select(FeedToken).where(FeedToken.token_hash == wanted))
    stored = row.token_hash if row is not None else _NO_HASH
    if not hmac.compare_digest(stored, wanted) or row is None:
        return None
    if row.revoked_at is not None or row.owner_kind != kind:
        return None
    return row


def _lock_owner(db: Session, kind: FeedKind, owner_id: object) -> str:
    """Check the owner exists and lock its row, so two rotations cannot both stay live."""
    column: Any = {"therapist": Therapist.id, "location": Office.id, "client": Client.id}[kind]
    key: object = str(owner_id)
    if kind != "location":
        try:
            key = int(str(owner_id))
        except ValueError:
            raise NotFound(kind, owner_id) from None
    if db.scalar(select(column).where(column == key).with_for_update()) is None:
        raise NotFound(kind, owner_id)
    return str(owner_id)


# --- serving --------------------------------------------------------------------------------


def lookup(db: Session, ctx: ServiceContext, kind: FeedKind, token: str) -> FeedHead | None:
    """Resolve a feed URL to its fresh stored feed's validators (rebuilding it if stale)."""
    live = resolve_token(db, kind, token)
    if live is None:
        return None
    feed = _stored(db, kind, live.owner_id)
    if feed is None:  # a token made before stored feeds existed; create the row now
        feed = StoredFeed(owner_kind=kind, owner_id=live.owner_id, event_count=0)
        db.add(feed)
        db.flush()
    now = ctx.clock()
    if _is_stale(db, feed, now):
        feed = db.scalars(
            select(StoredFeed)
            .where(StoredFeed.id == feed.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        refresh(db, ctx, feed, now=now)  # re-checks under the lock; another may have built it
    assert feed.etag is not None and feed.last_modified is not None
    return FeedHead(feed.id, kind, feed.owner_id, feed.etag, feed.last_modified)


def load_body(db: Session, feed_id: int) -> tuple[bytes, str, datetime]:
    """The stored bytes with the validators read in the same statement (so they match)."""
    row = db.execute(
        select(StoredFeed.body, StoredFeed.etag, StoredFeed.last_modified).where(
            StoredFeed.id == feed_id
        )
    ).one()
    return row.body, row.etag, row.last_modified


def _stored(db: Session, kind: FeedKind, owner_id: str) -> StoredFeed | None:
    return db.scalar(
        select(StoredFeed).where(StoredFeed.owner_kind == kind, StoredFeed.owner_id == owner_id)
    )


# --- freshness ------------------------------------------------------------------------------


def _is_stale(db: Session, feed: StoredFeed, now: datetime) -> bool:
    if feed.etag is None or feed.built_at is None or feed.window_start is None:
        return True
    if now - feed.built_at >= MAX_AGE or now < feed.built_at:
        return True  # a clock that went backwards also gets a fresh build
    kind: FeedKind = feed.owner_kind  # type: ignore[assignment]
    return source_version(db, kind, feed.owner_id, feed.window_start) != feed.source_version


def refresh(
    db: Session, ctx: ServiceContext, feed: StoredFeed, *, now: datetime, force: bool = False
) -> bool:
    """Rebuild ``feed`` if stale (or ``force``); True if it was rebuilt.

    ETag and Last-Modified change only when the bytes do, and Last-Modified never goes back:
    it is the later of now and one second past the previous value (HTTP dates have whole
    seconds, and two different bodies must not share one).
    """
    if not force and not _is_stale(db, feed, now):
        return False
    kind: FeedKind = feed.owner_kind  # type: ignore[assignment]
    window_start = now - timedelta(days=ctx.settings.feed_past_days)
    # Fingerprint first: a change committed while the events are read then shows up as stale
    # at the next check instead of being hidden behind a fingerprint newer than the body.
    version = source_version(db, kind, feed.owner_id, window_start)
    meta, events = feed_content(db, ctx, kind, feed.owner_id, window_start)
    body = build_calendar(meta, events, dtstamp=now)
    etag = f'"{hashlib.sha256(body).hexdigest()[:40]}"'
    if etag != feed.etag:
        stamp = now.replace(microsecond=0)
        if feed.last_modified is not None and stamp <= feed.last_modified:
            stamp = feed.last_modified + timedelta(seconds=1)
        feed.body, feed.etag, feed.last_modified = body, etag, stamp
    feed.built_at = now
    feed.window_start = window_start
    feed.source_version = version
    feed.event_count = len(events)
    db.flush()
    return True


def refresh_stale_feeds(session_factory: sessionmaker[Session], ctx: ServiceContext) -> int:
    """Worker job: rebuild every live feed whose sessions changed; returns how many were rebuilt.

    Each feed is its own short transaction, and one that fails is logged and skipped so it
    cannot keep the others stale.
    """
    now = ctx.clock()
    live = exists().where(
        FeedToken.owner_kind == StoredFeed.owner_kind,
        FeedToken.owner_id == StoredFeed.owner_id,
        FeedToken.revoked_at.is_(None),
    )
    with session_factory() as db:
        ids = list(db.scalars(select(StoredFeed.id).where(live).order_by(StoredFeed.id)))
    rebuilt = 0
    for feed_id in ids:
        try:
            with transaction(session_factory) as db:
                feed = db.scalars(
                    select(StoredFeed).where(StoredFeed.id == feed_id).with_for_update()
                ).one()
                rebuilt += refresh(db, ctx, feed, now=now)
        except Exception:
            log.exception("could not refresh stored feed %s", feed_id)
    return rebuilt


def _owner_filter(kind: FeedKind, owner_id: str) -> ColumnElement[bool]:
    if kind == "therapist":
        return TherapySession.therapist_id == int(owner_id)
    if kind == "location":
        return TherapySession.office_id == owner_id
    if kind == "client":
        return Series.client_id == int(owner_id)
    raise Invalid({"kind": f"must be one of {', '.join(FEED_KINDS)}"})


def source_version(db: Session, kind: FeedKind, owner_id: str, window_start: datetime) -> str:
    """Fingerprint of the sessions a feed covers: any change, addition or removal alters it."""
    query = select(
        func.count(TherapySession.id),
        func.max(TherapySession.updated_at),
        func.coalesce(func.sum(TherapySession.revision), 0),
    ).where(_owner_filter(kind, owner_id), TherapySession.starts_at >= window_start)
    if kind == "client":
        query = query.join(Series, Series.id == TherapySession.series_id)
    count, newest, revisions = db.execute(query).one()
    newest_text = newest.isoformat() if isinstance(newest, datetime) else str(newest)
    return f"{FORMAT_VERSION}:{count}:{newest_text}:{revisions}"


# --- content --------------------------------------------------------------------------------


def feed_content(
    db: Session, ctx: ServiceContext, kind: FeedKind, owner_id: str, window_start: datetime
) -> tuple[FeedMeta, list[FeedEvent]]:
    """The calendar name and events of one feed: sessions starting at or after window_start.

    Therapist and office feeds read only initials (the first letter of each name, cut in SQL),
    never the client's last name, phone, problem area or goals.
    """
    s = TherapySession
    query = (
        select(
            s.id,
            s.revision,
            s.starts_at,
            s.ends_at,
            s.timezone,
            s.status,
            s.number,
            s.counts,
            s.room,
            s.updated_at,
            Series.session_count,
            func.substr(Client.first_name, 1, 1).label("first_initial"),
            func.substr(Client.last_name, 1, 1).label("last_initial"),
            Therapist.name.label("therapist_name"),
            Office.name.label("office_name"),
            Office.address,
            Office.phone.label("office_phone"),
        )
        .join(Series, Series.id == s.series_id)
        .join(Client, Client.id == Series.client_id)
        .join(Therapist, Therapist.id == s.therapist_id)
        .join(Office, Office.id == s.office_id)
        .where(_owner_filter(kind, owner_id), s.starts_at >= window_start)
        .order_by(s.starts_at, s.id)
    )
    host = urlparse(ctx.settings.public_base_url).hostname or "ipt-scheduler"
    events = [_event(kind, row, host) for row in db.execute(query)]
    return FeedMeta(name=_calendar_name(db, ctx, kind, owner_id), refresh=REFRESH), events


def _event(kind: FeedKind, row: Any, host: str) -> FeedEvent:
    cancelled = row.status == "cancelled"
    # A cancelled session that no longer counts keeps a stale number; showing it would clash
    # with the session that now has that number.
    place = f" {row.number}/{row.session_count}" if row.counts else ""
    if kind == "client":
        summary = f"Session with {row.therapist_name} · {row.office_name}"
        details = [f"Session {row.number} of {row.session_count}" if row.counts else None]
        details.append(f"To change it, call {row.office_phone}")
    else:
        initials = f"{row.first_initial}.{row.last_initial}.".upper()
        summary = f"{initials} · IPT{place}"
        details = [f"Therapist: {row.therapist_name}" if kind == "location" else None]
    if row.room:
        details.append(f"Room {row.room}")
    status: Status = "CANCELLED" if cancelled else "CONFIRMED"
    return FeedEvent(
        uid=f"session-{row.id}-{kind}@{host}",
        sequence=row.revision,
        summary=f"Cancelled: {summary}" if cancelled else summary,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        tzid=row.timezone,
        location=row.address,
        status=status,
        last_modified=row.updated_at,
        description="\n".join(d for d in details if d) or None,
    )


def _calendar_name(db: Session, ctx: ServiceContext, kind: FeedKind, owner_id: str) -> str:
    if kind == "therapist":
        name = db.scalar(select(Therapist.name).where(Therapist.id == int(owner_id)))
        return f"IPT sessions · {name}"
    if kind == "location":
        office = db.scalar(select(Office.name).where(Office.id == owner_id))
        return f"IPT sessions · {office}"
    return f"Sessions · {ctx.locations.practice.name}"
