"""Tests for scheduler.locations: the real locations.yaml and the validator's error reports."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, time
from pathlib import Path
from typing import Any

import pytest
import yaml

from scheduler.locations import (
    Location,
    LocationBook,
    LocationsError,
    load_locations,
    parse_locations,
)

REPO = Path(__file__).resolve().parents[2]
SEEDS = Path("/work/shared/seeds")

# The nine address lines of the seed text, copied character for character.
SEED_ADDRESSES = {
    "tucson": "2900 E Broadway Blvd Ste 100 #600 Tucson, AZ 85716",
    "folsom": "1750 Prairie City Rd Suite 130 #843 Folsom, CA 95630",
    "miami": "1065 SW 8th St Unit #570 Miami, FL 33130",
    "westwood": "410 University Ave, Westwood, MA 02090",
    "baltimore": "1400 W Lombard St Unit #666, Baltimore, MD 21223",
    "parsippany": "90 E Halsey Rd Ste 333 #2033, Parsippany-Troy Hills, NJ 07054, United States",
    "port-washington": "191 Main Street #2188 Port Washington, NY 11050",
    "dallas": "1400 W Lombard St Unit #666, Dallas, TX 21223",
    "seattle": "6727 Martin Luther King Jr Way S Ste M #1008 Seattle, WA 98118",
}


@pytest.fixture(scope="module")
def book() -> LocationBook:
    return load_locations(REPO / "locations.yaml")


def test_real_file_has_the_nine_offices_in_order(book: LocationBook) -> None:
    assert book.ids == tuple(SEED_ADDRESSES)
    assert book.practice.name
    assert book.practice.phone.startswith("+1")


def test_real_addresses_are_verbatim(book: LocationBook) -> None:
    assert {loc.id: loc.address for loc in book.locations} == SEED_ADDRESSES


def test_real_addresses_match_the_seed_text_when_present() -> None:
    seeds = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    if not seeds:
        pytest.skip("seed text not available outside the shared workspace")
    lines = {line.strip() for path in seeds for line in path.read_text("utf-8").splitlines()}
    assert set(SEED_ADDRESSES.values()) <= lines


def test_real_zones_states_and_zips(book: LocationBook) -> None:
    zones = {loc.id: loc.timezone for loc in book.locations}
    assert zones["tucson"] == "America/Phoenix"
    assert zones["dallas"] == "America/Chicago"
    assert zones["folsom"] == zones["seattle"] == "America/Los_Angeles"
    assert book["tucson"].tz.key == "America/Phoenix"
    assert book["parsippany"].state == "NJ"
    assert book["westwood"].zip == "02090"  # leading zero survives (quoted in the file)


def test_real_sms_numbers_are_unique_e164(book: LocationBook) -> None:
    numbers = [loc.sms_number for loc in book.locations]
    assert len(set(numbers)) == 9
    assert all(n.startswith("+1") and n[1:].isdigit() and len(n) == 12 for n in numbers)
    assert book["tucson"].sms_number.startswith("+1520")


def test_real_dallas_warnings(book: LocationBook) -> None:
    dallas = book.warnings_for("dallas")
    assert any("ZIP 21223 belongs to MD, not TX" in w for w in dallas)
    assert any("same street address as baltimore" in w for w in dallas)
    assert any("same street address as dallas" in w for w in book.warnings_for("baltimore"))
    assert book.warnings_for("tucson") == ()


def test_real_per_office_options(book: LocationBook) -> None:
    assert (book["miami"].quiet_start, book["miami"].quiet_end) == (time(8), time(20))
    assert (book["tucson"].quiet_start, book["tucson"].quiet_end) == (time(8), time(21))
    assert book["tucson"].reminder_leads_hours == (24, 2)
    assert book["seattle"].reminder_leads_hours == (48, 2)
    assert book["tucson"].sms_max_per_second is None
    assert all(2 <= len(loc.rooms) <= 4 for loc in book.locations)


def test_lookups(book: LocationBook) -> None:
    assert book.get("nowhere") is None
    with pytest.raises(KeyError):
        book["nowhere"]
    assert book.by_sms_number(book["dallas"].sms_number) is book["dallas"]
    assert book.by_sms_number("+1 (214) 555-0181") is book["dallas"]
    assert book.by_sms_number("+12025550199") is None
    assert book.by_sms_number("not a number") is None


# --- a small valid document, mutated one way per test -----------------------------------

BASE: dict[str, Any] = {
    "practice": {"name": "Example Practice", "phone": "+18005550100"},
    "locations": [
        {
            "id": "tucson",
            "name": "Tucson",
            "address": "1 Main St, Tucson, AZ 85716",
            "state": "AZ",
            "zip": "85716",
            "timezone": "America/Phoenix",
            "sms_number": "+15205550111",
            "phone": "+15205550110",
            "hours": {
                "mon": ["08:00-12:00", "13:00-20:00"],
                "tue": ["08:00-20:00"],
                "wed": ["08:00-20:00"],
                "thu": ["08:00-20:00"],
                "fri": ["08:00-20:00"],
                "sat": ["09:00-13:00"],
                "sun": [],
            },
            "rooms": ["Room 1", "Room 2"],
            "closures": [{"date": "2027-03-12", "reason": "Staff training day"}],
        },
        {
            "id": "seattle",
            "name": "Seattle",
            "address": "2 Main St Seattle, WA 98118",
            "state": "WA",
            "zip": "98118",
            "timezone": "America/Los_Angeles",
            "sms_number": "+12065550191",
            "phone": "+12065550190",
            "rooms": ["Room 1", "Room 2"],
        },
    ],
}


def parse_mutated(mutate: Callable[[dict[str, Any]], None]) -> LocationBook:
    doc = copy.deepcopy(BASE)
    mutate(doc)
    return parse_locations(yaml.safe_dump(doc, sort_keys=False))


def office(doc: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return doc["locations"][index]


def test_base_document_is_valid_and_fills_defaults() -> None:
    book = parse_mutated(lambda doc: None)
    seattle = book["seattle"]
    assert book.warnings == ()
    assert seattle.hours[0] == ((time(8), time(20)),)  # default hours when "hours" is left out
    assert seattle.hours[6] == ()
    assert seattle.closures == ()


def _set(index: int, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda doc: office(doc, index).__setitem__(key, value)


def _set_hours(day: str, spans: list[str]) -> Callable[[dict[str, Any]], None]:
    return lambda doc: office(doc)["hours"].__setitem__(day, spans)


BAD_INPUTS: list[tuple[str, Callable[[dict[str, Any]], None], list[str]]] = [
    ("bad zone", _set(0, "timezone", "America/Tuscon"), ["tucson.timezone", "America/Tuscon"]),
    ("unknown zip", _set(0, "zip", "00000"), ["tucson.zip", "not a known US ZIP"]),
    ("zip not 5 digits", _set(0, "zip", "8571"), ["tucson.zip", "five digits"]),
    ("unquoted zip", _set(0, "zip", 85716), ["tucson.zip", "quote it"]),
    (
        "zip in another state",
        lambda doc: office(doc).update(zip="21223", address="1 Main St, Tucson, AZ 21223"),
        ["tucson.zip", "ZIP 21223 belongs to MD, not AZ", "acknowledged_warnings"],
    ),
    ("address disagrees with zip", _set(0, "zip", "85719"), ["tucson.zip", "address says"]),
    ("not a state", _set(0, "state", "XX"), ["tucson.state", "not a US state code"]),
    ("duplicate id", _set(1, "id", "tucson"), ["tucson.id", "more than one office"]),
    ("id not a slug", _set(1, "id", "Port Washington"), ["locations[1].id", "slug"]),
    ("hours out of range", _set_hours("tue", ["25:00-26:00"]), ["tucson.hours.tue", "25:00"]),
    ("hours backwards", _set_hours("wed", ["20:00-08:00"]), ["tucson.hours.wed", "before"]),
    (
        "hours overlap",
        _set_hours("thu", ["08:00-13:00", "12:00-20:00"]),
        ["tucson.hours.thu", "overlap"],
    ),
    ("unknown weekday", _set_hours("tues", ["08:00-20:00"]), ["tucson.hours", "'tues'"]),
    (
        "missing weekday",
        lambda doc: office(doc)["hours"].pop("sun"),
        ["tucson.hours.sun", "[] for closed"],
    ),
    ("bad phone", _set(0, "phone", "555-0110"), ["tucson.phone", "E.164"]),
    ("invalid number", _set(0, "sms_number", "+15555550111"), ["tucson.sms_number", "E.164"]),
    (
        "duplicate sms number",
        _set(1, "sms_number", "+15205550111"),
        ["seattle.sms_number", "+15205550111", "tucson"],
    ),
    ("unknown key", _set(0, "colour", "blue"), ["tucson.colour", "unknown key"]),
    ("missing key", lambda doc: office(doc).pop("timezone"), ["tucson.timezone", "missing"]),
    ("duplicate room", _set(0, "rooms", ["A", "A"]), ["tucson.rooms", "'A'"]),
    (
        "bad closure date",
        _set(0, "closures", [{"date": "2027-02-30", "reason": "x"}]),
        ["tucson.closures[0]", "2027-02-30"],
    ),
    ("zero lead", _set(0, "reminder_leads_hours", [24, 0]), ["tucson.reminder_leads_hours"]),
    ("bad rate", _set(0, "sms_max_per_second", 0), ["tucson.sms_max_per_second"]),
    ("bad quiet window", _set(0, "quiet_hours", "21:00-08:00"), ["tucson.quiet_hours"]),
    (
        "unknown acknowledgement",
        _set(0, "acknowledged_warnings", {"anything_goes": "x"}),
        ["tucson.acknowledged_warnings", "anything_goes"],
    ),
    ("practice phone", lambda doc: doc["practice"].update(phone="0"), ["practice.phone"]),
    ("top-level key", lambda doc: doc.update(extra=1), ["top level", "'extra'"]),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [(m, e) for _, m, e in BAD_INPUTS], ids=[n for n, _, _ in BAD_INPUTS]
)
def test_bad_input_names_office_and_field(
    mutate: Callable[[dict[str, Any]], None], expected: list[str]
) -> None:
    with pytest.raises(LocationsError) as info:
        parse_mutated(mutate)
    message = str(info.value)
    for fragment in expected:
        assert fragment in message
    assert info.value.errors


def test_all_problems_are_reported_together() -> None:
    def two_problems(doc: dict[str, Any]) -> None:
        office(doc, 0)["timezone"] = "Mars/Olympus"
        office(doc, 1)["phone"] = "12"

    with pytest.raises(LocationsError) as info:
        parse_mutated(two_problems)
    assert len(info.value.errors) == 2
    assert "tucson.timezone" in info.value.errors[0]
    assert "seattle.phone" in info.value.errors[1]


def test_acknowledged_zip_state_mismatch_is_a_warning() -> None:
    def acknowledged(doc: dict[str, Any]) -> None:
        office(doc).update(
            zip="21223",
            address="1 Main St, Tucson, AZ 21223",
            acknowledged_warnings={"zip_state_mismatch": "kept as given"},
        )

    book = parse_mutated(acknowledged)
    assert book.warnings_for("tucson") == (
        "tucson: ZIP 21223 belongs to MD, not AZ (kept as given)",
    )
    assert book.warnings_for("seattle") == ()


def test_yaml_syntax_error_gives_the_line() -> None:
    lines = (REPO / "locations.yaml").read_text("utf-8").splitlines()
    at = lines.index("  - id: miami")
    lines[at + 1] = "    name: Miami: Brickell"  # a second ": " in a plain scalar
    with pytest.raises(LocationsError) as info:
        parse_locations("\n".join(lines), source="edited.yaml")
    assert str(info.value).startswith("edited.yaml:")
    assert f"YAML syntax error at line {at + 2}," in str(info.value)


def test_duplicate_yaml_key_is_an_error() -> None:
    text = yaml.safe_dump(BASE, sort_keys=False).replace(
        "  rooms:\n", "  rooms: [Spare]\n  rooms:\n", 1
    )
    with pytest.raises(LocationsError, match="duplicate key 'rooms'"):
        parse_locations(text)


def test_yaml_anchors_and_aliases_are_accepted() -> None:
    text = yaml.safe_dump(BASE, sort_keys=False)
    text = text.replace("  hours:\n", "  hours: &std\n", 1)
    head, _, tail = text.rpartition("  rooms:\n")  # the second office, which has no hours
    text = f"{head}  hours: *std\n  rooms:\n{tail}"
    book = parse_locations(text)
    assert book["seattle"].hours[0] == book["tucson"].hours[0]


# --- behaviour of a loaded office ------------------------------------------------------


@pytest.fixture
def tucson() -> Location:
    return parse_mutated(lambda doc: None)["tucson"]


MONDAY, SUNDAY, CLOSED_FRIDAY = date(2027, 3, 8), date(2027, 3, 14), date(2027, 3, 12)


@pytest.mark.parametrize(
    ("day", "start", "end", "expected"),
    [
        (MONDAY, time(8), time(8, 50), True),  # opening minute
        (MONDAY, time(11, 10), time(12), True),  # ends exactly at the lunch break
        (MONDAY, time(11, 30), time(12, 20), False),  # runs into the lunch break
        (MONDAY, time(7, 30), time(8, 20), False),  # starts before opening
        (MONDAY, time(19, 30), time(20, 20), False),  # runs past closing
        (SUNDAY, time(10), time(10, 50), False),  # closed day
        (CLOSED_FRIDAY, time(10), time(10, 50), False),  # staff training day
        (date(2027, 3, 19), time(10), time(10, 50), True),  # the next Friday
        (MONDAY, time(10), time(10), False),  # empty interval
    ],
)
def test_is_open(tucson: Location, day: date, start: time, end: time, expected: bool) -> None:
    assert tucson.is_open(day, start, end) is expected


def test_is_open_rejects_aware_times(tucson: Location) -> None:
    with pytest.raises(ValueError, match="naive"):
        tucson.is_open(MONDAY, time(9, tzinfo=UTC), time(10))


def test_closure_on(tucson: Location) -> None:
    closure = tucson.closure_on(CLOSED_FRIDAY)
    assert closure is not None
    assert closure.reason == "Staff training day"
    assert tucson.closure_on(date(2027, 3, 19)) is None


def test_late_cancel_window_defaults_to_a_day_and_can_be_set() -> None:
    assert parse_mutated(lambda doc: None)["seattle"].late_cancel_hours == 24
    book = parse_mutated(_set(0, "late_cancel_hours", 48))
    assert book["tucson"].late_cancel_hours == 48


@pytest.mark.parametrize("value", [-1, 200, "24", True, 1.5])
def test_a_bad_late_cancel_window_is_named(value: Any) -> None:
    with pytest.raises(LocationsError) as caught:
        parse_mutated(_set(0, "late_cancel_hours", value))
    assert "tucson.late_cancel_hours" in str(caught.value)
