"""Load and validate locations.yaml: the practice and its offices.

Validation collects every problem before raising, so whoever edits the file sees the whole list
at once. Nothing here touches Flask or the database; the result is built once at an edge and
passed down.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
)
US_STATES = frozenset(_STATE_CODES.split())
# Checks an office may downgrade from error to warning, with a stated reason.
ACKNOWLEDGEABLE = frozenset({"zip_state_mismatch"})

_TOP_KEYS = frozenset({"practice", "locations"})
_PRACTICE_KEYS = frozenset({"name", "phone"})
_DEFAULT_HOURS = {**{d: ["08:00-20:00"] for d in WEEKDAYS[:5]}, "sat": ["09:00-13:00"], "sun": []}
_SLUG = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_SPAN = re.compile(r"\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*")
_E164 = re.compile(r"\+[1-9]\d{1,14}")
_ZIP = re.compile(r"\d{5}")
_ADDRESS_TAIL = re.compile(r"[,\s]+([A-Z]{2})\s+(\d{5})(?:-\d{4})?\s*$")
_COUNTRY_TAIL = re.compile(r",?\s*(?:United States(?: of America)?|USA)\s*$", re.IGNORECASE)

Interval = tuple[time, time]


@dataclass(frozen=True)
class Closure:
    date: date
    reason: str


@dataclass(frozen=True)
class Location:
    id: str
    name: str
    address: str
    state: str
    zip: str
    timezone: str
    sms_number: str
    phone: str
    # Weekday (0 = Monday) -> open intervals in local wall-clock time. Excluded from the hash
    # because mappings are unhashable; equality still compares it.
    hours: Mapping[int, tuple[Interval, ...]] = field(hash=False)
    rooms: tuple[str, ...]
    closures: tuple[Closure, ...]
    reminder_leads_hours: tuple[int, ...] = (24, 2)
    sms_max_per_second: float | None = None
    # Local window in which texting is allowed (not the window in which it is forbidden).
    quiet_start: time = time(8)
    quiet_end: time = time(21)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def closure_on(self, day: date) -> Closure | None:
        """The closure covering ``day``, if the office is shut that day."""
        return next((c for c in self.closures if c.date == day), None)

    def is_open(self, day: date, start: time, end: time) -> bool:
        """True if the office is open for the whole local interval [start, end] on ``day``.

        Times are naive local wall-clock times at this office. A closure day is never open, and
        an interval that ends at or before its start (e.g. one wrapping midnight) never fits.
        """
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("is_open expects naive local wall-clock times")
        if end <= start or self.closure_on(day) is not None:
            return False
        return any(lo <= start and end <= hi for lo, hi in self.hours.get(day.weekday(), ()))


@dataclass(frozen=True)
class Practice:
    name: str
    phone: str


@dataclass(frozen=True)
class LocationBook:
    practice: Practice
    locations: tuple[Location, ...]
    # Each warning starts with "<office id>: " so it can be shown next to that office.
    warnings: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(loc.id for loc in self.locations)

    def get(self, id: str) -> Location | None:
        return next((loc for loc in self.locations if loc.id == id), None)

    def __getitem__(self, id: str) -> Location:
        loc = self.get(id)
        if loc is None:
            raise KeyError(f"no office {id!r}; known: {', '.join(self.ids)}")
        return loc

    def by_sms_number(self, e164: str) -> Location | None:
        """The office whose SMS sender is ``e164`` (tolerates non-canonical formatting)."""
        wanted = _canonical_e164(e164) or e164
        return next((loc for loc in self.locations if loc.sms_number == wanted), None)

    def warnings_for(self, location_id: str) -> tuple[str, ...]:
        return tuple(w for w in self.warnings if w.startswith(f"{location_id}: "))


class LocationsError(ValueError):
    """locations.yaml is unusable; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str], source: str = "locations.yaml") -> None:
        self.errors = list(errors)
        self.source = source
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(f"{source}: {len(self.errors)} problem(s):\n{lines}")


