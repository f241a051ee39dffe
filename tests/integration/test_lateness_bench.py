"""A small run of bench/lateness.py: the dispatcher meets the rate's floor, spreading beats it."""

from __future__ import annotations

from bench import lateness


def test_a_small_busy_day_on_sqlite():
    before = lateness.run("sqlite", 6, spreading=False)
    after = lateness.run("sqlite", 6, spreading=True)
    natural = {(t[0], t[1]): t[3] for t in before["texts"] if t[3] is not None}
    floor = lateness.summary(
        "floor", lateness.floor([(t[2], t[1], t[3]) for t in before["texts"] if t[4] is not None])
    )
    unspread = lateness.figures(before, natural, floor["floor_max_s"])
    spread = lateness.figures(after, natural, floor["floor_max_s"])
    # Six visits start together at each office: the floor is 5 seconds for the last reminder.
    assert floor["floor_max_s"] == 5.0
    assert unspread["reminders_sent"] == spread["reminders_sent"] == 6 * 2 * 9
    assert unspread["ratio_to_floor"] == 1.0
    assert spread["late_max_s"] == 0.0 and spread["any_text_late_max_s"] == 0.0
    assert -lateness.MAX_SHIFT_S <= spread["moved_earliest_s"] < 0
    assert spread["reminders_not_sent"] == unspread["reminders_not_sent"] == 0
