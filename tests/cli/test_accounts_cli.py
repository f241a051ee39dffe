"""`ipt-scheduler users ...` and `tokens ...`: listing, disabling, passwords, revocation.

These commands commit what they do, so they run against a database of this module's own, and
every test works on accounts of its own.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from scheduler.db.models import ApiToken, AuditEntry, StaffSession, User
from scheduler.db.types import utcnow
from scheduler.services import accounts, staff_sessions
from tests.cli.conftest import run

PASSWORD = "long-enough-pw"


@pytest.fixture
def engine(module_engine: Engine) -> Engine:
    """Here `engine` is this module's own database, the one the commands write to."""
    return module_engine


@pytest.fixture
def env(module_env: dict[str, str]) -> dict[str, str]:
    return module_env


@pytest.fixture
def email(env: dict[str, str]) -> str:
    address = f"desk-{uuid.uuid4().hex[:8]}@practice.test"
    code, out, err = run(
        "users", "create", "--email", address, "--role", "front_desk", "--password", PASSWORD
    )
    assert code == 0, out + err
    return address


def token_for(address: str, *extra: str) -> tuple[int, str]:
    code, out, err = run("tokens", "create", "--email", address, *extra)
    assert code == 0, out + err
    token_id = int(out.split()[2])
    return token_id, out.split()[-1]


def user_row(engine: Engine, address: str) -> User:
    with Session(engine) as db:
        found = accounts.find_user(db, address)
        assert found is not None
        db.expunge(found)
        return found


def audit_actions(engine: Engine, user_id: int) -> list[str]:
    with Session(engine) as db:
        return list(
            db.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "user", AuditEntry.entity_id == str(user_id))
                .order_by(AuditEntry.id)
            )
        )


def open_session(engine: Engine, address: str) -> None:
    with Session(engine) as db, db.begin():
        user = accounts.find_user(db, address)
        assert user is not None
        staff_sessions.start(db, user, now=utcnow())


def session_count(engine: Engine, user_id: int) -> int:
    with Session(engine) as db:
        mine = select(func.count()).where(StaffSession.user_id == user_id)
        return db.scalar(mine.select_from(StaffSession)) or 0


def test_users_list_shows_accounts_sessions_and_tokens(email: str, engine: Engine) -> None:
    open_session(engine, email)
    token_for(email)
    code, out, _ = run("users", "list")
    assert code == 0
    header, *lines = out.splitlines()
    assert header.split()[:8] == [
        "id",
        "email",
        "role",
        "status",
        "offices",
        "sessions",
        "tokens",
        "created",
    ]
    (mine,) = [line for line in lines if email in line]
    assert mine.split()[2:7] == ["front_desk", "active", "all", "1", "1"]


def test_disable_ends_sessions_and_tokens_and_keeps_the_rows(email: str, engine: Engine) -> None:
    _, token = token_for(email)
    token_for(email, "--label", "second")
    open_session(engine, email)
    user = user_row(engine, email)
    code, out, err = run("users", "disable", "--email", email.upper())  # any case
    assert code == 0, err
    assert "ended 1 browser session(s), revoked 2 API token(s)" in out
    assert session_count(engine, user.id) == 0
    with Session(engine) as db:
        assert db.get(User, user.id).active is False  # still there, only disabled
        assert accounts.user_for_token(db, token) is None
        rows = accounts.list_tokens(db, email)
        assert len(rows) == 2 and all(r.revoked_at is not None for r in rows)
    assert audit_actions(engine, user.id)[-1] == "user.disabled"
    # Again: nothing to do, nothing written.
    code, out, _ = run("users", "disable", "--email", email)
    assert code == 0 and "already disabled" in out
    assert audit_actions(engine, user.id).count("user.disabled") == 1
    # A disabled user gets no new token.
    code, _, err = run("tokens", "create", "--email", email)
    assert code == 2 and "disabled" in err
    code, out, _ = run("users", "list")
    (mine,) = [line for line in out.splitlines() if email in line]
    assert mine.split()[3:7] == ["disabled", "all", "0", "0"]


