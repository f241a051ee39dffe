"""What a use case can refuse, independent of HTTP or the CLI (the edges map these)."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """Base for refusals; nothing has been written when one is raised."""


class NotFound(ServiceError):
    def __init__(self, what: str, ident: object, field: str | None = None) -> None:
        super().__init__(f"{what} {ident!s} not found")
        self.what = what
        self.ident = ident
        self.field = field


class Invalid(ServiceError):
    """Input that is well-formed but not acceptable; `fields` maps each field to its problem."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


class Conflict(ServiceError):
    """The change collides with the calendar; `conflicts` lists each collision."""

    def __init__(self, conflicts: list[dict[str, Any]], message: str = "conflict") -> None:
        super().__init__(message)
        self.conflicts = conflicts


class Forbidden(ServiceError):
    pass
