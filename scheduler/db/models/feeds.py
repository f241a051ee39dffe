"""Calendar feeds: the secret tokens in their URLs and the rendered bytes served to subscribers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..types import UTCDateTime, utcnow
from .base import Base

FEED_KINDS = ("therapist", "location", "client")


class FeedToken(Base):
    """The secret in one feed URL. Only its SHA-256 is stored, plus the nonce it is derived from.

    The token itself is HMAC(secret key, nonce): the database alone cannot yield a working URL,
    yet staff can be shown the current URL again (see services.feeds). `owner_id` is text
    because office ids are strings while therapist and client ids are integers.
    """

    __tablename__ = "feed_tokens"
    __table_args__ = (Index("ix_feed_tokens_owner", "owner_kind", "owner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(20))  # therapist | location | client
    owner_id: Mapped[str] = mapped_column(String(40))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StoredFeed(Base):
    """The last rendering of one owner's feed, so a poll is a lookup rather than a build.

    `source_version` fingerprints the owner's sessions the body was built from (how many, and
    the newest updated_at); when the same query gives another answer the body is stale, and
    so is a body built more than a day ago (sessions leave the window as time passes).
    `last_modified` only ever moves forward: it is the time the bytes last changed, not a
    property of the sessions inside them.
    """

    __tablename__ = "stored_feeds"
    __table_args__ = (UniqueConstraint("owner_kind", "owner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[str] = mapped_column(String(40))
    # Deferred: answering a conditional request (304) needs the validators, never the bytes.
    body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    etag: Mapped[str | None] = mapped_column(String(80), nullable=True)
    last_modified: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    built_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    source_version: Mapped[str | None] = mapped_column(String(120), nullable=True)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
