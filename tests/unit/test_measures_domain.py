"""PHQ-9 and GAD-7 as published: items, options, scoring, severity bands, the measure plan."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.domain import measures
from scheduler.domain.ipt import CLINICAL_WORDS

# The published bands, written out again on purpose: a change to the module must fail here.
PHQ9_BANDS = [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"),
              (15, 19, "moderately severe"), (20, 27, "severe")]  # fmt: skip
GAD7_BANDS = [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")]


def _expected(bands: list[tuple[int, int, str]], total: int) -> str:
    return next(label for low, high, label in bands if low <= total <= high)


def test_phq9_has_the_published_nine_items_and_options() -> None:
    spec = measures.PHQ9
    assert len(spec.items) == 9 and spec.max_score == 27
    assert spec.items[0] == "Little interest or pleasure in doing things"
    assert spec.items[1] == "Feeling down, depressed, or hopeless"
    assert spec.items[8] == (
        "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert spec.stem.startswith("Over the last 2 weeks, how often have you been bothered")
    assert measures.FREQUENCY_OPTIONS == (
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    )


def test_gad7_has_the_published_seven_items() -> None:
    spec = measures.GAD7
    assert len(spec.items) == 7 and spec.max_score == 21
    assert spec.items[0] == "Feeling nervous, anxious or on edge"
    assert spec.items[6] == "Feeling afraid as if something awful might happen"


@pytest.mark.parametrize("total", range(28))
def test_phq9_severity_bands(total: int) -> None:
    assert measures.severity("phq9", total) == _expected(PHQ9_BANDS, total)


@pytest.mark.parametrize("total", range(22))
def test_gad7_severity_bands(total: int) -> None:
    assert measures.severity("gad7", total) == _expected(GAD7_BANDS, total)


@given(st.lists(st.integers(0, 3), min_size=9, max_size=9))
def test_phq9_score_is_the_sum_and_item9_is_the_risk(answers: list[int]) -> None:
    scored = measures.score("phq9", answers)
    assert scored.score == sum(answers)
    assert scored.severity == _expected(PHQ9_BANDS, sum(answers))
    assert scored.risk == (answers[8] > 0)


@given(st.lists(st.integers(0, 3), min_size=7, max_size=7))
def test_gad7_score_never_signals_the_phq9_risk(answers: list[int]) -> None:
    scored = measures.score("gad7", answers)
    assert scored.score == sum(answers)
    assert scored.severity == _expected(GAD7_BANDS, sum(answers))
    assert scored.risk is False


def test_boundaries_of_item_9() -> None:
    assert measures.score("phq9", [0] * 9).risk is False
    assert measures.score("phq9", [0] * 8 + [1]).risk is True


@pytest.mark.parametrize(
    ("instrument", "answers", "field"),
    [
        ("phq9", [0] * 8, "answers"),
        ("phq9", [0] * 10, "answers"),
        ("gad7", [0] * 9, "answers"),
        ("phq9", [0, 0, 4, 0, 0, 0, 0, 0, 0], "answers.2"),
        ("phq9", [0, -1, 0, 0, 0, 0, 0, 0, 0], "answers.1"),
        ("phq9", [True, 0, 0, 0, 0, 0, 0, 0, 0], "answers.0"),
        ("phq9", ["1", 0, 0, 0, 0, 0, 0, 0, 0], "answers.0"),
        ("phq2", [0, 0], "instrument"),
        ("phq9", "000000000", "answers"),
    ],
)
def test_bad_answers_name_the_field(instrument: str, answers: object, field: str) -> None:
    with pytest.raises(measures.AnswersInvalid) as err:
        measures.score(instrument, answers)  # type: ignore[arg-type]
    assert err.value.field == field


def test_difficulty_is_optional_and_0_to_3() -> None:
    assert measures.check_difficulty(None) is None
    assert measures.check_difficulty(2) == 2
    with pytest.raises(measures.AnswersInvalid):
        measures.check_difficulty(4)


@pytest.mark.parametrize(
    ("count", "points"),
    [
        (16, (1, 4, 8, 12, 16)),
        (12, (1, 4, 8, 12)),
        (8, (1, 4, 8)),
        (14, (1, 4, 8, 12, 14)),
        (3, (1, 3)),
        (1, (1,)),
    ],
)
def test_standard_plan_is_1_4_8_12_and_the_last(count: int, points: tuple[int, ...]) -> None:
    assert measures.measure_points("standard", count) == points


def test_other_plans() -> None:
    assert measures.measure_points("every_session", 4) == (1, 2, 3, 4)
    assert measures.measure_points("none", 16) == ()
    assert measures.planned_instruments("standard", True, 4, 16) == ("phq9", "gad7")
    assert measures.planned_instruments("standard", False, 4, 16) == ("phq9",)
    assert measures.planned_instruments("standard", True, 5, 16) == ()


def test_instrument_names_are_clinical_words_so_forms_must_not_show_them() -> None:
    # The client's form is titled without them; this guards the assumption in the templates.
    assert any(measures.PHQ9.name.lower().startswith(w) for w in CLINICAL_WORDS)
