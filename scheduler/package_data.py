"""Where the files that ship beside the code are found: one lookup for a checkout and an install.

- templates/ (pages/ for the front desk, sms/ one file per text) lives at the top of the
  repository; the wheel carries it inside the package as scheduler/templates (pyproject.toml,
  `force-include`).
- The prompt library is scheduler/domain/prompts.json, inside the package either way.

Each file is looked for inside the installed package first, then beside it (a checkout, where
the package directory sits next to templates/).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def find(relative: str) -> Path:
    """The shipped file or folder `relative` (e.g. "templates/sms"), wherever it was installed."""
    places = (PACKAGE / relative, PACKAGE.parent / relative)
    for place in places:
        if place.exists():
            return place
    raise FileNotFoundError(
        f"{relative} is missing: looked in {places[0]} (an install) and {places[1]} (a checkout)"
    )


def templates_dir() -> Path:
    """The Jinja templates: pages/ and sms/."""
    return find("templates")


def prompts_file() -> Path:
    """The goal-prompt library (validated by `domain.ipt.load_prompt_library`)."""
    return find("domain/prompts.json")