def test_enable_lets_the_user_back_in_without_old_tokens(email: str, engine: Engine) -> None:
    _, token = token_for(email)
    run("users", "disable", "--email", email)
    code, out, _ = run("users", "enable", "--email", email)
    assert code == 0 and "enabled" in out
    with Session(engine) as db:
        user = accounts.find_user(db, email)
        assert user is not None and user.active
        assert accounts.check_password(user, PASSWORD)
        assert accounts.user_for_token(db, token) is None
    assert audit_actions(engine, user.id)[-1] == "user.enabled"
    code, out, _ = run("users", "enable", "--email", email)
    assert code == 0 and "already active" in out


def test_set_password_from_stdin_ends_sessions(email: str, engine: Engine) -> None:
    open_session(engine, email)
    user = user_row(engine, email)
    code, out, err = run(
        "users", "set-password", "--email", email, "--password-stdin", input="a-new-password-1\n"
    )
    assert code == 0, err
    assert "ended 1 browser session(s)" in out
    assert "a-new-password-1" not in out + err
    assert session_count(engine, user.id) == 0
    with Session(engine) as db:
        found = accounts.find_user(db, email)
        assert accounts.check_password(found, "a-new-password-1")
        assert not accounts.check_password(found, PASSWORD)
    assert audit_actions(engine, user.id)[-1] == "user.password_set"


def test_set_password_prompts_at_a_terminal(
    email: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("scheduler.cli_accounts.stdin_is_terminal", lambda: True)
    code, out, err = run(
        "users", "set-password", "--email", email, input="typed-password-2\ntyped-password-2\n"
    )
    assert code == 0, err
    assert "typed-password-2" not in out  # hidden input is not echoed
    with Session(engine) as db:
        assert accounts.check_password(accounts.find_user(db, email), "typed-password-2")


def test_set_password_never_waits_on_a_stdin_that_is_not_a_terminal(
    email: str, engine: Engine
) -> None:
    """In CI there is no terminal: the command says how to give the password, and stops."""
    user = user_row(engine, email)
    before = audit_actions(engine, user.id)
    code, _, err = run("users", "set-password", "--email", email)
    assert code == 2 and "--password-stdin" in err
    code, _, err = run("users", "set-password", "--email", email, "--password-stdin", input="")
    assert code == 2 and "no password" in err
    assert audit_actions(engine, user.id) == before
    with Session(engine) as db:
        assert accounts.check_password(accounts.find_user(db, email), PASSWORD)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--password", "short"], "password: must be at least 10 characters"),
        (["--password", "x" * 201], "password: must be at most 200 characters"),
        (["--password", "tab\there-and-more"], "password: must not contain control characters"),
        (["--password", "p1", "--password-stdin"], "not both"),
    ],
)
def test_set_password_refuses_bad_input_and_writes_nothing(
    email: str, engine: Engine, args: list[str], problem: str
) -> None:
    user = user_row(engine, email)
    before = audit_actions(engine, user.id)
    code, _, err = run("users", "set-password", "--email", email, *args)
    assert code == 2 and problem in err
    assert audit_actions(engine, user.id) == before
    with Session(engine) as db:
        assert accounts.check_password(accounts.find_user(db, email), PASSWORD)


@pytest.mark.parametrize("command", ["disable", "enable", "set-password"])
def test_unknown_email_is_named_and_exits_non_zero(env: dict[str, str], command: str) -> None:
    extra = ["--password", "long-enough-pw"] if command == "set-password" else []
    code, _, err = run("users", command, "--email", "nobody@nowhere.test", *extra)
    assert code == 2 and "user nobody@nowhere.test not found" in err


def test_tokens_list_shows_state_but_never_the_token(email: str, engine: Engine) -> None:
    first_id, first = token_for(email, "--label", "billing")
    second_id, second = token_for(email, "--days", "30")
    run("tokens", "revoke", "--id", str(first_id))
    code, out, _ = run("tokens", "list", "--email", email)
    assert code == 0
    assert first not in out and second not in out
    assert first[4:12] not in out  # not even a prefix of the secret
    header, *lines = out.splitlines()
    columns = ["id", "user", "label", "created", "last", "used", "expires", "revoked"]
    assert header.split() == columns
    rows = {int(line.split()[0]): line for line in lines}
    assert set(rows) == {first_id, second_id}
    assert "billing" in rows[first_id] and "never" in rows[first_id]
    assert rows[first_id].rstrip().endswith("Z")  # revoked at a time
    assert rows[second_id].rstrip().endswith("no")  # not revoked
    expected = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")
    assert expected in rows[second_id]
    code, out, _ = run("tokens", "list")  # every user's
    assert code == 0 and email in out


