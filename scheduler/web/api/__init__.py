"""The JSON API under /api/v1: bearer tokens, JSON errors, an OpenAPI file that stays true.

Importing the route modules registers their routes on the blueprint, so importing this package
gives the complete API.
"""

from __future__ import annotations

from . import consent, course, feeds, inbox, messages, moves, openapi, practice, review, schedule
from .base import blueprint

__all__ = [
    "blueprint",
    "consent",
    "course",
    "feeds",
    "inbox",
    "messages",
    "moves",
    "openapi",
    "practice",
    "review",
    "schedule",
]
