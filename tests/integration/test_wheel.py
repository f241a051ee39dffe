"""The built wheel works outside the checkout: pages and texts find their templates there too.

The wheel is built and installed (with the locked dependencies) into a fresh virtual
environment in a temporary folder; a script run there, away from the checkout, migrates a
SQLite database with the installed command, renders the sign-in page and words one text of
every kind. The checkout, with the same facts, must word every text identically.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scheduler.package_data import templates_dir
from scheduler.wiring import Container

REPO = Path(__file__).resolve().parents[2]
KINDS = sorted(p.stem for p in (REPO / "templates" / "sms").glob("*.txt"))

# Run by the installed interpreter; `word_every_text` is also called on the checkout.
SCRIPT = '''
import json
import sys
from datetime import UTC, datetime


def word_every_text(container, kinds):
    """One text of every kind in every language, for the first office, with fixed facts."""
    from scheduler.texts import wording

    book = container.locations
    office = book.locations[0]
    texts = {}
    for key in [f"{kind}.{language}" for kind in kinds for language in ("en", "es")]:
        kind, language = key.split(".")
        if kind == "help":
            texts[key] = container.ctx.texts.help_reply(book.practice, office, language)
            continue
        prompt = None
        if kind == "goal_prompt":
            _id, prompt = wording.choose_prompt("grief", 5, 12, [], seed=7)
        facts = wording.TextFacts(
            kind=kind,
            first_name="Dana",
            client_zone=office.timezone,
            office=office,
            practice=book.practice,
            number=5,
            session_count=12,
            starts_at=datetime(2027, 3, 3, 23, 0, tzinfo=UTC),
            prompt_text=prompt,
            weekly_goal="Call my sister on Sunday",
            language=language,  # the Spanish catalog ships in the wheel too
        )
        texts[key] = wording.render(facts)
    return texts


if __name__ == "__main__":
    import scheduler
    from scheduler.cli import main
    from scheduler.config import Settings
    from scheduler.package_data import prompts_file, templates_dir
    from scheduler.web import create_app

    main(["db", "upgrade"], standalone_mode=False)  # the migrations ship too
    app = create_app(Settings.from_env())
    page = app.test_client().get("/signin")
    container = app.extensions["ipt"]
    texts = word_every_text(container, sys.argv[1:])
    container.close()
    print(json.dumps({
        "package": scheduler.__file__,
        "templates": str(templates_dir()),
        "prompts": str(prompts_file()),
        "signin_status": page.status_code,
        "signin_page": page.get_data(as_text=True),
        "practice": container.locations.practice.name,
        "texts": texts,
    }))
'''


def _run(args: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.packaging
def test_the_installed_wheel_renders_pages_and_every_text(
    tmp_path: Path, container: Container
) -> None:
    uv = shutil.which("uv")
    assert uv is not None, "uv is needed to build and install the wheel (pip install uv)"
    base = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    dist, venv, site = tmp_path / "dist", tmp_path / "venv", tmp_path / "site"
    site.mkdir()
    requirements = tmp_path / "requirements.txt"

    _run([uv, "build", "--wheel", "-q", "-o", str(dist)], cwd=REPO, env=base)
    (wheel,) = dist.glob("*.whl")
    # The locked versions, so the install comes from uv's cache and matches the checkout.
    export = ["export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "-q"]
    _run([uv, *export, "-o", str(requirements)], cwd=REPO, env=base)
    _run([uv, "venv", "-q", "--python", sys.executable, str(venv)], cwd=tmp_path, env=base)
    python = venv / "bin" / "python"
    _run(
        [uv, "pip", "install", "-q", "--python", str(python), "-r", str(requirements), str(wheel)],
        cwd=tmp_path,
        env=base,
    )

    # A deployment of its own: its offices file, database and instance folder, no checkout.
    shutil.copy(REPO / "locations.yaml", site / "locations.yaml")
    env = {
        **base,
        "DATABASE_URL": f"sqlite:///{site}/ipt.sqlite3",
        "LOCATIONS_FILE": str(site / "locations.yaml"),
        "INSTANCE_DIR": str(site / "instance"),
        "SECRET_KEY": "wheel-test-secret-key-0123456789",
        "SMS_BACKEND": "console",
    }
    script = tmp_path / "render.py"
    script.write_text(SCRIPT)
    out = _run([str(python), str(script), *KINDS], cwd=site, env=env)
    assert out.startswith("database is up to date"), out
    installed = json.loads(out.splitlines()[-1])

    inside = str(venv)
    assert (venv / "bin" / "ipt-scheduler").exists()  # the console script
    assert installed["package"].startswith(inside), installed["package"]
    assert installed["templates"].startswith(inside)
    assert installed["prompts"].startswith(inside)
    assert installed["signin_status"] == 200
    assert "<form" in installed["signin_page"] and 'name="password"' in installed["signin_page"]
    assert sorted(installed["texts"]) == sorted(
        f"{k}.{lang}" for k in KINDS for lang in ("en", "es")
    )
    for kind, body in installed["texts"].items():
        assert body.strip(), f"{kind}: empty text"
    assert installed["practice"] in installed["texts"]["help.en"]
    assert installed["texts"]["help.es"].endswith("Responda ALTO para darse de baja.")

    # The checkout finds the same files at the top of the repository, and words texts alike.
    assert templates_dir() == REPO / "templates"
    word_every_text = runpy.run_path(str(script))["word_every_text"]
    assert word_every_text(container, KINDS) == installed["texts"]