def load_locations(path: str | os.PathLike[str]) -> LocationBook:
    """Read and validate the file at ``path`` (OSError if it cannot be read)."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return parse_locations(text, source=os.fspath(path))


def parse_locations(text: str, source: str = "locations.yaml") -> LocationBook:
    """Validate locations YAML text; raise LocationsError listing every problem."""
    errors: list[str] = []
    warnings: list[str] = []
    data = _load_yaml(text, errors)
    if not errors and not isinstance(data, dict):
        errors.append("top level: expected a mapping with 'practice' and 'locations'")
    if errors:
        raise LocationsError(errors, source)
    for key in sorted(set(map(str, data)) - _TOP_KEYS):
        errors.append(f"top level: unknown key {key!r} (allowed: locations, practice)")
    practice = _parse_practice(data.get("practice"), errors)
    raw_offices = data.get("locations")
    if not isinstance(raw_offices, list) or not raw_offices:
        errors.append("locations: expected a non-empty list of offices")
        raw_offices = []
    raw_ids = [r.get("id") for r in raw_offices if isinstance(r, dict)]
    for dup in sorted({i for i in raw_ids if isinstance(i, str) and raw_ids.count(i) > 1}):
        errors.append(f"{dup}.id: used by more than one office")
    built = [_parse_office(raw, i, errors, warnings) for i, raw in enumerate(raw_offices)]
    offices = [loc for loc in built if loc is not None]
    _check_across_offices(offices, errors, warnings)
    if errors or practice is None:
        raise LocationsError(errors, source)
    return LocationBook(practice, tuple(offices), tuple(warnings))


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that records duplicate mapping keys instead of silently keeping the last."""

    duplicates: list[str]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen and key_node.tag != "tag:yaml.org,2002:merge":
                self.duplicates.append(
                    f"line {key_node.start_mark.line + 1}: duplicate key {key!r}"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _load_yaml(text: str, errors: list[str]) -> Any:
    loader = _StrictLoader(text)
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        errors.append(f"YAML syntax error at {where}: {getattr(exc, 'problem', None) or exc}")
        return None
    finally:
        loader.dispose()
    errors.extend(loader.duplicates)
    return data


class _Bad(Exception):
    """Problems with one field, as (sub-path, message); sub-path "" means the field itself."""

    def __init__(self, *problems: tuple[str, str] | str) -> None:
        self.problems = [p if isinstance(p, tuple) else ("", p) for p in problems]


def _check(errors: list[str], where: str, parse: Callable[..., Any], *args: Any) -> Any:
    """Run one field parser, turning its problems into error lines that name the field."""
    try:
        return parse(*args)
    except _Bad as bad:
        errors.extend(f"{where}{sub}: {msg}" for sub, msg in bad.problems)
        return None


def _parse_practice(raw: Any, errors: list[str]) -> Practice | None:
    if not isinstance(raw, dict):
        errors.append("practice: expected a mapping with 'name' and 'phone'")
        return None
    for key in sorted(set(map(str, raw)) - _PRACTICE_KEYS):
        errors.append(f"practice.{key}: unknown key (allowed: name, phone)")
    name = _check(errors, "practice.name", _text, raw.get("name"))
    phone = _check(errors, "practice.phone", _phone, raw.get("phone"))
    return Practice(name, phone) if name and phone else None


def _parse_office(raw: Any, index: int, errors: list[str], warnings: list[str]) -> Location | None:
    if not isinstance(raw, dict):
        errors.append(f"locations[{index}]: expected a mapping describing one office")
        return None
    raw_id = raw.get("id")
    ok_id = isinstance(raw_id, str) and _SLUG.fullmatch(raw_id) is not None
    label = str(raw_id) if ok_id else f"locations[{index}]"
    n_before = len(errors)
    if not ok_id:
        errors.append(f"{label}.id: {raw_id!r} must be a lower-case slug like 'port-washington'")
    for key in sorted(set(map(str, raw)) - _OFFICE_KEYS):
        errors.append(f"{label}.{key}: unknown key")
    v: dict[str, Any] = {}
    for key, parse, default in _OFFICE_FIELDS:
        v[key] = _check(errors, f"{label}.{key}", parse, raw.get(key, default))
    acks = v.pop("acknowledged_warnings") or {}
    quiet = v.pop("quiet_hours")
    if ok_id and v["address"] and v["state"] and v["zip"]:
        _check_address(label, v, acks, errors, warnings)
    if len(errors) > n_before or quiet is None:
        return None
    return Location(id=label, **v, quiet_start=quiet[0], quiet_end=quiet[1])


def _text(value: Any, hint: str = "") -> str:
    if value is None:
        raise _Bad("missing")
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"expected a non-empty string, got {value!r}{f' ({hint})' if hint else ''}")
    return value


