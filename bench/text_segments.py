"""Print the segment budget: the worst case of every text kind in every language.

    uv run python bench/text_segments.py

One line per (kind, language): encoding, segments, characters, and the worst text itself.
"""

from __future__ import annotations

from pathlib import Path

from scheduler.locations import load_locations
from scheduler.texts.budget import BUDGET, worst_cases, worst_per_kind

ROOT = Path(__file__).resolve().parent.parent


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


if __name__ == "__main__":
    main()
