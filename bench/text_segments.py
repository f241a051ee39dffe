"""Print the segment budget: the worst case of every text kind in every language.

    uv run python bench/text_segments.py

One line per (kind, language): encoding, segments, characters, and the worst text itself.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from scheduler.domain.sms import encoding_for, segment_count
from scheduler.locations import load_locations
from scheduler.texts.budget import (
    BUDGET,
    LONG_FIRST_NAMES,
    LONGEST_OFFICE,
    ZONE,
    worst_cases,
    worst_per_kind,
)
from scheduler.texts.wording import TextFacts, render

ROOT = Path(__file__).resolve().parent.parent
SPANISH_GOAL = "Llamar a mi hermana el domingo y pedirle que me acompañe al mercado el sábado"


def main() -> None:
    book = load_locations(ROOT / "locations.yaml")
    office = book[book.ids[0]]
    worst = worst_per_kind(worst_cases(office, book.practice))
    print(f"{'kind':24} lang  encoding  segs  chars  budget")
    for (kind, language), s in sorted(worst.items()):
        budget = BUDGET.get(kind, "-")
        print(f"{kind:24} {language:4}  {s.encoding:8}  {s.segments:4}  {len(s.text):5}  {budget}")
    print()
    for (kind, language), s in sorted(worst.items()):
        print(f"[{kind} {language}] {s.text}")
    # Not held to the budget: a weekly goal the therapist typed in Spanish with its accents is
    # quoted as typed, and one á turns the prompt into UCS-2.
    facts = TextFacts(
        kind="goal_prompt",
        first_name=LONG_FIRST_NAMES[0],
        client_zone=ZONE,
        office=replace(office, name=LONGEST_OFFICE),
        practice=book.practice,
        prompt_text="Is anything getting in the way of your plan this week?",
        weekly_goal=SPANISH_GOAL,
        language="es",
    )
    text = render(facts)
    print()
    print(f"goal typed in Spanish: {encoding_for(text)}, {segment_count(text)} segments: {text}")


if __name__ == "__main__":
    main()