def _rule(ok: Callable[[str], object], problem: str, hint: str = "") -> Callable[[Any], str]:
    """A parser for a string field that must pass ``ok``; ``problem`` formats the bad value."""

    def parse(value: Any) -> str:
        if not ok(text := _text(value, hint)):
            raise _Bad(problem.format(text))
        return text

    return parse


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _canonical_e164(value: str) -> str | None:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_state = _rule(US_STATES.__contains__, "{!r} is not a US state code")
_zip = _rule(_ZIP.fullmatch, "{!r} must be five digits", hint='quote it, e.g. "02090"')
_zone = _rule(_is_zone, "{!r} is not an IANA time zone (e.g. America/Chicago)")
_phone = _rule(
    lambda text: _E164.fullmatch(text) and _canonical_e164(text) == text,
    "{!r} is not a valid phone number in E.164 form (+15205550100)",
    hint='quote it, e.g. "+15205550100"',
)


def _span(value: Any) -> Interval:
    # YAML 1.1 reads an unquoted 13:00 as the integer 780, hence the advice to quote.
    if not isinstance(value, str):
        raise _Bad(f'expected a quoted "HH:MM-HH:MM" string, got {value!r}')
    if not (m := _SPAN.fullmatch(value)):
        raise _Bad(f"{value!r} is not HH:MM-HH:MM with times from 00:00 to 23:59")
    start, end = time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4]))
    if start >= end:
        raise _Bad(f"{value!r} must start before it ends")
    return start, end


