"""The goal-prompt library: coverage, wording, no repeats, determinism, load-time checks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.domain.ipt import (
    GENERAL_AREA,
    MAX_PROMPT_CHARS,
    PHASES,
    PROBLEM_AREAS,
    PromptLibrary,
    load_prompt_library,
    phase_for,
)
from scheduler.domain.sms import encoding_for
from scheduler.package_data import prompts_file

AREAS = (*PROBLEM_AREAS, GENERAL_AREA)
# Independent of ipt.CLINICAL_WORDS on purpose: a word dropped from that list is still caught.
FORBIDDEN = re.compile(
    r"depress|grie[fv]|therap|diagnos|disorder|symptom|mental|anxi|trauma|suicid|mourn|"
    r"bereave|treatment|counsel|patient|death|\bdied\b|dispute|deficit|isolat|lonel|"
    r"interpersonal|role.transition|\bipt\b|phq|psych|illness|medicat|\bsession",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def library() -> PromptLibrary:
    return load_prompt_library(prompts_file())


def test_every_cell_is_filled(library: PromptLibrary) -> None:
    for area in AREAS:
        assert len(library.cell(area, "initial")) >= 3
        assert len(library.cell(area, "middle")) >= 4
        assert len(library.cell(area, "termination")) >= 3


def test_prompts_are_short_gsm7_and_free_of_clinical_words(library: PromptLibrary) -> None:
    for area in AREAS:
        for phase in PHASES:
            for prompt in library.cell(area, phase):
                assert not FORBIDDEN.search(prompt.text), prompt
                assert area.replace("_", " ") not in prompt.text.lower(), prompt
                assert len(prompt.text) <= MAX_PROMPT_CHARS, prompt
                assert encoding_for(prompt.text) == "GSM-7", prompt


def test_ids_are_unique_and_texts_unique_within_a_cell(library: PromptLibrary) -> None:
    ids: list[str] = []
    for area in AREAS:
        for phase in PHASES:
            cell = library.cell(area, phase)
            ids += [p.id for p in cell]
            assert len({p.text for p in cell}) == len(cell)
            assert all(p.id.startswith(f"{area}.{phase}.") for p in cell)
    assert len(ids) == len(set(ids))


def test_unknown_area_or_phase_is_named(library: PromptLibrary) -> None:
    with pytest.raises(ValueError, match="'loneliness'"):
        library.choose("loneliness", "middle", [], seed=1)
    with pytest.raises(ValueError, match="'maintenance'"):
        library.choose("grief", "maintenance", [], seed=1)


def _series(library: PromptLibrary, area: str, count: int, seed: int) -> list[str]:
    """Prompt ids for one goal prompt after every session of a series but the last."""
    used: list[str] = []
    for number in range(1, count):
        used.append(library.choose(area, phase_for(number, count), used, seed).id)
    return used


@pytest.mark.parametrize("area", AREAS)
@pytest.mark.parametrize("count", [8, 12, 14, 16, 20])
def test_no_repeat_within_a_series(library: PromptLibrary, area: str, count: int) -> None:
    for seed in range(25):
        ids = _series(library, area, count, seed)
        assert len(ids) == len(set(ids)), (seed, ids)


@pytest.mark.parametrize("area", AREAS)
def test_sixteen_weeks_in_one_cell_never_repeat(library: PromptLibrary, area: str) -> None:
    # A long middle phase (or a renegotiated extension) can draw 14+ prompts from one cell.
    used: list[str] = []
    for _ in range(min(16, len(library.cell(area, "middle")))):
        used.append(library.choose(area, "middle", used, seed=7).id)
    assert len(used) == len(set(used))
    assert len(used) >= 14


# Loads the library file per example: slow on a busy machine, and time is not the point.
@settings(deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**63))
def test_exhausted_cell_cycles_evenly(seed: int) -> None:
    library = load_prompt_library(prompts_file())
    cell = library.cell("role_dispute", "termination")
    used: list[str] = []
    for _ in range(len(cell) * 3):
        used.append(library.choose("role_dispute", "termination", used, seed).id)
    assert all(used.count(p.id) == 3 for p in cell)


# Loads the library file per example: slow on a busy machine, and time is not the point.
@settings(deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**63), area=st.sampled_from(AREAS))
def test_choice_is_deterministic_for_a_seed(seed: int, area: str) -> None:
    first = _series(load_prompt_library(prompts_file()), area, 16, seed)
    assert _series(load_prompt_library(prompts_file()), area, 16, seed) == first


def test_seeds_vary_the_order(library: PromptLibrary) -> None:
    firsts = {library.choose("grief", "middle", [], seed).id for seed in range(40)}
    assert len(firsts) > 5


def test_ids_from_other_cells_do_not_count(library: PromptLibrary) -> None:
    other = [p.id for p in library.cell("grief", "initial")]
    assert library.choose("grief", "middle", other, 3) == library.choose("grief", "middle", [], 3)


def _write(tmp_path: Path, mutate: str) -> Path:
    data = json.loads(prompts_file().read_text())
    cell = data["areas"]["grief"]["middle"]
    if mutate == "clinical":
        cell[0]["text"] = "How is your depression this week?"
    elif mutate == "duplicate":
        cell[1]["id"] = cell[0]["id"]
    elif mutate == "too_few":
        data["areas"]["grief"]["middle"] = cell[:3]
    elif mutate == "non_ascii":
        cell[0]["text"] = "How’s it going?"
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        ("clinical", "depress"),
        ("duplicate", "duplicate"),
        ("too_few", "needs 4"),
        ("non_ascii", "ASCII"),
    ],
)
def test_bad_library_files_are_rejected(tmp_path: Path, mutate: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_prompt_library(_write(tmp_path, mutate))


def test_unchanged_copy_loads(tmp_path: Path) -> None:
    assert set(load_prompt_library(_write(tmp_path, "none")).areas) == set(AREAS)
