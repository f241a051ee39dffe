"""The `ipt-scheduler` command line: migrations, offices, accounts, the server and the worker."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

import click

from .cli_inputs import option_problem
from .config import ConfigError, Settings
from .locations import LocationsError, load_locations
from .services.errors import ServiceError

if TYPE_CHECKING:
    from .services.feed_content import FeedKind


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def edge(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Check the options (cli_inputs), then turn refusals into one line on stderr and exit 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if problem := option_problem(click.get_current_context().command, kwargs):
            _fail(problem)
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            _fail(f"configuration: {exc}")
        except LocationsError as exc:
            _fail(str(exc))
        except ServiceError as exc:
            _fail(str(exc))

    return wrapper


def _container(migrate: bool = False, settings: Settings | None = None):
    from .db.migrate import upgrade
    from .services.directory import sync_offices
    from .wiring import build

    container = build(settings or Settings.from_env())
    # Close the engine's pooled connections when the command ends, however it ends.
    click.get_current_context().call_on_close(container.close)
    if migrate:
        upgrade(container.engine)
        with container.sessions.begin() as db:
            sync_offices(db, container.locations)
    return container


@click.group()
def main() -> None:
    """Scheduling and SMS reminders for an IPT practice."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@edge
def db_upgrade() -> None:
    """Apply migrations and sync the offices from the locations file."""
    container = _container(migrate=True)
    click.echo(f"database is up to date ({container.engine.url.render_as_string()})")


@main.command()
@edge
def status() -> None:
    """Readiness as /readyz reports it (JSON); exits 1 when not ready."""
    from .cli_status import readiness_report

    report, ready = readiness_report(_container())
    click.echo(report)
    sys.exit(0 if ready else 1)


@main.group()
def locations() -> None:
    """The offices file."""


@locations.command("check")
@click.option("--file", "path", default=None, help="defaults to LOCATIONS_FILE")
@edge
def locations_check(path: str | None) -> None:
    """Validate the locations file: errors exit non-zero, warnings are printed."""
    if path is None:
        path = str(Settings.from_env().locations_file)
    book = load_locations(path)  # a file it cannot read: LocationsError, one line (`edge`)
    for warning in book.warnings:
        click.echo(f"warning: {warning}")
    click.echo(f"{path}: {len(book.locations)} offices OK, {len(book.warnings)} warning(s)")


