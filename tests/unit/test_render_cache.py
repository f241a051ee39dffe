"""The render cache keeps bodies by key and version, bounded in bytes and entries."""

from __future__ import annotations

from scheduler import metrics
from scheduler.web.render_cache import RenderCache


def _count(result: str) -> float:
    return metrics.RENDER_CACHE.labels(result=result)._value.get()


def test_a_body_is_served_only_for_the_version_it_was_rendered_from():
    cache = RenderCache(max_bytes=1000)
    cache.put("week", "v1", b"old")
    assert cache.get("week", "v1") == b"old"
    assert cache.get("week", "v2") is None
    # The stale body is dropped, not kept beside the new one: v1 never comes back.
    assert len(cache) == 0
    assert cache.get("week", "v1") is None


def test_hits_and_misses_are_counted():
    cache = RenderCache(max_bytes=1000)
    hits, misses = _count("hit"), _count("miss")
    cache.get("week", "v1")
    cache.put("week", "v1", b"body")
    cache.get("week", "v1")
    assert (_count("hit") - hits, _count("miss") - misses) == (1, 1)


def test_the_least_recently_used_goes_first_when_the_bytes_run_out():
    cache = RenderCache(max_bytes=100)
    cache.put("a", "1", b"x" * 20)
    cache.put("b", "1", b"x" * 20)
    cache.put("c", "1", b"x" * 20)
    assert cache.get("a", "1") is not None  # a is now the most recently used
    cache.put("d", "1", b"x" * 25)
    cache.put("e", "1", b"x" * 25)  # 110 bytes: b, the least recently used, goes
    assert cache.get("b", "1") is None
    assert [cache.get(k, "1") is not None for k in "acde"] == [True, True, True, True]


def test_the_number_of_entries_is_bounded_too():
    cache = RenderCache(max_bytes=10_000, max_entries=2)
    for key in "abc":
        cache.put(key, "1", b"x")
    assert len(cache) == 2
    assert cache.get("a", "1") is None


def test_a_body_too_large_for_its_share_is_not_kept():
    cache = RenderCache(max_bytes=100)
    cache.put("small", "1", b"x" * 10)
    cache.put("huge", "1", b"x" * 26)  # more than a quarter of the budget
    assert cache.get("huge", "1") is None
    assert cache.get("small", "1") == b"x" * 10


def test_a_new_version_replaces_the_old_one_and_its_bytes():
    cache = RenderCache(max_bytes=100)
    cache.put("week", "1", b"x" * 20)
    cache.put("week", "2", b"y" * 20)
    cache.put("other", "1", b"z" * 20)
    cache.put("third", "1", b"z" * 20)
    cache.put("fourth", "1", b"z" * 20)  # 80 bytes in all: nothing evicted
    assert cache.get("week", "2") == b"y" * 20
    assert len(cache) == 4


def test_a_zero_budget_turns_the_cache_off():
    assert not RenderCache(max_bytes=0).enabled
    cache = RenderCache(max_bytes=0)
    cache.put("week", "1", b"")
    assert cache.get("week", "1") is None


def test_an_entry_is_rendered_afresh_after_an_hour():
    now = [1000.0]
    cache = RenderCache(max_bytes=1000, clock=lambda: now[0])
    cache.put("week", "v1", b"body")
    now[0] += 3599
    assert cache.get("week", "v1") == b"body"
    now[0] += 1
    assert cache.get("week", "v1") is None
    assert len(cache) == 0  # dropped, not kept beside the next rendering