def _hours(value: Any) -> Mapping[int, tuple[Interval, ...]]:
    if not isinstance(value, dict):
        raise _Bad("expected a mapping of mon..sun to lists of intervals")
    problems = [
        ("", f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
        for day in sorted(set(map(str, value)) - set(WEEKDAYS))
    ]
    result: dict[int, tuple[Interval, ...]] = {}
    for index, day in enumerate(WEEKDAYS):
        spans = value.get(day)
        if not isinstance(spans, list):
            # Every day must be listed: a missing day could mean "closed" or "forgot".
            problems.append((f".{day}", "expected a list of intervals ([] for closed)"))
            continue
        intervals: list[Interval] = []
        for span in spans:
            try:
                intervals.append(_span(span))
            except _Bad as bad:
                problems.extend((f".{day}", msg) for _, msg in bad.problems)
        intervals.sort()
        for (a0, a1), (b0, b1) in itertools.pairwise(intervals):
            if b0 <= a1:  # touching too: is_open could not fit a session across the seam
                span_a, span_b = f"{a0:%H:%M}-{a1:%H:%M}", f"{b0:%H:%M}-{b1:%H:%M}"
                problems.append((f".{day}", f"{span_a} and {span_b} overlap or touch; merge them"))
        result[index] = tuple(intervals)
    if problems:
        raise _Bad(*problems)
    return MappingProxyType(result)


def _rooms(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _Bad("expected a non-empty list of room names")
    names = [_text(v) for v in value]
    for dup in names:
        if names.count(dup) > 1:
            raise _Bad(f"room {dup!r} is listed more than once")
    return tuple(names)


def _date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # a datetime would be a moment, not a whole-day closure
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise _Bad(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _closures(value: Any) -> tuple[Closure, ...]:
    if not isinstance(value, list):
        raise _Bad("expected a list of {date, reason} entries ([] for none)")
    problems: list[tuple[str, str]] = []
    result: list[Closure] = []
    for i, item in enumerate(value):
        try:
            if not isinstance(item, dict) or set(item) != {"date", "reason"}:
                raise _Bad("expected exactly the keys date and reason")
            result.append(Closure(_date(item["date"]), _text(item["reason"])))
        except _Bad as bad:
            problems.extend((f"[{i}]", msg) for _, msg in bad.problems)
    days = [c.date for c in result]
    problems += [
        ("", f"{d} is listed more than once") for d in sorted(set(days)) if days.count(d) > 1
    ]
    if problems:
        raise _Bad(*problems)
    return tuple(sorted(result, key=lambda c: c.date))


def _leads(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise _Bad(f"expected a non-empty list of positive whole hours, got {value!r}")
    if not all(type(v) is int and v > 0 for v in value):  # type(): bool is not an hour count
        raise _Bad(f"lead times must be positive whole hours, got {value!r}")
    if len(set(value)) != len(value):
        raise _Bad(f"{value!r} repeats a lead time")
    return tuple(sorted(value, reverse=True))  # earliest reminder first


def _rate(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise _Bad(f"expected a number greater than 0, got {value!r}")
    return float(value)


def _acks(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _Bad("expected a mapping of check name to the reason it is accepted")
    for code, reason in value.items():
        if code not in ACKNOWLEDGEABLE:
            raise _Bad(f"{code!r} cannot be acknowledged (allowed: {', '.join(ACKNOWLEDGEABLE)})")
        if not isinstance(reason, str) or not reason.strip():
            raise _Bad(f"{code}: give the reason it is accepted")
    return dict(value)


# (key, parser, value when absent). Order matches Location's fields; quiet_hours and
# acknowledged_warnings are consumed before Location is built.
_OFFICE_FIELDS: tuple[tuple[str, Callable[[Any], Any], Any], ...] = (
    ("name", _text, None),
    ("address", _text, None),
    ("state", _state, None),
    ("zip", _zip, None),
    ("timezone", _zone, None),
    ("sms_number", _phone, None),
    ("phone", _phone, None),
    ("hours", _hours, _DEFAULT_HOURS),
    ("rooms", _rooms, None),
    ("closures", _closures, []),
    ("reminder_leads_hours", _leads, [24, 2]),
    ("sms_max_per_second", _rate, None),
    ("quiet_hours", _span, "08:00-21:00"),
    ("acknowledged_warnings", _acks, {}),
)
_OFFICE_KEYS = frozenset(["id", *(key for key, _, _ in _OFFICE_FIELDS)])


def _check_address(
    label: str, v: dict[str, Any], acks: dict[str, str], errors: list[str], warnings: list[str]
) -> None:
    # Imported here because zipcodes decompresses its whole dataset at import time.
    import zipcodes

    state, zip_code, timezone = v["state"], v["zip"], v["timezone"]
    tail = _ADDRESS_TAIL.search(_COUNTRY_TAIL.sub("", v["address"]))
    if tail is None:
        warnings.append(f"{label}: address does not end in 'ST 12345', so was not cross-checked")
    else:
        if tail[1] != state:
            errors.append(f"{label}.state: {state!r} but the address says {tail[1]!r}")
        if tail[2] != zip_code:
            errors.append(f"{label}.zip: {zip_code!r} but the address says {tail[2]!r}")
    records = zipcodes.matching(zip_code)
    if not records:
        errors.append(f"{label}.zip: {zip_code} is not a known US ZIP code")
        return
    zip_states = sorted({r["state"] for r in records})
    if state not in zip_states:
        problem = f"ZIP {zip_code} belongs to {'/'.join(zip_states)}, not {state}"
        if "zip_state_mismatch" in acks:
            warnings.append(f"{label}: {problem} ({acks['zip_state_mismatch']})")
        else:
            errors.append(
                f"{label}.zip: {problem} (if intended, add acknowledged_warnings: "
                "{zip_state_mismatch: <reason>})"
            )
        return
    if "zip_state_mismatch" in acks:
        warnings.append(f"{label}: ZIP {zip_code} is in {state}; drop its zip_state_mismatch ack")
    zip_zones = sorted({r["timezone"] for r in records if r.get("timezone")})
    if timezone and zip_zones and timezone not in zip_zones:
        warnings.append(
            f"{label}: timezone {timezone} differs from ZIP {zip_code}'s "
            f"{'/'.join(zip_zones)}; please verify"
        )


def _street_key(loc: Location) -> str:
    """The street part of an address, normalised, for spotting two offices at one address."""
    rest = _ADDRESS_TAIL.sub("", _COUNTRY_TAIL.sub("", loc.address)).strip(" ,")
    if "," in rest:
        rest = rest.rsplit(",", 1)[0]  # "street, City"
    elif rest.lower().endswith(" " + loc.name.lower()):
        rest = rest[: -len(loc.name)]  # "street City" with no comma, as in several seeds
    return " ".join(re.sub(r"[^\w#]+", " ", rest.lower()).split())


def _check_across_offices(locs: list[Location], errors: list[str], warnings: list[str]) -> None:
    # Offices that failed to build are already reported; these checks cover the rest.
    by_sms: dict[str, str] = {}
    for loc in locs:
        other = by_sms.setdefault(loc.sms_number, loc.id)
        if other != loc.id:
            errors.append(f"{loc.id}.sms_number: {loc.sms_number} is already {other}'s sender")
    by_street: dict[str, list[str]] = {}
    for loc in locs:
        by_street.setdefault(_street_key(loc), []).append(loc.id)
    for loc in locs:
        others = [i for i in by_street[_street_key(loc)] if i != loc.id]
        if others:
            warnings.append(
                f"{loc.id}: same street address as {', '.join(others)} ({loc.address}); "
                "please verify"
            )
