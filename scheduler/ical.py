"""Build iCalendar (RFC 5545) feeds for therapists, offices and clients from plain values.

icalendar's object model costs on the order of a hundred microseconds per event, and a feed
that is rebuilt because one session changed would pay that for every unchanged session too.
So each VEVENT's text is a pure function of its FeedEvent: icalendar renders it once (its
escaping, folding and date formatting are the library's) and a bounded LRU cache keeps the
bytes. VTIMEZONE blocks are cached per (tzid, years) and the calendar header per FeedMeta;
assembling a feed is then a loop of cache hits and one ``b"".join``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, Timezone, vDuration, vText
from icalendar.parser import escape_char
from icalendar.timezone.tzid import tzid_from_tzinfo

__all__ = [
    "EVENT_CACHE_SIZE",
    "FeedEvent",
    "FeedMeta",
    "Status",
    "build_calendar",
    "clear_caches",
]

Status = Literal["CONFIRMED", "CANCELLED", "TENTATIVE"]
_STATUSES: frozenset[str] = frozenset(get_args(Status))

# One entry holds a FeedEvent (the key) and its VEVENT bytes: about 1.2 KB together (measured
# by bench/feeds.py), so the bound caps the cache near 120 MB per process. That is every
# session of a large practice's feeds for a year or more; older entries simply re-render.
EVENT_CACHE_SIZE = 100_000

# Calendar-level lines other than the header and VTIMEZONEs; written once per build.
_END = b"END:VCALENDAR\r\n"

# RFC 5545 TEXT may not carry control characters other than HTAB. icalendar escapes LF and
# CRLF but would write a lone CR raw, which ends the content line early; other C0 controls
# are dropped because no calendar client can show them.
_CONTROLS = re.compile(r"\r\n?|[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class FeedEvent:
    """One session as a feed shows it. Frozen, so it is hashable and can key the text cache."""

    uid: str  # stable per session, never changes across reschedules
    sequence: int  # session revision
    summary: str
    starts_at: datetime  # aware UTC
    ends_at: datetime  # aware UTC
    tzid: str  # office IANA zone; DTSTART/DTEND are written as its local time with TZID
    location: str
    status: Status
    last_modified: datetime  # aware UTC
    description: str | None = None


@dataclass(frozen=True)
class FeedMeta:
    """Calendar-level properties of one feed."""

    name: str  # X-WR-CALNAME
    refresh: timedelta  # REFRESH-INTERVAL and X-PUBLISHED-TTL
    prodid: str = "-//IPT Scheduler//EN"


def build_calendar(meta: FeedMeta, events: Iterable[FeedEvent], *, dtstamp: datetime) -> bytes:
    """Serialise one feed as RFC 5545 bytes (CRLF line ends, folded at 75 octets).

    Events are written in the order given. ``dtstamp`` is the instant of this build; it is not
    written into events whose text is unchanged (see ``_render_vevent``) and only caps the
    DTSTAMP of an event whose ``last_modified`` lies after it (clock skew), so no event claims
    to have been issued later than the feed that carries it. Duplicate UIDs are refused.
    """
    _require_aware("dtstamp", dtstamp)
    parts: list[bytes] = [b""]  # slot 0 becomes header + VTIMEZONEs once the zones are known
    append = parts.append
    cached = _cached_vevent
    uids: set[str] = set()
    # tzid -> [earliest start, latest end] (UTC), to choose the years each VTIMEZONE covers.
    spans: dict[str, list[datetime]] = {}
    for event in events:
        try:
            fresh = event.last_modified <= dtstamp
        except TypeError:
            raise ValueError(f"{event.uid!r}: last_modified must be timezone-aware") from None
        append(cached(event) if fresh else _render_vevent(event, dtstamp))
        if event.uid in uids:
            raise ValueError(f"duplicate uid in one feed: {event.uid!r}")
        uids.add(event.uid)
        span = spans.get(event.tzid)
        if span is None:
            spans[event.tzid] = [event.starts_at, event.ends_at]
        else:
            if event.starts_at < span[0]:
                span[0] = event.starts_at
            if event.ends_at > span[1]:
                span[1] = event.ends_at

    zoned = sorted(tzid for tzid in spans if not _is_utc(tzid))
    single = zoned[0] if len(zoned) == 1 and len(spans) == 1 else None
    head = [_header(meta, single)]
    for tzid in zoned:
        first, last = spans[tzid]
        # UTC and local dates differ by less than a day, so widening by a day on each side
        # keeps every local date of the feed inside the years the VTIMEZONE covers.
        head.append(
            _vtimezone(tzid, (first - timedelta(days=1)).year, (last + timedelta(days=1)).year)
        )
    parts[0] = b"".join(head)
    append(_END)
    return b"".join(parts)


def clear_caches() -> None:
    """Forget every cached VEVENT, VTIMEZONE and header (tests and benchmarks use this)."""
    _cached_vevent.cache_clear()
    _vtimezone.cache_clear()
    _header.cache_clear()
    _zone.cache_clear()


def _render_vevent(event: FeedEvent, dtstamp: datetime) -> bytes:
    """Render one VEVENT with icalendar after checking the event's values.

    DTSTAMP is the event's last modification, not the time of the request. RFC 5545 makes it
    the moment this iCalendar object was created; an unchanged session's VEVENT is the same
    object served again, created when the session last changed. Clients order revisions by
    SEQUENCE and then DTSTAMP, which last_modified serves just as well because it grows with
    every revision. A request-time stamp would instead make unchanged events look reissued on
    every poll, keep the text from being cached, and change the body of every response, so no
    ETag could ever match.
    """
    uid = _clean(event.uid).strip()
    if not uid:
        raise ValueError("uid must not be empty")
    if isinstance(event.sequence, bool) or not isinstance(event.sequence, int):
        raise ValueError(f"{uid}: sequence must be an int")
    if event.sequence < 0:
        raise ValueError(f"{uid}: sequence must not be negative")
    for field in ("starts_at", "ends_at", "last_modified"):
        _require_aware(f"{uid}: {field}", getattr(event, field))
    if event.ends_at <= event.starts_at:
        raise ValueError(f"{uid}: ends_at must be after starts_at")
    if event.status not in _STATUSES:
        raise ValueError(f"{uid}: status must be one of {sorted(_STATUSES)}")
    zone = _zone(event.tzid)

    vevent = Event()
    vevent.add("UID", _Text(uid))
    vevent.add("SEQUENCE", event.sequence)
    vevent.add("DTSTAMP", dtstamp.astimezone(UTC))
    for name, instant in (("DTSTART", event.starts_at), ("DTEND", event.ends_at)):
        local = instant.astimezone(zone)
        if _is_utc(event.tzid) or _second_of_repeated_hour(local):
            # A local time with TZID always means the first of a repeated hour (RFC 5545
            # 3.3.5), so the second one can only be written as a UTC instant.
            vevent.add(name, instant.astimezone(UTC))
        else:
            # TZID set explicitly: icalendar would otherwise pick its own name among equal
            # zones, which might not match the VTIMEZONE written for event.tzid.
            vevent.add(name, local, parameters={"TZID": event.tzid})
    vevent.add("SUMMARY", _Text(_clean(event.summary)))
    vevent.add("LOCATION", _Text(_clean(event.location)))
    vevent.add("STATUS", event.status)
    vevent.add("LAST-MODIFIED", event.last_modified.astimezone(UTC))
    if event.description:  # an empty description is treated as none
        vevent.add("DESCRIPTION", _Text(_clean(event.description)))
    return vevent.to_ical()


@functools.lru_cache(maxsize=EVENT_CACHE_SIZE)
def _cached_vevent(event: FeedEvent) -> bytes:
    return _render_vevent(event, event.last_modified)


@functools.lru_cache(maxsize=256)
def _vtimezone(tzid: str, first_year: int, last_year: int) -> bytes:
    """VTIMEZONE for ``tzid`` from 1 January of first_year to the end of last_year."""
    # icalendar derives the observances from zoneinfo: one STANDARD/DAYLIGHT per offset change
    # in the window with RDATEs for the following years, or a single STANDARD for a zone
    # without DST such as America/Phoenix.
    component = Timezone.from_tzid(
        tzid, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1)
    )
    return component.to_ical()


@functools.lru_cache(maxsize=1024)
def _header(meta: FeedMeta, single_tzid: str | None) -> bytes:
    """BEGIN:VCALENDAR and the calendar properties, without the closing line."""
    seconds = meta.refresh.total_seconds()
    if seconds <= 0 or seconds != int(seconds):
        raise ValueError("refresh must be a positive whole number of seconds")
    calendar = Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", _Text(_clean(meta.prodid)))
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    calendar.add("X-WR-CALNAME", _Text(_clean(meta.name)))
    if single_tzid is not None:
        calendar.add("X-WR-TIMEZONE", single_tzid)
    # Both take a DURATION; icalendar would write a bare timedelta as Python's "1:00:00" text.
    calendar.add("REFRESH-INTERVAL", vDuration(meta.refresh), parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(meta.refresh))
    text = calendar.to_ical()
    if not text.endswith(_END):
        raise AssertionError("icalendar changed how it closes a VCALENDAR")
    return text[: -len(_END)]


@functools.lru_cache(maxsize=256)
def _zone(tzid: str) -> ZoneInfo:
    try:
        return ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"tzid is not a known IANA zone: {tzid!r}") from None


def _is_utc(tzid: str) -> bool:
    """True for zones icalendar writes as UTC ("Z") values, which need no VTIMEZONE."""
    return tzid_from_tzinfo(_zone(tzid)) == "UTC"


def _second_of_repeated_hour(local: datetime) -> bool:
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def _require_aware(what: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")


def _clean(text: str) -> str:
    if not isinstance(text, str):
        raise ValueError(f"expected text, got {type(text).__name__}")
    return _CONTROLS.sub(lambda m: "\n" if m.group().startswith("\r") else "", text)


class _Text(vText):
    """vText that keeps a literal backslash-N.

    icalendar's ``escape_char`` first turns the two characters ``\\N`` into a newline (it reads
    its input as if already escaped), so "C:\\Notes" would come out as "C:" and a line break.
    Backslashes are parked on NUL (never present after ``_clean``) while the library escapes
    the rest, then written as the escaped pair ``\\\\``.
    """

    def to_ical(self) -> bytes:
        if "\\" not in self:
            return super().to_ical()
        escaped = escape_char(self.replace("\\", "\x00")).replace("\x00", "\\\\")
        return escaped.encode(self.encoding)
