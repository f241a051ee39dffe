"""Load and validate locations.yaml: the practice and its offices.

``model`` holds the dataclasses, ``fields`` the per-field parsers, ``loader`` the YAML reading
and the checks that span fields or offices. Import from here, not from the submodules.
"""

from __future__ import annotations

from .fields import ACKNOWLEDGEABLE, US_STATES, WEEKDAYS
from .loader import load_locations, parse_locations
from .model import Closure, Interval, Location, LocationBook, LocationsError, Practice

__all__ = [
    "ACKNOWLEDGEABLE",
    "US_STATES",
    "WEEKDAYS",
    "Closure",
    "Interval",
    "Location",
    "LocationBook",
    "LocationsError",
    "Practice",
    "load_locations",
    "parse_locations",
]
