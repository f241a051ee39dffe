"""The one place where settings, offices, database and ports are put together.

Edges (the web app, the worker, CLI commands) call `build()` once and pass the result down;
nothing is created at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .config import Settings
from .db.session import make_engine, make_session_factory
from .locations import LocationBook, load_locations
from .services.context import ScheduleObserver, ServiceContext
from .services.messaging import MessagePlanner
from .services.termination import TerminationPlanner
from .sms.gateway import SmsGateway, build_gateway


@dataclass
class Container:
    settings: Settings
    locations: LocationBook
    engine: Engine
    sessions: sessionmaker[Session]
    observers: list[ScheduleObserver] = field(default_factory=list)
    # The SMS backend; None in tests that send nothing (the dispatcher is given one there).
    gateway: SmsGateway | None = None
    # What "now" is for every use case; tests that need a fixed time replace it.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def ctx(self) -> ServiceContext:
        return ServiceContext(self.settings, self.locations, tuple(self.observers), self.clock)

    def close(self) -> None:
        self.engine.dispose()


def default_observers(settings: Settings, locations: LocationBook) -> list[ScheduleObserver]:
    """What reacts, inside the same transaction, to every booking and calendar change."""
    return [MessagePlanner(settings, locations), TerminationPlanner()]


def build(
    settings: Settings,
    *,
    locations: LocationBook | None = None,
    engine: Engine | None = None,
) -> Container:
    """Wire the application. `locations`/`engine` may be given by tests."""
    book = locations if locations is not None else load_locations(settings.locations_file)
    engine = engine if engine is not None else make_engine(settings.database_url)
    return Container(
        settings=settings,
        locations=book,
        engine=engine,
        sessions=make_session_factory(engine),
        observers=default_observers(settings, book),
        gateway=build_gateway(settings),
    )
