"""The one place where settings, offices, database and ports are put together.

Edges (the web app, the worker, CLI commands) call `build()` once and pass the result down;
nothing is created at import time. Tests `assemble()` a container from parts of their own (a
fake gateway, sessions inside a test's transaction).

What is connected here: the SMS gateway (console or Twilio), the text pipeline (observer of
every calendar change and the `TextsPort` of the use cases), and the one Dispatcher.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .config import Settings
from .db.session import make_engine, make_session_factory
from .db.types import utcnow
from .locations import LocationBook, load_locations
from .metrics import CountChanges
from .services.context import ScheduleObserver, ServiceContext, TextsPort
from .services.termination import TerminationPlanner
from .sms.console import ConsoleGateway
from .sms.gateway import SmsGateway
from .texts.observer import TextPipeline
from .texts.send import Dispatcher


@dataclass
class Container:
    settings: Settings
    locations: LocationBook
    engine: Engine
    sessions: sessionmaker[Session]
    gateway: SmsGateway
    texts: TextsPort
    observers: list[ScheduleObserver] = field(default_factory=list)
    # What "now" is for use cases started at this edge; tests turn it to check expiries.
    clock: Callable[[], datetime] = field(default=utcnow)

    @property
    def ctx(self) -> ServiceContext:
        return ServiceContext(
            self.settings, self.locations, self.texts, tuple(self.observers), clock=self.clock
        )

    @cached_property
    def dispatcher(self) -> Dispatcher:
        """This process's one Dispatcher, built on first use (a web process never sends)."""
        return Dispatcher(self.sessions, self.ctx, self.gateway)

    def close(self) -> None:
        if "dispatcher" in self.__dict__:  # built: let its sends finish
            self.dispatcher.close()
        self.engine.dispose()


class GatewaySettings(Protocol):
    """The attributes of Settings that `build_gateway` reads."""

    @property
    def sms_backend(self) -> str: ...
    @property
    def twilio_account_sid(self) -> str | None: ...
    @property
    def twilio_auth_token(self) -> str | None: ...
    @property
    def twilio_messaging_service_sid(self) -> str | None: ...
    @property
    def twilio_api_base_url(self) -> str | None: ...
    @property
    def twilio_timeout_seconds(self) -> float: ...


def build_gateway(settings: GatewaySettings) -> SmsGateway:
    """Build the backend named by `settings.sms_backend` ("console" or "twilio")."""
    backend = (settings.sms_backend or "").strip().lower()
    if backend == "console":
        return ConsoleGateway()
    if backend == "twilio":
        # Imported lazily so that the console backend never loads the twilio package.
        from .sms.twilio import TwilioGateway

        if not settings.twilio_account_sid or not settings.twilio_auth_token:
            raise ValueError(
                "twilio_account_sid and twilio_auth_token are required when sms_backend=twilio"
            )
        return TwilioGateway(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            api_base_url=settings.twilio_api_base_url or None,
            timeout=settings.twilio_timeout_seconds,
            default_messaging_service_sid=settings.twilio_messaging_service_sid or None,
        )
    raise ValueError(f"sms_backend: unknown backend {settings.sms_backend!r}")


def assemble(
    settings: Settings,
    locations: LocationBook,
    engine: Engine,
    sessions: sessionmaker[Session],
    gateway: SmsGateway,
) -> Container:
    """Put ready parts together: the text pipeline observes every change and serves the ports."""
    pipeline = TextPipeline(settings, locations)
    return Container(
        settings=settings,
        locations=locations,
        engine=engine,
        sessions=sessions,
        gateway=gateway,
        texts=pipeline,
        # Texts first: the course's reactions (the offer-maintenance task) read no text rows.
        # Metrics count what the others made of a change, once it commits.
        observers=[pipeline, TerminationPlanner(), CountChanges()],
    )


def build(
    settings: Settings,
    *,
    locations: LocationBook | None = None,
    engine: Engine | None = None,
) -> Container:
    """Wire the application. `locations`/`engine` may be given by tests."""
    book = locations if locations is not None else load_locations(settings.locations_file)
    engine = engine if engine is not None else make_engine(settings.database_url)
    return assemble(settings, book, engine, make_session_factory(engine), build_gateway(settings))
