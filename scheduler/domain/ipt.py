"""The between-session goal-prompt library (problem area x phase), loaded from prompts.json.

Phases and problem areas live in phases.py; they are re-exported here for convenience.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from scheduler.domain.phases import PHASES, PROBLEM_AREAS, Phase, ProblemArea, phase_for

# Prompts for a client whose problem area is not recorded yet (it is agreed during the
# initial phase, so early in a series there may be none).
GENERAL_AREA = "general"
MIN_PROMPTS = {"initial": 3, "middle": 4, "termination": 3}
MAX_PROMPT_CHARS = 70  # leaves room in a single GSM-7 segment for the greeting and opt-out line

# SMS is not a private channel: a prompt must not reveal why someone sees a therapist.
# Matched as word prefixes, case-insensitively, so "depress" also catches "depressed".
CLINICAL_WORDS: tuple[str, ...] = (
    "depress", "grief", "griev", "mourn", "bereave", "therap", "diagnos", "disorder",
    "symptom", "mental", "anxi", "panic", "trauma", "suicid", "self-harm", "medicat",
    "treatment", "clinic", "counsel", "patient", "illness", "psych", "death", "died",
    "dispute", "deficit", "isolat", "lonel", "interpersonal", "ipt", "phq", "session",
    # The same in Spanish (matched without accents: "sesión" and "sesion" alike).
    "depresi", "duelo", "luto", "terapi", "terapeut", "diagnost", "trastorno", "sintoma",
    "ansied", "panico", "traumat", "autoles", "medicament", "tratamiento", "clinic",
    "consejer", "paciente", "enfermedad", "psiqu", "psicolog", "muerte", "murio", "fallec",
    "disputa", "conflicto", "aislad", "aislamiento", "soledad", "sesion",
)  # fmt: skip

__all__ = [
    "CLINICAL_WORDS",
    "GENERAL_AREA",
    "MAX_PROMPT_CHARS",
    "PHASES",
    "PROBLEM_AREAS",
    "Phase",
    "ProblemArea",
    "Prompt",
    "PromptLibrary",
    "clinical_words_in",
    "load_prompt_library",
    "phase_for",
]

_ID_PATTERN = re.compile(r"^[a-z_]+\.(initial|middle|termination)\.\d{2}$")
_ASCII_PRINTABLE = re.compile(r"^[ -~]+$")


@dataclass(frozen=True)
class Prompt:
    """One goal prompt; `id` is stable across releases so sent prompts stay traceable."""

    id: str
    text: str


def clinical_words_in(text: str) -> list[str]:
    """The forbidden word stems that start a word in `text` (empty list means fit for SMS)."""
    folded = unicodedata.normalize("NFKD", text.lower())
    lowered = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return [w for w in CLINICAL_WORDS if re.search(rf"(?<![a-z]){re.escape(w)}", lowered)]


class PromptLibrary:
    """Prompts indexed by (problem area, phase), with a seeded no-repeat choice."""

    def __init__(self, cells: Mapping[tuple[str, str], tuple[Prompt, ...]]) -> None:
        self._cells = dict(cells)

    @property
    def areas(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(area for area, _ in self._cells))

    def cell(self, problem_area: str, phase: str) -> tuple[Prompt, ...]:
        """All prompts for one area and phase; ValueError names an unknown area or phase."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}; expected one of {PHASES}")
        try:
            return self._cells[(problem_area, phase)]
        except KeyError:
            raise ValueError(f"unknown problem area {problem_area!r}") from None

    def choose(self, problem_area: str, phase: str, used_ids: Collection[str], seed: int) -> Prompt:
        """Pick the next prompt for a series.

        `used_ids` are the prompt ids already sent in this series (any cells; duplicates
        allowed). Among the prompts of the cell used the fewest times, the first in an order
        fixed by `seed` wins: no repeat until the cell is exhausted, then an even cycle.
        """
        cell = self.cell(problem_area, phase)
        cell_ids = {p.id for p in cell}
        uses = Counter(i for i in used_ids if i in cell_ids)
        fewest = min(uses[p.id] for p in cell)
        # A hash (not random.Random) keeps the order identical across Python versions.
        order = sorted(cell, key=lambda p: hashlib.sha256(f"{seed}:{p.id}".encode()).digest())
        return next(p for p in order if uses[p.id] == fewest)


def _parse(data: object) -> PromptLibrary:
    if not isinstance(data, dict) or not isinstance(data.get("areas"), dict):
        raise ValueError("prompt library: expected an object with an 'areas' object")
    cells: dict[tuple[str, str], tuple[Prompt, ...]] = {}
    seen: set[str] = set()
    for area, phases in data["areas"].items():
        if area not in (*PROBLEM_AREAS, GENERAL_AREA):
            raise ValueError(f"prompt library: unknown problem area {area!r}")
        for phase in PHASES:
            entries = phases.get(phase, [])
            prompts = tuple(Prompt(id=str(e["id"]), text=str(e["text"])) for e in entries)
            if len(prompts) < MIN_PROMPTS[phase]:
                raise ValueError(f"prompt library: {area}/{phase} needs {MIN_PROMPTS[phase]}+")
            for p in prompts:
                _check_prompt(p, area, phase, seen)
                seen.add(p.id)
            cells[(area, phase)] = prompts
    missing = [a for a in (*PROBLEM_AREAS, GENERAL_AREA) if (a, "initial") not in cells]
    if missing:
        raise ValueError(f"prompt library: no prompts for {missing}")
    return PromptLibrary(cells)


def _check_prompt(p: Prompt, area: str, phase: str, seen: set[str]) -> None:
    # Fail at load time rather than text a client something unfit.
    if not _ID_PATTERN.match(p.id) or not p.id.startswith(f"{area}.{phase}."):
        raise ValueError(f"prompt library: bad id {p.id!r} in {area}/{phase}")
    if p.id in seen:
        raise ValueError(f"prompt library: duplicate id {p.id!r}")
    if not _ASCII_PRINTABLE.match(p.text) or len(p.text) > MAX_PROMPT_CHARS:
        raise ValueError(f"prompt library: {p.id} must be 1-{MAX_PROMPT_CHARS} ASCII characters")
    if words := clinical_words_in(p.text):
        raise ValueError(f"prompt library: {p.id} contains {words}")


def load_prompt_library(path: str | Path) -> PromptLibrary:
    """Load and validate the prompt library at `path` (`package_data.prompts_file()` finds ours)."""
    return _parse(json.loads(Path(path).read_text(encoding="utf-8")))
