"""What a client's own record reads with the client, in its one statement.

Every opt-out or opt-in of a number is recorded with the number's state row, so a client
loaded with `row_loads.CLIENT_RECORD` knows whether there is a history to read
(`Client.number_has_consent_state`) without a statement of its own. These tests hold that
short cut to the history itself: a number with no events reads none and sends nothing; a
number that opted out (in this session, or the one a client moves to) reads its events.

The record also joins the client's live feed token (`Client.live_feed_token`): its URL is
the one `feeds.current_feed_url` finds, and a rotation in the same session shows the new one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from scheduler.db.models import Client, PhoneConsent, PhoneConsentEvent
from scheduler.services import consent, feeds, phone_consent, row_loads
from tests import factories

AT = datetime(2027, 2, 1, 15, 0, tzinfo=UTC)


@contextmanager
def statements(db: Session) -> Iterator[list[str]]:
    sent: list[str] = []

    def count(_conn, _cursor, sql, *_rest) -> None:  # type: ignore[no-untyped-def]
        sent.append(sql)

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def record(db: Session, client_id: int) -> Client:
    """The client as its own record loads it (a fresh read, not the identity map's)."""
    db.expire_all()
    found = db.scalars(
        select(Client).where(Client.id == client_id).options(*row_loads.CLIENT_RECORD)
    ).unique()
    return found.one()


def test_a_number_that_never_opted_out_reads_no_history_and_sends_nothing(db, ctx):
    client = factories.client(db, ctx, phone="+12065550161")
    db.commit()
    loaded = record(db, client.id)
    with statements(db) as sent:
        assert phone_consent.history_of(db, loaded) == []
    assert sent == []


def test_an_opt_out_in_the_same_session_is_read(db, ctx):
    client = factories.client(db, ctx, phone="+12065550162")
    db.commit()
    loaded = record(db, client.id)
    assert loaded.number_has_consent_state is False
    phone_consent.opt_out(db, loaded.phone, at=AT, source="staff", recorded_by="desk@test")
    assert [e.event for e in phone_consent.history_of(db, loaded)] == ["opt_out"]
    db.commit()
    assert [e.event for e in phone_consent.history_of(db, record(db, client.id))] == ["opt_out"]


def test_moving_to_a_number_with_a_history_reads_that_numbers(db, ctx):
    stopped = "+12065550163"
    phone_consent.opt_out(db, stopped, at=AT, source="sms_keyword")
    client = factories.client(db, ctx, phone="+12065550164")
    db.commit()
    loaded = record(db, client.id)
    assert phone_consent.history_of(db, loaded) == []
    consent.update_client(db, ctx, client.id, consent.ClientChange(phone=stopped), actor="t")
    assert [e.event for e in phone_consent.history_of(db, loaded)] == ["opt_out"]


def test_every_number_with_events_has_a_state_row(db, ctx):
    """The invariant the short cut stands on, after opt-outs, opt-ins and a repeated STOP."""
    for phone in ("+12065550165", "+12065550166"):
        phone_consent.opt_out(db, phone, at=AT, source="sms_keyword")
        phone_consent.opt_out(db, phone, at=AT, source="sms_keyword")
    phone_consent.opt_in(db, "+12065550165", at=AT, source="sms_keyword")
    # An opt-in of a number that never opted out records nothing.
    assert phone_consent.opt_in(db, "+12065550167", at=AT, source="staff") is False
    db.commit()
    with_events = set(db.scalars(select(PhoneConsentEvent.phone)))
    with_state = set(db.scalars(select(PhoneConsent.phone)))
    assert with_events == {"+12065550165", "+12065550166"}
    assert with_events <= with_state


def test_the_feed_url_comes_with_the_client_and_follows_a_rotation(db, ctx):
    client = factories.client(db, ctx, phone="+12065550168")
    without = factories.client(db, ctx, phone="+12065550169")
    first = feeds.rotate_token(db, ctx, "client", client.id, actor="t")
    db.commit()
    bare = record(db, without.id)
    with statements(db) as sent:
        assert feeds.client_feed_url(ctx, bare) is None
    loaded = record(db, client.id)
    with statements(db) as sent_too:
        shown = feeds.client_feed_url(ctx, loaded)
    assert sent == sent_too == []
    assert shown == feeds.feed_url(ctx.settings, "client", first)
    assert shown == feeds.current_feed_url(db, ctx, "client", client.id)
    second = feeds.rotate_token(db, ctx, "client", client.id, actor="t")
    assert feeds.client_feed_url(ctx, loaded) == feeds.feed_url(ctx.settings, "client", second)
    db.commit()
    assert feeds.client_feed_url(ctx, record(db, client.id)) == feeds.feed_url(
        ctx.settings, "client", second
    )
