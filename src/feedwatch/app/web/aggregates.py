"""Counts per week for the charts, kept in memory: finished weeks are asked once and refreshed
in the background after `ttl` seconds (10 minutes); the current week is asked again after
`live` seconds (30), by the request that finds it older.

A finished week changes only when an old item arrives late, is re-classified or relabelled;
labels set in this process drop the cached week of their item at once. Everything else shows
within `ttl` seconds. A week of topics is a sum over the store's `topic_hours` (migration 0009:
52 weeks in a few tens of milliseconds on a million items, so the first visitor after start-up
does not wait); a week of sources is counted from the items' indexes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Literal

from feedwatch.edges.store import Store

log = logging.getLogger(__name__)

Kind = Literal["topic", "source"]
Week = tuple[datetime, datetime]


class WeekCounts:
    """Items per topic or per source, per [start, end) week."""

    def __init__(
        self,
        store: Store,
        *,
        ttl: float = 600.0,
        live: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._live = live
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[Kind, datetime, datetime], tuple[float, dict[str, int]]] = {}
        self._pending: set[tuple[Kind, datetime, datetime]] = set()
        self._filling: dict[tuple[Kind, datetime, datetime], threading.Lock] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedwatch-web-counts")
        self._totals: tuple[float, dict[str, int]] | None = None
        self._pending_totals: set[str] = set()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _ask(self, kind: Kind, start: datetime, end: datetime) -> dict[str, int]:
        if kind == "topic":
            return self._store.topic_counts(start, end)
        return self._store.source_counts(start, end)

    def series(self, kind: Kind, weeks: Sequence[Week], now: datetime) -> list[dict[str, int]]:
        """The counts of each week, oldest first. The finished weeks of topics not cached yet
        are asked in one query (topic_hours), not one by one."""
        if kind == "topic":
            with self._lock:
                missing = [
                    (a, b) for a, b in weeks if b <= now and ("topic", a, b) not in self._cache
                ]
            if len(missing) > 1:
                counted = self._store.topic_counts_periods(missing)
                at = self._clock()
                with self._lock:
                    for (a, b), counts in zip(missing, counted, strict=True):
                        self._cache.setdefault(("topic", a, b), (at, counts))
        return [self.week(kind, start, end, now) for start, end in weeks]

    def week(self, kind: Kind, start: datetime, end: datetime, now: datetime) -> dict[str, int]:
        key = (kind, start, end)
        if end > now:  # the current week: asked again after `live` seconds, while one waits
            with self._lock:
                hit = self._cache.get(key)
            if hit is not None and self._clock() - hit[0] <= self._live:
                return hit[1]
            counts = self._ask(kind, start, end)
            with self._lock:
                self._cache[key] = (self._clock(), counts)
            return counts
        with self._lock:
            hit = self._cache.get(key)
        if hit is None:
            return self._fill(key)
        at, counts = hit
        if self._clock() - at > self._ttl:
            self._refresh_later(key)
        return counts

    def _fill(self, key: tuple[Kind, datetime, datetime]) -> dict[str, int]:
        """Ask a week not cached yet, once: a second asker (a request while the start-up
        warming counts the same week) waits for the first one's answer."""
        with self._lock:
            gate = self._filling.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                hit = self._cache.get(key)
            if hit is not None:
                return hit[1]
            counts = self._ask(*key)
            with self._lock:
                self._cache[key] = (self._clock(), counts)
                self._filling.pop(key, None)
            return counts

    def _refresh_later(self, key: tuple[Kind, datetime, datetime]) -> None:
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)

        def run() -> None:
            try:
                counts = self._ask(*key)
                with self._lock:
                    self._cache[key] = (self._clock(), counts)
            except Exception:  # a failed refresh keeps the old figures; logged, not raised
                log.exception("could not refresh the counts of %s", key)
            finally:
                with self._lock:
                    self._pending.discard(key)

        try:
            self._pool.submit(run)
        except RuntimeError:  # shut down
            with self._lock:
                self._pending.discard(key)

    def warm(self, kind: Kind, weeks: Sequence[Week], now: datetime) -> None:
        """Ask the finished weeks in the background (at start-up), so that no visitor waits:
        the topics' in one query; the sources' newest first, so that a first visitor (who asks
        oldest first) meets it half-way."""

        def run() -> None:
            if kind == "topic":  # one query for all of them (series() fills the cache)
                try:
                    self.series(kind, [w for w in weeks if w[1] <= now], now)
                except Exception:
                    log.exception("could not count the weeks of the topics")
                return
            for start, end in reversed(weeks):
                if end <= now:
                    try:
                        self.week(kind, start, end, now)
                    except Exception:
                        log.exception("could not count the week of %s", start)
                        return

        with contextlib.suppress(RuntimeError):
            self._pool.submit(run)

    def forget(self, at: datetime) -> None:
        """Drop the cached weeks that hold `at` (an item whose topics changed)."""
        with self._lock:
            for key in [k for k in self._cache if k[1] <= at < k[2]]:
                del self._cache[key]

    def items_per_source(self) -> dict[str, int]:
        """Every source's stored items (a pass over a whole index: a second on a million
        items): asked once, then again in the background after `ttl` seconds."""
        with self._lock:
            hit = self._totals
        if hit is None:
            return self._count_sources()
        if self._clock() - hit[0] > self._ttl:
            self._submit_totals()
        return hit[1]

    def _count_sources(self) -> dict[str, int]:
        counts = self._store.items_per_source()
        with self._lock:
            self._totals = (self._clock(), counts)
        return counts

    def _submit_totals(self) -> None:
        with self._lock:
            if "totals" in self._pending_totals:
                return
            self._pending_totals.add("totals")

        def run() -> None:
            try:
                self._count_sources()
            except Exception:
                log.exception("could not count the items per source")
            finally:
                with self._lock:
                    self._pending_totals.discard("totals")

        with contextlib.suppress(RuntimeError):
            self._pool.submit(run)

    def warm_totals(self) -> None:
        """Count the items per source in the background (at start-up)."""
        self._submit_totals()
