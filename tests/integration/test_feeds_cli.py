"""`ipt-scheduler feeds rotate`: a new URL for one owner, the old one dead at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from scheduler.cli import main
from scheduler.services import feeds

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(database_url: str, engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LOCATIONS_FILE", str(ROOT / "locations.yaml"))
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://cal.practice.test")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["feeds", "rotate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_rotate_prints_a_new_url_and_revokes_the_old(env, engine):
    code, out, _ = run("--location", "miami")
    assert code == 0, out
    first = re.search(r"https://cal\.practice\.test/feeds/locations/([\w-]+)\.ics$", out.strip())
    assert first is not None
    code, out, _ = run("--location", "miami")
    second = re.search(r"/feeds/locations/([\w-]+)\.ics$", out.strip())
    assert code == 0 and second is not None and second[1] != first[1]
    with Session(engine) as db:
        assert feeds.resolve_token(db, "location", first[1]) is None
        assert feeds.resolve_token(db, "location", second[1]) is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "exactly one of"),
        (("--location", "miami", "--therapist", "1"), "exactly one of"),
        (("--therapist", "987654"), "therapist 987654 not found"),
        (("--location", "atlantis"), "location atlantis not found"),
    ],
)
def test_rotate_refuses_clearly(env, args, message):
    code, _, err = run(*args)
    assert code == 2
    assert message in err