def test_tokens_create_days_makes_a_token_that_expires(email: str, engine: Engine) -> None:
    token_id, token = token_for(email, "--days", "3")
    with Session(engine) as db:
        row = db.get(ApiToken, token_id)
        assert row is not None and row.expires_at is not None
        left = row.expires_at - utcnow()
        assert timedelta(days=3) - timedelta(minutes=1) < left <= timedelta(days=3)
        assert accounts.user_for_token(db, token, now=row.expires_at - timedelta(seconds=1))
        assert accounts.user_for_token(db, token, now=row.expires_at) is None


@pytest.mark.parametrize("days", ["0", "-1", "3651", "soon"])
def test_tokens_create_refuses_bad_days(email: str, engine: Engine, days: str) -> None:
    user = user_row(engine, email)
    code, _, err = run("tokens", "create", "--email", email, "--days", days)
    assert code == 2 and "--days" in err
    with Session(engine) as db:
        assert accounts.list_tokens(db, email) == []
    assert "token.created" not in audit_actions(engine, user.id)


def test_tokens_revoke_by_id_and_all_of_a_user(email: str, engine: Engine) -> None:
    ids = [token_for(email)[0] for _ in range(3)]
    code, out, _ = run("tokens", "revoke", "--id", str(ids[0]))
    assert code == 0 and f"revoked token {ids[0]} of {email}" in out
    code, out, _ = run("tokens", "revoke", "--id", str(ids[0]))
    assert code == 0 and "already revoked" in out
    code, out, _ = run("tokens", "revoke", "--email", email, "--all")
    assert code == 0 and f"revoked 2 token(s) of {email}" in out
    with Session(engine) as db:
        assert all(t.revoked_at is not None for t in accounts.list_tokens(db, email))
    user = user_row(engine, email)
    assert audit_actions(engine, user.id).count("token.revoked") == 2


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ([], "give either --id N"),
        (["--id", "1", "--email", "a@b.test", "--all"], "give either --id N"),
        (["--email", "{email}"], "add --all"),
        (["--id", "1", "--all"], "--all goes with --email"),
        (["--id", "0"], "--id"),
        (["--id", "999999999"], "token 999999999 not found"),
        (["--email", "nobody@nowhere.test", "--all"], "user nobody@nowhere.test not found"),
    ],
)
def test_tokens_revoke_refuses_unclear_requests(
    email: str, engine: Engine, args: list[str], problem: str
) -> None:
    token_for(email)
    code, _, err = run("tokens", "revoke", *[a.replace("{email}", email) for a in args])
    assert code == 2 and problem in err
    with Session(engine) as db:
        assert all(t.revoked_at is None for t in accounts.list_tokens(db, email))


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--name", "Ann\x00Lee"], "name: must not contain control characters"),
        (["--name", "Ann\nLee"], "name: must be a single line"),
        (["--office", "seattle\x1b"], "office: must not contain control characters"),
    ],
)
def test_every_cli_text_option_refuses_control_characters(
    env: dict[str, str], engine: Engine, args: list[str], problem: str
) -> None:
    address = f"desk-{uuid.uuid4().hex[:8]}@practice.test"
    base = ["users", "create", "--email", address, "--role", "front_desk"]
    code, _, err = run(*base, "--password", PASSWORD, *args)
    assert code == 2 and problem in err
    with Session(engine) as db:
        assert accounts.find_user(db, address) is None


def test_cli_ids_past_the_database_integer_are_refused(env: dict[str, str]) -> None:
    code, _, err = run("feeds", "rotate", "--therapist", str(2**31))
    assert code == 2 and "therapist: must be between" in err
