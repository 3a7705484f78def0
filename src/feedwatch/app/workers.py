"""Extraction and classification in worker processes, so a pass uses more than one core.

`decide.process()` is pure and CPU-bound (parse, normalise, classify); everything else in a
pass (HTTP, the event loop, database writes) waits on I/O. With a `ProcessPool`, `run_fetch()`
hands each successful response to a worker process and keeps fetching and writing meanwhile:

    with ProcessPool(1, topics_path) as pool:   # create it before any thread or event loop
        asyncio.run(run_fetch(config, store, classifier=..., offload=pool.process))

The workers build their own classifier from `topics_path` (the same rules, so the same
version). The pool forks where it can, and it forks at once, while the process is still
single-threaded; elsewhere it spawns. A worker holds no database connection: the store closes
its pooled connections before any fork (edges/store/base.py) and the worker imports the pure
core only; and a worker ends with its parent (die_with_parent), so a killed `feedwatch fetch`
leaves no process behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from types import TracebackType

from feedwatch.app.classifier import make_classifier
from feedwatch.core.decide import Classifier, process
from feedwatch.types import FetchResult, Source, SourceState, SourceUpdate

__all__ = ["ProcessPool"]

_classifier: Classifier | None = None
_version: str | None = None


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """End this process when `parent` ends: on Linux the kernel sends SIGKILL when the parent
    (the thread that forked this process: the pool's creator) dies, even by SIGKILL; a parent
    already gone by now ends it at once. Elsewhere the pool's closed pipe ends it."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _init(topics_path: str | None, parent: int) -> None:
    global _classifier, _version
    die_with_parent(parent)
    _classifier, _version = make_classifier(topics_path)


def _ready() -> str | None:
    return _version


def _process(
    source: Source, state: SourceState, result: FetchResult, now: datetime
) -> SourceUpdate:
    return process(source, state, result, now, classifier=_classifier, classifier_version=_version)


class ProcessPool:
    """`processes` worker processes that run decide.process() with the configured topics."""

    def __init__(self, processes: int, topics_path: str | None = None) -> None:
        if processes < 1:
            raise ValueError("a process pool needs at least one process")
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        if context.get_start_method() == "fork":
            # What exists now (modules, config, rules) lives as long as the process: out of the
            # collector's reach, so that no collection in either process writes to those pages
            # and the forked worker keeps sharing them (~10 MB less private memory in bench/).
            gc.freeze()
        self._pool = ProcessPoolExecutor(
            processes, mp_context=context, initializer=_init, initargs=(topics_path, os.getpid())
        )
        # Start the workers now (fork: all of them, before the pool's own thread exists).
        self.classifier_version = self._pool.submit(_ready).result()

    async def process(
        self, source: Source, state: SourceState, result: FetchResult, now: datetime
    ) -> SourceUpdate:
        """decide.process() with the workers' classifier, in a worker process."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _process, source, state, result, now)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
