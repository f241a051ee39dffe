"""Read locations.yaml: strict YAML loading, office assembly and the cross-field checks.

Validation collects every problem before raising, so whoever edits the file sees the whole list
at once. Nothing here touches Flask or the database; the result is built once at an edge and
passed down.
"""

from __future__ import annotations

import os
import re
from typing import Any

import yaml

from .fields import _OFFICE_FIELDS, _OFFICE_KEYS, _check, _phone, _text
from .model import Location, LocationBook, LocationsError, Practice

_TOP_KEYS = frozenset({"practice", "locations"})
_PRACTICE_KEYS = frozenset({"name", "phone"})
_SLUG = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_ADDRESS_TAIL = re.compile(r"[,\s]+([A-Z]{2})\s+(\d{5})(?:-\d{4})?\s*$")
_COUNTRY_TAIL = re.compile(r",?\s*(?:United States(?: of America)?|USA)\s*$", re.IGNORECASE)


def load_locations(path: str | os.PathLike[str]) -> LocationBook:
    """Read and validate the file at ``path``; LocationsError names it when it cannot be read
    (every edge reports that as one line, not a traceback)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise LocationsError(
            [
                f"cannot read the file: {why} (LOCATIONS_FILE names it; the default is "
                "locations.yaml in the working directory)"
            ],
            os.fspath(path),
        ) from exc
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
