"""Rendered answers kept in the process, each served only while its source is unchanged.

An office's week is some 140 sessions; turning their rows into JSON is most of what the
request costs, and the desk asks for the same week again and again while little in it
changes. Each entry is stored with the fingerprint of the rows it was rendered from (for the
week: `services.session_reads.between_version`, every row's version), and a request reads the
fingerprint afresh before it may use the entry: a stale entry is never served, it is dropped.

Keys carry the reader's reach (`services.access.Reach`) as well as what was asked: two
readers share an entry only when they would be shown exactly the same thing. Entries live in
this process's memory alone (nothing is written anywhere), bounded in number and in bytes,
the least recently used going first, and in time: an hour after it was rendered an entry is
rendered afresh, so no client data stays in memory long for a week nobody changes (and a row
version, PostgreSQL's 32-bit transaction id, never has time to come round again).
`RENDER_CACHE_MB=0` turns the cache off.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from flask import Response, current_app, jsonify

from .. import metrics

# An entry larger than this share of the budget is not kept: it would push out many others.
_LARGEST_SHARE = 4


class RenderCache:
    def __init__(
        self,
        max_bytes: int,
        max_entries: int = 512,
        max_age_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.max_age_s = max_age_s
        self._clock = clock
        # key -> (version, body, when it was rendered)
        self._entries: OrderedDict[Hashable, tuple[str, bytes, float]] = OrderedDict()
        self._bytes = 0
        # gunicorn's sync workers serve one request at a time; the development server and
        # threaded workers do not.
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def get(self, key: Hashable, version: str) -> bytes | None:
        """The body stored for `key` if it was rendered from `version` within the hour; any
        other body stored for it is dropped."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                hit = None
            elif found[0] == version and self._clock() - found[2] < self.max_age_s:
                self._entries.move_to_end(key)
                hit = found[1]
            else:
                hit = None
                self._drop(key)
        metrics.count_render_cache("miss" if hit is None else "hit")
        return hit

    def put(self, key: Hashable, version: str, body: bytes) -> None:
        if not self.enabled or len(body) * _LARGEST_SHARE > self.max_bytes:
            return
        with self._lock:
            self._drop(key)
            self._entries[key] = (version, body, self._clock())
            self._bytes += len(body)
            while self._bytes > self.max_bytes or len(self._entries) > self.max_entries:
                self._drop(next(iter(self._entries)))

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: Hashable) -> None:
        found = self._entries.pop(key, None)
        if found is not None:
            self._bytes -= len(found[1])


def renders() -> RenderCache:
    """The app's cache (`web.create_app` makes one per app)."""
    return current_app.extensions["ipt_renders"]


def json_answer(key: Hashable, version: str | None, render: Callable[[], Any]) -> Response:
    """`render()`'s JSON answer, or the one stored for `key` when it was rendered from
    `version`, the fingerprint just read of its rows (None: not cacheable here, rendered).
    The key must hold everything the answer depends on besides those rows: who reads it
    (their reach) and what they asked."""
    cache = renders()
    if version is not None and (body := cache.get(key, version)) is not None:
        return current_app.response_class(body, mimetype="application/json")
    response = jsonify(render())
    if version is not None:
        cache.put(key, version, response.get_data())
    return response
