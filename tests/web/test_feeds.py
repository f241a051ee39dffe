"""The feed URLs over HTTP: headers, conditional requests, rotation, and feed_url in reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import icalendar
import pytest
from werkzeug.http import http_date, parse_date

from scheduler.services import feeds
from tests.integration.test_feeds import parse_feed
from tests.web.conftest import make_user_token


def path(url: str) -> str:
    parsed = urlparse(url)
    assert f"{parsed.scheme}://{parsed.netloc}" == "https://ipt.example.test"
    return parsed.path


@pytest.fixture
def people(api) -> dict[str, Any]:
    t = api.post(
        "/therapists",
        {"name": "Dr. Ada Byrne", "email": "ada@feeds.test", "location_ids": ["seattle"]},
    )
    assert t.status_code == 201, t.json
    c = api.post(
        "/clients",
        {
            "first_name": "Jo",
            "last_name": "Quintanilla",
            "phone": "(206) 555-0142",
            "home_location_id": "seattle",
            "sms_consent": True,
            "goal_prompt_consent": False,
        },
    )
    assert c.status_code == 201, c.json
    return {"therapist": t.json, "client": c.json}


def book(api, people, **over) -> dict[str, Any]:
    body = {
        "client_id": people["client"]["id"],
        "therapist_id": people["therapist"]["id"],
        "location_id": "seattle",
        "first_session_date": "2027-02-24",
        "start_time": "17:00",
        "session_count": 12,
        "duration_minutes": 50,
        "problem_area": "role_dispute",
        **over,
    }
    r = api.post("/series", body)
    assert r.status_code == 201, r.json
    return r.json


class Counter:
    """Counts every serialisation: scheduler.ical.build_calendar and icalendar's to_ical."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real_build = feeds.build_calendar
        real_to_ical = icalendar.cal.Component.to_ical

        def build(*a: Any, **k: Any) -> bytes:
            self.calls += 1
            return real_build(*a, **k)

        def to_ical(*a: Any, **k: Any) -> bytes:
            self.calls += 1
            return real_to_ical(*a, **k)

        monkeypatch.setattr(feeds, "build_calendar", build)
        monkeypatch.setattr(icalendar.cal.Component, "to_ical", to_ical)


def test_therapist_gets_a_working_feed_url_at_creation(client, api, people):
    url = people["therapist"]["feed_url"]
    assert url.startswith("https://ipt.example.test/feeds/therapists/") and url.endswith(".ics")
    assert api.get(f"/therapists/{people['therapist']['id']}").json["feed_url"] == url
    r = client.get(path(url))
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert r.headers["ETag"].startswith('"') and not r.headers["ETag"].startswith("W/")
    assert parse_date(r.headers["Last-Modified"]) is not None
    assert "private" in r.headers["Cache-Control"]
    assert parse_feed(r.data) == {}
    book(api, people)
    r2 = client.get(path(url))
    assert r2.headers["ETag"] != r.headers["ETag"]
    events = parse_feed(r2.data)
    assert len(events) == 12
    assert {e.summary for e in events.values()} == {f"J.Q. · IPT {k}/12" for k in range(1, 13)}
    assert b"Quintanilla" not in r2.data and b"555" not in r2.data
    assert b"role_dispute" not in r2.data and b"dispute" not in r2.data


def test_conditional_requests_get_304_without_any_serialisation(client, api, people, monkeypatch):
    book(api, people)
    url = path(people["therapist"]["feed_url"])
    first = client.get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    counter = Counter(monkeypatch)
    for headers in (
        {"If-None-Match": etag},
        {"If-None-Match": f'"nope", W/{etag}'},
        {"If-None-Match": "*"},
        {"If-Modified-Since": modified},
    ):
        r = client.get(url, headers=headers)
        assert r.status_code == 304, headers
        assert r.data == b""
        # RFC 9110 15.4.5: a 304 repeats ETag and Cache-Control (werkzeug drops the rest).
        assert r.headers["ETag"] == etag and "private" in r.headers["Cache-Control"]
    assert counter.calls == 0
    earlier = http_date(parse_date(modified) - timedelta(seconds=1))
    for headers in (
        {"If-None-Match": '"something-else"'},
        {"If-Modified-Since": earlier},
        # If-None-Match decides when present, even if If-Modified-Since would say 304.
        {"If-None-Match": '"something-else"', "If-Modified-Since": modified},
    ):
        r = client.get(url, headers=headers)
        assert r.status_code == 200 and r.data == first.data, headers
    assert counter.calls == 0  # a 200 from a fresh stored feed is a lookup too