@main.group()
def users() -> None:
    """Staff accounts."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "front_desk", "therapist"]))
@click.option("--password", required=True)
@click.option("--name", default="")
@click.option("--office", "offices", multiple=True, help="limit a front-desk user to an office")
@edge
def users_create(email: str, role: str, password: str, name: str, offices: tuple[str, ...]) -> None:
    from .cli_accounts import actor
    from .services.accounts import create_user

    container = _container(migrate=True)
    with container.sessions.begin() as session:
        user = create_user(
            session,
            email=email,
            role=role,
            password=password,
            name=name,
            office_ids=list(offices),
            actor=actor(),
        )
        click.echo(f"created {user.role} {user.email} (id {user.id})")


@users.command("list")
@edge
def users_list() -> None:
    """Every account, disabled ones too, with its open browser sessions and usable tokens."""
    from .cli_accounts import users_table
    from .services.accounts import list_users
    from .services.staff_sessions import Limits

    container = _container(migrate=True)
    with container.sessions.begin() as session:
        limits = Limits.from_settings(container.settings)
        click.echo(users_table(list_users(session, now=container.ctx.clock(), limits=limits)))


@users.command("disable")
@click.option("--email", required=True)
@edge
def users_disable(email: str) -> None:
    """Stop an account at once: it cannot sign in, its sessions and tokens end; rows are kept."""
    from .cli_accounts import actor
    from .services.accounts import disable_user

    container = _container(migrate=True)
    with container.sessions.begin() as session:
        done = disable_user(session, email, now=container.ctx.clock(), actor=actor())
    if done is None:
        click.echo(f"{email} is already disabled; nothing changed")
        return
    click.echo(
        f"disabled {done.user.email}: ended {done.sessions_ended} browser session(s), revoked "
        f"{done.tokens_revoked} API token(s); the account and its history are kept"
    )


@users.command("enable")
@click.option("--email", required=True)
@edge
def users_enable(email: str) -> None:
    """Let a disabled account sign in again (tokens revoked by disabling stay revoked)."""
    from .cli_accounts import actor
    from .services.accounts import enable_user

    container = _container(migrate=True)
    with container.sessions.begin() as session:
        user = enable_user(session, email, actor=actor())
    if user is None:
        click.echo(f"{email} is already active; nothing changed")
        return
    click.echo(f"enabled {user.email}; issue new API tokens with `tokens create` if needed")


@users.command("set-password")
@click.option("--email", required=True)
@click.option("--password", default=None, help="visible to `ps` and shell history; prefer stdin")
@click.option("--password-stdin", "from_stdin", is_flag=True, help="read one line from stdin")
@edge
def users_set_password(email: str, password: str | None, from_stdin: bool) -> None:
    """Set a new password (asked for at a terminal); every browser session of the user ends."""
    from .cli_accounts import actor, read_password
    from .services.accounts import set_password

    new_password = read_password(password, from_stdin)
    container = _container(migrate=True)
    with container.sessions.begin() as session:
        ended = set_password(session, email, new_password, actor=actor())
    click.echo(f"password set for {email}; ended {ended} browser session(s)")


@main.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.option("--email", required=True)
@click.option("--label", default="")
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=None,
    help="expire after this many days (default: valid until revoked)",
)
@edge
def tokens_create(email: str, label: str, days: int | None) -> None:
    """Print a new API token for the user; the token is the last word of the output."""
    from datetime import timedelta

    from .cli_accounts import actor, when
    from .services.accounts import issue_token

    container = _container(migrate=True)
    expires_at = container.ctx.clock() + timedelta(days=days) if days else None
    with container.sessions.begin() as session:
        issued = issue_token(session, email, label=label, actor=actor(), expires_at=expires_at)
    expiry = f"expires {when(expires_at)}" if expires_at else "valid until revoked"
    click.echo(f"API token {issued.row.id} for {email} ({expiry}; shown once): {issued.secret}")


@tokens.command("list")
@click.option("--email", default=None, help="only this user's tokens")
@edge
def tokens_list(email: str | None) -> None:
    """Every token with its user, label, dates and state; never the token itself."""
    from .cli_accounts import tokens_table
    from .services.accounts import list_tokens

    container = _container(migrate=True)
    with container.sessions.begin() as session:
        click.echo(tokens_table(list_tokens(session, email), container.ctx.clock()))


@tokens.command("revoke")
@click.option("--id", "token_id", type=click.IntRange(min=1), default=None, help="one token")
@click.option("--email", default=None, help="with --all: every token of this user")
@click.option("--all", "every", is_flag=True, help="with --email: revoke all of its tokens")
@edge
def tokens_revoke(token_id: int | None, email: str | None, every: bool) -> None:
    """Revoke one token (--id N) or all of a user's (--email E --all); they answer 401 at once."""
    from .cli_accounts import actor, check_revoke_options, revoked_message
    from .services.accounts import revoke_token, revoke_user_tokens

    check_revoke_options(token_id, email, every)
    container = _container(migrate=True)
    now = container.ctx.clock()
    message = ""
    with container.sessions.begin() as session:
        if token_id is not None:
            message = revoked_message(*revoke_token(session, token_id, now=now, actor=actor()))
        elif email is not None:
            count = revoke_user_tokens(session, email, now=now, actor=actor())
            message = f"revoked {count} token(s) of {email}"
    click.echo(message)


@main.group()
def feeds() -> None:
    """Calendar feed URLs."""


