"""What the `users` and `tokens` commands print and ask for (the commands are in cli.py)."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Sequence
from datetime import datetime

import click

from .db.models import ApiToken
from .services.accounts import UserSummary


class PasswordInputError(click.UsageError):
    """The password could not be read the way the options asked for."""


def actor() -> str:
    """Who runs this command, for the audit log: the operating-system account, if known."""
    try:
        return f"cli:{getpass.getuser()}"[:254]
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (some containers)
        return "cli"


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def read_password(password: str | None, from_stdin: bool) -> str:
    """The new password from --password, one line of stdin, or a prompt at a terminal.

    Never waits on a stdin that is not a terminal unless asked to (--password-stdin), so a
    script or CI job without input fails at once instead of hanging.
    """
    if password is not None and from_stdin:
        raise PasswordInputError("give either --password or --password-stdin, not both")
    if password is not None:
        return password
    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip("\r\n"):
            raise PasswordInputError("--password-stdin: no password on standard input")
        return line.rstrip("\r\n")
    if not stdin_is_terminal():
        raise PasswordInputError(
            "no terminal to ask for the password: pipe it with --password-stdin "
            "(or give --password)"
        )
    entered: str = click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    return entered


def check_revoke_options(token_id: int | None, email: str | None, every: bool) -> None:
    """`tokens revoke` takes one token (--id N) or all of one user's (--email E --all)."""
    if (token_id is None) == (email is None):
        raise click.UsageError("give either --id N (one token) or --email E --all (all of them)")
    if email is not None and not every:
        raise click.UsageError(
            "--email revokes every token of that user: add --all, or give --id N instead"
        )
    if token_id is not None and every:
        raise click.UsageError("--all goes with --email, not with --id")


def revoked_message(token: ApiToken, previously: datetime | None) -> str:
    if previously is not None:
        return f"token {token.id} of {token.user.email} was already revoked at {when(previously)}"
    return f"revoked token {token.id} of {token.user.email}"


def when(at: datetime | None, *, empty: str = "-") -> str:
    return at.strftime("%Y-%m-%d %H:%MZ") if at is not None else empty


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, as `ps` or `docker ps` print them."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def users_table(summaries: Sequence[UserSummary]) -> str:
    rows = []
    for s in summaries:
        u = s.user
        offices = ",".join(sorted(o.id for o in u.offices)) if u.role == "front_desk" else ""
        rows.append(
            [
                str(u.id),
                u.email,
                u.role,
                "active" if u.active else "disabled",
                offices or ("all" if u.role != "therapist" else "own"),
                str(s.open_sessions),
                str(s.active_tokens),
                when(u.created_at),
                u.name,
            ]
        )
    headers = ["id", "email", "role", "status", "offices", "sessions", "tokens", "created", "name"]
    return table(headers, rows)


def tokens_table(tokens: Sequence[ApiToken], now: datetime) -> str:
    """One line per token; the secret is never stored, so it cannot be shown."""
    rows = []
    for t in tokens:
        expires = when(t.expires_at, empty="never")
        if t.expires_at is not None and t.expires_at <= now and t.revoked_at is None:
            expires += " (expired)"
        rows.append(
            [
                str(t.id),
                t.user.email,
                t.label or "-",
                when(t.created_at),
                when(t.last_used_at, empty="never"),
                expires,
                when(t.revoked_at, empty="no"),
            ]
        )
    headers = ["id", "user", "label", "created", "last used", "expires", "revoked"]
    return table(headers, rows)