def test_a_change_through_the_api_shows_at_the_next_request(client, api, people):
    series = book(api, people)
    url = path(people["therapist"]["feed_url"])
    before = client.get(url)
    moved = series["sessions"][4]
    r = api.patch(f"/sessions/{moved['id']}", {"starts_at_local": moved["local_date"] + "T10:00"})
    assert r.status_code == 200, r.json
    r = api.patch(
        f"/sessions/{series['sessions'][6]['id']}",
        {"status": "cancelled", "cancelled_by": "client"},
    )
    assert r.status_code == 200, r.json
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert parse_date(after.headers["Last-Modified"]) >= parse_date(before.headers["Last-Modified"])
    old, new = parse_feed(before.data), parse_feed(after.data)
    assert set(old) == set(new)
    uid = next(u for u in new if u.startswith(f"session-{moved['id']}-"))
    assert new[uid].start.hour == 10 and old[uid].start.hour == 17
    assert new[uid].sequence > old[uid].sequence
    cancelled = next(u for u in new if u.startswith(f"session-{series['sessions'][6]['id']}-"))
    assert new[cancelled].status == "CANCELLED" and old[cancelled].status == "CONFIRMED"


def test_rotation_makes_the_old_url_404_like_an_unknown_one(client, api, people):
    therapist_id = people["therapist"]["id"]
    old = path(people["therapist"]["feed_url"])
    assert client.get(old).status_code == 200
    rotated = api.post(f"/therapists/{therapist_id}/feed-token")
    assert rotated.status_code == 201 and set(rotated.json) == {"feed_url"}
    new = path(rotated.json["feed_url"])
    assert new != old
    assert client.get(new).status_code == 200
    revoked = client.get(old)
    unknown = client.get("/feeds/therapists/" + "A" * 43 + ".ics")
    malformed = client.get("/feeds/therapists/not!a!token.ics")
    wrong_kind = client.get(new.replace("/therapists/", "/clients/"))
    for r in (revoked, unknown, malformed, wrong_kind):
        assert r.status_code == 404
        assert (
            r.data == revoked.data and r.headers["Content-Type"] == revoked.headers["Content-Type"]
        )
    assert api.get(f"/therapists/{therapist_id}").json["feed_url"] == rotated.json["feed_url"]


def test_client_and_office_feeds(client, api, people):
    client_id = people["client"]["id"]
    assert api.get(f"/clients/{client_id}").json["feed_url"] is None  # none until asked for
    series = book(api, people)
    r = api.post(f"/clients/{client_id}/feed-token")
    assert r.status_code == 201
    assert api.get(f"/clients/{client_id}").json["feed_url"] == r.json["feed_url"]
    mine = parse_feed(client.get(path(r.json["feed_url"])).data)
    assert len(mine) == 12
    assert {e.summary for e in mine.values()} == {"Session with Dr. Ada Byrne · Seattle"}
    office = api.post("/locations/seattle/feed-token")
    assert office.status_code == 201
    assert api.get("/locations/seattle").json["feed_url"] == office.json["feed_url"]
    body = client.get(path(office.json["feed_url"])).data
    events = parse_feed(body)
    ids = {s["id"] for s in series["sessions"]}
    assert ids <= {int(u.split("-")[1]) for u in events}
    assert b"Quintanilla" not in body and b"0142" not in body
    assert api.post("/locations/atlantis/feed-token").status_code == 404
    assert api.post("/clients/999999/feed-token").status_code == 404
    assert api.post("/therapists/999999/feed-token").status_code == 404


def test_who_may_rotate_and_see_feed_urls(client, api, db, people):
    therapist_id = people["therapist"]["id"]
    own = make_user_token(db, "ada-user@feeds.test", "therapist", therapist_id=therapist_id)
    other = api.post(
        "/therapists", {"name": "Dr. Other", "email": "o@feeds.test", "location_ids": ["tucson"]}
    ).json
    desk = make_user_token(db, "desk@feeds.test", "front_desk", office_ids=["tucson"])

    def post(token: str, url: str) -> int:
        auth = {"Authorization": f"Bearer {token}"}
        return client.post(f"/api/v1{url}", headers=auth).status_code

    def get(token: str, url: str) -> Any:
        return client.get(f"/api/v1{url}", headers={"Authorization": f"Bearer {token}"}).json

    assert post(own, f"/therapists/{therapist_id}/feed-token") == 201
    assert post(own, f"/therapists/{other['id']}/feed-token") == 404  # out of reach
    assert post(own, "/locations/seattle/feed-token") == 403
    assert post(own, f"/clients/{people['client']['id']}/feed-token") == 404  # not theirs yet
    book(api, people)  # now the therapist treats the client: sees the record, not its feed
    assert post(own, f"/clients/{people['client']['id']}/feed-token") == 403
    assert "feed_url" not in get(own, "/locations/seattle")  # an office feed is staff-only
    assert "feed_url" not in get(own, f"/clients/{people['client']['id']}")
    assert get(own, f"/therapists/{therapist_id}")["feed_url"] is not None
    assert post(desk, "/locations/seattle/feed-token") == 403
    assert post(desk, f"/therapists/{therapist_id}/feed-token") == 404  # works elsewhere
    assert post(desk, f"/therapists/{other['id']}/feed-token") == 201
    assert post(desk, "/locations/tucson/feed-token") == 201
    assert get(desk, "/locations/tucson")["feed_url"] is not None


def test_head_request_carries_the_validators(client, people):
    url = path(people["therapist"]["feed_url"])
    r = client.head(url)
    assert r.status_code == 200 and r.data == b""
    assert r.headers["ETag"].startswith('"')
