"""Offices, therapists, clients, the history of each client's consents, and each phone
number's opt-out state with its history."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    exists,
    func,
    literal_column,
    select,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from ..types import UTCDateTime, utcnow
from .base import Base, only_on

if TYPE_CHECKING:
    from .feeds import FeedToken

therapist_offices = Table(
    "therapist_offices",
    Base.metadata,
    Column("therapist_id", ForeignKey("therapists.id", ondelete="CASCADE"), primary_key=True),
    Column("office_id", ForeignKey("offices.id"), primary_key=True),
)


class Office(Base):
    """A row mirrored from locations.yaml, which stays the source of truth."""

    __tablename__ = "offices"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300))
    timezone: Mapped[str] = mapped_column(String(64))
    sms_number: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Therapist(Base):
    __tablename__ = "therapists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offices: Mapped[list[Office]] = relationship(secondary=therapist_offices)


class PhoneConsent(Base):
    """Whether a phone number has opted out of texts: the current state, one row per number.

    An opt-out (STOP, Twilio's 21610) belongs to the number, not to a client record: it applies
    to every client with that number, including records created later, until START from that
    number or a staff re-consent. Written only by `services.phone_consent`.
    """

    __tablename__ = "phone_consents"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


PHONE_CONSENT_EVENTS = ("opt_out", "opt_in")


class PhoneConsentEvent(Base):
    """One opt-out or opt-in of a number: how (source), by which text, and when."""

    __tablename__ = "phone_consent_events"
    __table_args__ = (CheckConstraint("event IN ('opt_out', 'opt_in')", name="event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    event: Mapped[str] = mapped_column(String(10))
    # sms_keyword | sms_words | twilio | staff | migration
    source: Mapped[str] = mapped_column(String(40))
    inbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id"), nullable=True
    )
    recorded_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Client(Base):
    __tablename__ = "clients"
    # `LIKE '%text%'` on the name or the phone number cannot use a B-tree: trigram indexes
    # serve client search on PostgreSQL (migration 0018; pg_trgm ships with PostgreSQL).
    # SQLite scans, as an embedded practice's few thousand clients allow. The name's is
    # CLIENT_SEARCH_NAME (below) written as PostgreSQL shows it back, so that comparing the
    # models with the migrated schema finds them the same; tests/integration/
    # test_client_search.py checks that the search's plan uses it.
    __table_args__ = (
        only_on(
            "postgresql",
            Index(
                "ix_clients_search_name",
                literal_column("lower((first_name::text || ' '::text) || last_name::text)").label(
                    "search_name"
                ),
                postgresql_using="gin",
                postgresql_ops={"search_name": "gin_trgm_ops"},
            ),
        ),
        only_on(
            "postgresql",
            Index(
                "ix_clients_search_phone",
                "phone",
                postgresql_using="gin",
                postgresql_ops={"phone": "gin_trgm_ops"},
            ),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    timezone: Mapped[str] = mapped_column(String(64))
    home_office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"))
    # The language the client is texted in and their link pages are shown in ("en", "es").
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # Current consent state; the full history lives in consent_events.
    sms_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    goal_prompt_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    goal_detail_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    # The opt-out of this client's number (see PhoneConsent), loaded with the client. Read it
    # as `opted_out_at`; it changes only through services.phone_consent.
    _number_opted_out_at: Mapped[datetime | None] = column_property(
        select(PhoneConsent.opted_out_at)
        .where(PhoneConsent.phone == phone)
        .correlate_except(PhoneConsent)
        .scalar_subquery()
    )
    # Whether the number has a consent state row. Every opt-out or opt-in of a number is
    # recorded with one (services.phone_consent), so a number without it has no history to
    # read. Loaded only where asked for (the client's own record).
    number_has_consent_state: Mapped[bool] = column_property(
        exists().where(PhoneConsent.phone == phone).correlate_except(PhoneConsent),
        deferred=True,
    )
    # What is read from the number's state: expired whenever the number or its state changes.
    NUMBER_STATE: ClassVar[tuple[str, ...]] = ("_number_opted_out_at", "number_has_consent_state")
    phone_undeliverable_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    phone_undeliverable_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when an admin merged this record into another: the row stays for history and audit,
    # but answers as not found and matches no phone.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id"), nullable=True, index=True
    )
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    home_office: Mapped[Office] = relationship()
    # Loaded when read (a client's own page and API answer), not with every client a list,
    # day sheet or inbox shows.
    consent_events: Mapped[list[ConsentEvent]] = relationship(
        back_populates="client", order_by="ConsentEvent.id"
    )
    # The client's live calendar-feed token, if one was issued (services.feeds keeps at most
    # one live per owner: issuing revokes the earlier ones under a lock on the owner). Joined
    # into the client's own record, which shows the feed URL to those who may rotate it.
    live_feed_token: Mapped[FeedToken | None] = relationship(
        primaryjoin="and_(FeedToken.owner_kind == 'client', "
        "foreign(FeedToken.owner_id) == cast(Client.id, String), "
        "FeedToken.revoked_at.is_(None))",
        viewonly=True,
        uselist=False,
    )

    @hybrid_property
    def opted_out_at(self) -> datetime | None:
        """When the client's number opted out of texts; None: it has not (or opted back in).

        No setter on purpose: an opt-out is the number's, recorded with its history.
        """
        return self._number_opted_out_at

    @opted_out_at.inplace.expression
    @classmethod
    def _opted_out_at_expression(cls) -> Any:
        return cls._number_opted_out_at.expression.label("opted_out_at")

    @property
    def initials(self) -> str:
        return f"{self.first_name[:1]}.{self.last_name[:1]}.".upper()


# What client search matches a name against (frontdesk.reads.search_clients): the full name,
# lower-cased. The separator is written into the SQL, not bound: a bound one makes the
# expression differ from the index's in a prepared statement's generic plan, and the index
# would go unused. A last name alone needs no term of its own (it is part of the full name).
CLIENT_SEARCH_NAME = func.lower(Client.first_name + literal_column("' '") + Client.last_name)


class ConsentEvent(Base):
    """One change of one consent: what, granted or withdrawn, when, and from where."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # sms_reminders | goal_prompts | goal_details
    granted: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(40))  # api | web | sms | twilio | demo
    recorded_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    client: Mapped[Client] = relationship(back_populates="consent_events")