@feeds.command("rotate")
@click.option("--therapist", "therapist_id", type=int, default=None)
@click.option("--location", "location_id", default=None)
@click.option("--client", "client_id", type=int, default=None)
@edge
def feeds_rotate(therapist_id: int | None, location_id: str | None, client_id: int | None) -> None:
    """Issue a new feed URL for one owner; the old URL stops working at once."""
    from .services import feeds as feed_service

    given: tuple[tuple[FeedKind, object], ...] = (
        ("therapist", therapist_id),
        ("location", location_id),
        ("client", client_id),
    )
    chosen = [(kind, owner) for kind, owner in given if owner is not None]
    if len(chosen) != 1:
        _fail("give exactly one of --therapist ID, --location ID, --client ID")
        return
    kind, owner = chosen[0]
    container = _container(migrate=True)
    with container.sessions.begin() as session:
        token = feed_service.rotate_token(session, container.ctx, kind, owner, actor="cli")
    click.echo(f"new {kind} feed URL: {feed_service.feed_url(container.settings, kind, token)}")


@main.command()
@click.option("--port", default=5000, type=click.IntRange(1, 65535))
@click.option("--host", default="127.0.0.1")
@click.option("--demo", is_flag=True, help="seed a demo practice into the database first")
@edge
def serve(port: int, host: str, demo: bool) -> None:
    """Run the web app (and, on SQLite, the worker in the same process)."""
    from .cli_serve import demo_banner, run_server, served_settings

    settings = served_settings(host, port)
    if demo:  # before anything is migrated or written: only an empty or demo database
        from .services.demo import ensure_demo_only, seed_demo

        with _container(settings=settings).sessions.begin() as session:
            ensure_demo_only(session)
    container = _container(migrate=True, settings=settings)
    if demo:
        with container.sessions.begin() as session:
            token = seed_demo(session, container.ctx)
        click.echo(demo_banner(token))
    run_server(container, host=host, port=port, demo=demo)


@main.command()
@edge
def worker() -> None:
    """Send texts: dispatch, reconciliation and housekeeping on intervals, until SIGTERM."""
    from .worker import configure_logging, run

    configure_logging()
    run(_container())


@main.command()
@click.option("--once", is_flag=True, help="one pass: reconcile, then send what is due")
@edge
def dispatch(once: bool) -> None:
    """Send the texts that are due now, once (run `worker` to keep sending)."""
    import json
    from datetime import timedelta

    from .texts.reconcile import reconcile

    if not once:
        _fail("use --once for a single pass, or `ipt-scheduler worker` to keep sending")
    container = _container()  # closed with the command, its dispatcher too
    dispatcher = container.dispatcher
    timeout = timedelta(seconds=container.settings.dispatch_claim_timeout_seconds)
    with container.sessions.begin() as session:
        settled = reconcile(
            session,
            container.gateway,
            claim_timeout=timeout,
            worker=dispatcher.worker,
            settings=container.settings,
        )
    stats = dispatcher.run_pass()
    click.echo(json.dumps({**stats.as_dict(), "reconciled": settled.as_dict()}))


@main.group()
def sms() -> None:
    """The SMS gateway."""


@sms.command("send-test")
@click.option("--to", "to", required=True, help="the mobile number to text")
@click.option("--location", "location_id", required=True, help="the office whose number sends")
@edge
def sms_send_test(to: str, location_id: str) -> None:
    """Send one test text through the configured gateway and print the provider's SID."""
    from .services.directory import normalise_phone
    from .sms.gateway import OutboundSms, SmsError, SmsOutcomeUnknown
    from .wiring import build_gateway

    settings = Settings.from_env()
    book = load_locations(settings.locations_file)
    office = book.get(location_id)
    if office is None:
        _fail(f"--location: no office {location_id!r}; known: {', '.join(book.ids)}")
        return
    number = normalise_phone(to)
    msid = settings.twilio_messaging_service_sid
    message = OutboundSms(
        to=number,
        body=f"{book.practice.name}: a test text from {office.name}. Reply STOP to opt out.",
        from_number=None if msid else office.sms_number,
        messaging_service_sid=msid,
    )
    try:
        result = build_gateway(settings).send(message)
    except (SmsError, SmsOutcomeUnknown) as exc:
        _fail(f"the text was not sent: {exc}")
        return
    click.echo(f"sent to {number} from {message.sender_label}: {result.sid} ({result.status})")
