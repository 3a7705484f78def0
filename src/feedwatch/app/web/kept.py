"""Answers kept in memory for the web's pages: the first request for a key computes its answer;
later ones get the kept answer at once, and an answer older than `ttl` seconds is computed
again in the background (one thread, one refresh per key at a time), so no visitor but the
very first waits. A refresh that fails keeps the old answer and is logged."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(Generic[K, V]):
    """key -> compute(key), kept `ttl` seconds and then refreshed in the background."""

    def __init__(
        self,
        compute: Callable[[K], V],
        *,
        ttl: float,
        what: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compute = compute
        self._ttl = ttl
        self._what = what  # for the log: "the sources' health", "the dossiers' counts"
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: dict[K, tuple[float, V]] = {}
        self._pending: set[K] = set()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedwatch-web-kept")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _fill(self, key: K) -> V:
        value = self._compute(key)
        with self._lock:
            self._kept[key] = (self._clock(), value)
        return value

    def get(self, key: K) -> V:
        with self._lock:
            hit = self._kept.get(key)
        if hit is None:
            return self._fill(key)
        if self._clock() - hit[0] >= self._ttl:
            self._refresh_later(key)
        return hit[1]

    def _refresh_later(self, key: K) -> None:
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)

        def run() -> None:
            try:
                self._fill(key)
            except Exception:  # the old answer stays; logged, not raised
                log.exception("could not compute %s", self._what)
            finally:
                with self._lock:
                    self._pending.discard(key)

        with contextlib.suppress(RuntimeError):  # shutting down
            self._pool.submit(run)
