"""Feed tokens (issue, rotate, resolve) and the worker that keeps stored feeds fresh."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from scheduler.db.models import FeedToken, StoredFeed
from scheduler.services import feeds, session_changes
from scheduler.services.errors import NotFound
from tests import factories
from tests.integration.test_feeds import at, book_series


@pytest.fixture
def therapist(db, ctx):
    return factories.therapist(db, ctx, "seattle", name="Dana Reyes")


@pytest.fixture
def token(db, ctx, therapist) -> str:
    return feeds.rotate_token(db, ctx, "therapist", therapist.id, actor="test")


def test_tokens_are_long_random_hashed_and_rotate_at_once(db, ctx, therapist, token):
    assert len(token) >= 43  # 256 bits in base64url; the issue asks for at least 128
    rows = db.scalars(
        select(FeedToken).where(
            FeedToken.owner_id == str(therapist.id), FeedToken.revoked_at.is_(None)
        )
    ).all()
    assert len(rows) == 1 and token not in (rows[0].token_hash, rows[0].nonce)
    assert feeds.resolve_token(db, "therapist", token) is not None
    assert feeds.resolve_token(db, "location", token) is None  # a token opens one kind only
    url = feeds.current_feed_url(db, ctx, "therapist", therapist.id)
    assert url == f"https://ipt.example.test/feeds/therapists/{token}.ics"
    fresh = feeds.rotate_token(db, ctx, "therapist", therapist.id, actor="test")
    assert fresh != token
    assert feeds.resolve_token(db, "therapist", token) is None
    assert feeds.lookup(db, ctx, "therapist", token) is None
    assert feeds.lookup(db, ctx, "therapist", token[:-1] + "x") is None
    assert feeds.lookup(db, ctx, "therapist", fresh) is not None
    assert feeds.current_feed_url(db, ctx, "therapist", therapist.id).endswith(f"/{fresh}.ics")


def test_a_new_secret_key_hides_the_url_but_keeps_it_working(db, ctx, therapist, token):
    other = replace(ctx, settings=replace(ctx.settings, secret_key="another-secret-key-9876543"))
    assert feeds.current_feed_url(db, other, "therapist", therapist.id) is None
    assert feeds.lookup(db, other, "therapist", token) is not None


def test_rotating_for_an_unknown_owner_is_not_found(db, ctx):
    for kind, owner in (("therapist", 999_999), ("location", "atlantis"), ("client", "x")):
        with pytest.raises(NotFound):
            feeds.rotate_token(db, ctx, kind, owner, actor="test")


def test_worker_rebuilds_only_what_changed(session_factory, ctx, monkeypatch):
    with session_factory() as db:
        therapist = factories.therapist(db, ctx, "seattle", name="Dana Reyes")
        series = book_series(db, ctx, therapist, "seattle", date(2027, 2, 24), 8)
        feeds.rotate_token(db, ctx, "therapist", therapist.id, actor="test")
        feeds.rotate_token(db, ctx, "location", "tucson", actor="test")
        db.commit()
        session_id = series.sessions[0].id
    assert feeds.refresh_stale_feeds(session_factory, ctx) >= 2  # never built: all are stale
    assert feeds.refresh_stale_feeds(session_factory, ctx) == 0
    with session_factory() as db:
        session_changes.cancel(db, ctx, session_id, cancelled_by="client", actor="test")
        db.commit()
    assert feeds.refresh_stale_feeds(session_factory, ctx) == 1
    with session_factory() as db:
        stored = db.scalars(
            select(StoredFeed).where(StoredFeed.owner_id == str(therapist.id))
        ).one()
        assert b"STATUS:CANCELLED" in stored.body and stored.event_count == 8
    # The day-old rule: every live feed is rebuilt once a day even if nothing changed.
    tomorrow = replace(ctx, clock=at(ctx.clock() + timedelta(days=1, minutes=1)))
    assert feeds.refresh_stale_feeds(session_factory, tomorrow) >= 2


def test_worker_skips_a_broken_feed_and_goes_on(session_factory, ctx, monkeypatch):
    with session_factory() as db:
        feeds.rotate_token(db, ctx, "location", "seattle", actor="test")
        feeds.rotate_token(db, ctx, "location", "tucson", actor="test")
        db.commit()
    real = feeds.feed_content

    def flaky(db, ctx, kind, owner_id, window_start):
        if owner_id == "seattle":
            raise RuntimeError("boom")
        return real(db, ctx, kind, owner_id, window_start)

    monkeypatch.setattr(feeds, "feed_content", flaky)
    assert feeds.refresh_stale_feeds(session_factory, ctx) >= 1
    with session_factory() as db:
        tucson = db.scalars(select(StoredFeed).where(StoredFeed.owner_id == "tucson")).one()
        assert tucson.etag is not None


def test_the_worker_has_a_feed_job_that_refreshes(container, session_factory, ctx):
    from types import SimpleNamespace

    from scheduler import worker

    (job,) = [j for j in worker.JOBS if j.run is worker.feeds_job]
    assert 0 < job.seconds(container.settings) <= 300
    with session_factory() as db:
        feeds.rotate_token(db, ctx, "location", "folsom", actor="test")
        db.commit()
    runtime = SimpleNamespace(container=container)
    assert job.run(runtime) >= 1  # the new feed was never built
    assert job.run(runtime) == 0  # nothing changed since
