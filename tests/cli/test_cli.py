"""The `ipt-scheduler` command line, as an operator types it."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from tests.cli.conftest import run

ROOT = Path(__file__).resolve().parents[2]


def test_locations_check_prints_warnings_and_exits_zero(env):
    code, out, _ = run("locations", "check")
    assert code == 0
    assert "9 offices" in out
    assert re.search(r"warning: dallas: .*21223", out)


def test_locations_check_fails_on_a_broken_file(env, tmp_path):
    bad = tmp_path / "locations.yaml"
    bad.write_text((ROOT / "locations.yaml").read_text().replace("America/Phoenix", "Mars/Base"))
    code, _, err = run("locations", "check", "--file", str(bad))
    assert code == 2
    assert "tucson" in err and "Mars/Base" in err


def test_a_missing_locations_file_is_one_line_naming_it(env, monkeypatch, tmp_path):
    missing = tmp_path / "nowhere.yaml"
    monkeypatch.setenv("LOCATIONS_FILE", str(missing))
    for args in (("db", "upgrade"), ("locations", "check")):
        code, _, err = run(*args)
        assert code == 2, args
        assert str(missing) in err and "cannot read the file" in err, err
        assert "Traceback" not in err


def test_users_and_tokens(env):
    email = f"desk-{uuid.uuid4().hex[:6]}@practice.test"
    code, out, _ = run(
        "users", "create", "--email", email, "--role", "front_desk", "--password", "long-enough-pw"
    )
    assert code == 0, out
    code, out, _ = run("tokens", "create", "--email", email)
    assert code == 0
    token = out.split()[-1]
    assert token.startswith("ipt_") and len(token) > 40


def test_users_create_refuses_bad_input(env):
    code, _, err = run(
        "users", "create", "--email", "x@y.test", "--role", "front_desk", "--password", "short"
    )
    assert code == 2 and "password" in err
    code, _, err = run("tokens", "create", "--email", "nobody@nowhere.test")
    assert code == 2 and "not found" in err


def test_bad_environment_value_stops_with_its_name(env, monkeypatch):
    monkeypatch.setenv("SMS_BACKEND", "carrier-pigeon")
    code, _, err = run("db", "upgrade")
    assert code == 2 and "SMS_BACKEND" in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_demo_starts_and_answers(tmp_path):
    """The README's first command: migrate, seed, print a token, serve."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3",
        "LOCATIONS_FILE": str(ROOT / "locations.yaml"),
    }
    env.pop("TEST_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "serve", "--demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        token = None
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
            lines.append(line)
            if "demo API token" in line:
                token = line.split()[-1]
            if "serving on" in line:
                break
        assert token, "".join(lines)
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as r:
                    assert r.status == 200
                break
            except OSError:
                assert proc.poll() is None, "".join(lines) + proc.stdout.read()
                time.sleep(0.2)
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/locations",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(req) as r:
            assert len(json.load(r)) == 9
        printed = "".join(lines)
        # Each role's sign-in, and the address served is the public one (feed links use it).
        for email in ("admin@demo.invalid", "desk@demo.invalid", "ana.reyes@demo.invalid"):
            assert email in printed
        assert f"public base URL http://127.0.0.1:{port}" in printed
        rotate = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/locations/tucson/feed-token",
            method="POST",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(rotate) as r:
            assert f"http://127.0.0.1:{port}/feeds/" in json.dumps(json.load(r))
        # The demo's inbox has something of each kind to work on.
        inbox = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/inbox", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(inbox) as r:
            kinds = {item["kind"] for item in json.load(r)}
        assert {"reschedule_request", "free_text", "undeliverable_phone"} <= kinds
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
