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
import functools
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, and_, bindparam, exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.util import identity_key

from ..config import Settings
from ..db.models import Client, FeedToken, Office, StoredFeed, Therapist, TherapySession
from ..db.session import transaction
from ..ical import build_calendar
from . import audit
from .context import ServiceContext
from .errors import NotFound
from .feed_content import FeedKind, feed_content, owner_filter, owner_key

__all__ = [
    "MAX_AGE",
    "FeedHead",
    "FeedKind",
    "client_feed_url",
    "current_feed_url",
    "feed_url",
    "issue_token",
    "load_body",
    "lookup",
    "refresh",
    "refresh_stale_feeds",
    "resolve_token",
    "rotate_token",
    "source_version",
]

log = logging.getLogger(__name__)

# The path segment of each kind under /feeds/.
URL_SEGMENTS: dict[FeedKind, str] = {
    "therapist": "therapists",
    "location": "locations",
    "client": "clients",
}
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
    mine = (FeedToken.owner_kind == kind, FeedToken.owner_id == owner)
    db.execute(
        update(FeedToken).where(*mine, FeedToken.revoked_at.is_(None)).values(revoked_at=now)
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
    if kind == "client" and (client := db.identity_map.get(identity_key(Client, int(owner)))):
        db.expire(client, ["live_feed_token"])  # a client loaded already reads the new token
    audit.record(db, actor=actor, action="feed.token_issued", entity=kind, entity_id=owner)
    return token


issue_token = rotate_token  # issuing the first token is rotating from none


# Read with every client and therapist shown to those who may rotate the feed: built once.
_LIVE_TOKEN = (
    select(FeedToken.nonce, FeedToken.token_hash)
    .where(
        FeedToken.owner_kind == bindparam("kind"),
        FeedToken.owner_id == bindparam("owner"),
        FeedToken.revoked_at.is_(None),
    )
    .order_by(FeedToken.id.desc())
    .limit(1)
)


def current_feed_url(
    db: Session, ctx: ServiceContext, kind: FeedKind, owner_id: object
) -> str | None:
    """The URL of the owner's live token, or None if there is none or it cannot be re-derived.

    Re-deriving needs the secret key the token was made with; after SECRET_KEY changes the old
    URL keeps working (only its hash is checked) but can no longer be shown: rotate it.
    """
    row = db.execute(_LIVE_TOKEN, {"kind": kind, "owner": str(owner_id)}).first()
    return _url_of(ctx, kind, row)


def client_feed_url(ctx: ServiceContext, client: Client) -> str | None:
    """`current_feed_url` of a client's feed, from the live token read with the client (a
    client's own record joins it: `Client.live_feed_token`; elsewhere reading it loads it)."""
    return _url_of(ctx, "client", client.live_feed_token)


def _url_of(ctx: ServiceContext, kind: FeedKind, row: Any) -> str | None:
    """The URL of a live token row (its nonce and hash), or None (no row, or another key)."""
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
    return row if _is_live(row, wanted, kind) else None


def _is_live(row: Any, wanted: str, kind: FeedKind) -> bool:
    """Constant-time check of the found hash; then unknown, revoked and wrong kind all fail."""
    found = _NO_HASH if row is None else row.token_hash
    return (
        hmac.compare_digest(found, wanted)
        and row is not None
        and (row.revoked_at is None and row.owner_kind == kind)
    )


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
    """Resolve a feed URL to its fresh stored feed's validators (rebuilding it if stale).

    The usual path is one query for the token joined to its stored feed's validators (plain
    columns: no ORM object, no body) and one fingerprint query.
    """
    if not _TOKEN_SHAPE.fullmatch(token):
        return None
    wanted = _hash(token)
    row = db.execute(_lookup_query(), {"token_hash": wanted}).first()
    if not _is_live(row, wanted, kind):
        return None
    assert row is not None
    now = ctx.clock()
    if row.id is not None and not _is_stale(db, row, now):
        return FeedHead(row.id, kind, row.owner_id, row.etag, row.last_modified)
    feed = _stored(db, kind, row.owner_id, lock=True)
    if feed is None:  # a token made before stored feeds existed; create the row now
        feed = StoredFeed(owner_kind=kind, owner_id=row.owner_id, event_count=0)
        db.add(feed)
        db.flush()
    refresh(db, ctx, feed, now=now)  # re-checks under the lock: another may have built it
    assert feed.etag is not None and feed.last_modified is not None
    return FeedHead(feed.id, kind, feed.owner_id, feed.etag, feed.last_modified)


# Polls run these two statements over and over: built once, SQLAlchemy also reuses their
# cache keys, which otherwise cost as much as running them.
@functools.cache
def _lookup_query() -> Select[Any]:
    feed = StoredFeed
    same_owner = and_(feed.owner_kind == FeedToken.owner_kind, feed.owner_id == FeedToken.owner_id)
    return (
        select(FeedToken.token_hash, FeedToken.revoked_at, FeedToken.owner_kind)
        .add_columns(FeedToken.owner_id, feed.id, feed.etag, feed.last_modified)
        .add_columns(feed.built_at, feed.source_version)
        .outerjoin(feed, same_owner)
        .where(FeedToken.token_hash == bindparam("token_hash"))
    )


@functools.cache
def _fingerprint_query(kind: FeedKind) -> Select[Any]:
    # Two scalar subqueries rather than one aggregate: each is then a single index seek.
    s = TherapySession
    owner = owner_filter(kind, bindparam("owner"))
    count = select(func.count()).select_from(s).where(owner).scalar_subquery()
    newest = select(func.max(s.updated_at)).where(owner).scalar_subquery()
    return select(count, newest)


def load_body(db: Session, feed_id: int) -> tuple[bytes, str, datetime]:
    """The stored bytes with the validators read in the same statement (so they match)."""
    row = db.execute(
        select(StoredFeed.body, StoredFeed.etag, StoredFeed.last_modified).where(
            StoredFeed.id == feed_id
        )
    ).one()
    return row.body, row.etag, row.last_modified


def _stored(db: Session, kind: FeedKind, owner_id: str, *, lock: bool = False) -> StoredFeed | None:
    query = select(StoredFeed).where(StoredFeed.owner_kind == kind, StoredFeed.owner_id == owner_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.scalar(query)


# --- freshness ------------------------------------------------------------------------------


class _FeedState(Protocol):
    """What staleness is judged on: a StoredFeed, or the row of columns lookup() reads."""

    etag: str | None
    built_at: datetime | None
    owner_kind: str
    owner_id: str
    source_version: str | None


def _is_stale(db: Session, feed: _FeedState, now: datetime) -> bool:
    if feed.etag is None or feed.built_at is None:
        return True
    if now - feed.built_at >= MAX_AGE or now < feed.built_at:
        return True  # a clock that went backwards also gets a fresh build
    kind: FeedKind = feed.owner_kind  # type: ignore[assignment]
    return source_version(db, kind, feed.owner_id) != feed.source_version


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
    version = source_version(db, kind, feed.owner_id)
    meta, events = feed_content(db, ctx, kind, feed.owner_id, window_start)
    body = build_calendar(meta, events, dtstamp=now)
    etag = f'"{hashlib.sha256(body).hexdigest()[:40]}"'
    if etag != feed.etag:
        stamp = now.replace(microsecond=0)
        if feed.last_modified is not None and stamp <= feed.last_modified:
            stamp = feed.last_modified + timedelta(seconds=1)
        feed.body, feed.etag, feed.last_modified = body, etag, stamp
    feed.built_at = now
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
        except Exception as exc:  # the type only: a database error's words may quote a name
            log.error("could not refresh stored feed %s (%s)", feed_id, type(exc).__name__)
    return rebuilt


def source_version(db: Session, kind: FeedKind, owner_id: str) -> str:
    """Fingerprint of the owner's sessions: their number and the newest updated_at.

    Every change of a session stamps updated_at (and a new or removed session changes the
    number), so the pair moves whenever a feed's content may have. It covers all the owner's
    sessions, not just the window: a change to an old one costs a needless rebuild at most,
    while each half is a single seek on an (owner, updated_at) index, whatever the feed's size.
    Sessions that leave the window as time passes change neither; MAX_AGE rebuilds cover that.
    """
    number, latest = db.execute(
        _fingerprint_query(kind), {"owner": owner_key(kind, owner_id)}
    ).one()
    latest_text = latest.isoformat() if isinstance(latest, datetime) else str(latest)
    return f"{FORMAT_VERSION}:{number}:{latest_text}"
