"""One pass over sources: fetch, extract, normalise, classify, decide, store.

`run_fetch()` is the async shell around the pure decide step (core/decide.py): it owns the
client, the limiter, the order of work and the batched reads and writes of the store, and turns
every source's failure into a recorded outcome while the others go on. Every store call runs in
a thread (asyncio.to_thread), never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Generic, TypeVar

from feedwatch.app.classifier import configured_topics, make_classifier
from feedwatch.app.harvest import DEFAULT_ENRICH_LIMIT, Harvest, Offload, fetch_source
from feedwatch.config.sources import Config
from feedwatch.core.decide import Classifier, decide, internal_error
from feedwatch.edges.http.fetch import FetchSettings, HostLimiter, make_client
from feedwatch.edges.http.netpolicy import AddressPolicy
from feedwatch.edges.http.robots import RobotsCache
from feedwatch.edges.store import Store
from feedwatch.errors import StorageError
from feedwatch.types import (
    FetchOutcome,
    RunResult,
    Source,
    SourceState,
    SourceUpdate,
    StoredItems,
)

__all__ = [
    "Classifier",
    "RunResult",
    "configured_topics",
    "fetch_settings",
    "make_classifier",
    "decided",
    "run_fetch",
    "write_update",
    "write_updates",
]

log = logging.getLogger("feedwatch.fetch")

WRITE_BATCH = 50  # most sources written with one commit (Store.apply_many)
READ_BATCH = 50  # most sources whose stored items are read at once (Store.stored_items_many)

Req = TypeVar("Req")
Res = TypeVar("Res")


class Batched(Generic[Req, Res]):
    """Calls of `fn` over lists, in a thread: whoever holds the lock runs every request
    waiting, `size` at a time. `fn` returns one result per request, or an exception in its
    place (raised to that request's caller only)."""

    def __init__(self, fn: Callable[[list[Req]], Sequence[Res | BaseException]], size: int):
        self._fn = fn
        self._size = size
        self._lock = asyncio.Lock()
        self._pending: list[tuple[Req, asyncio.Future[Res]]] = []

    async def __call__(self, request: Req) -> Res:
        done: asyncio.Future[Res] = asyncio.get_running_loop().create_future()
        self._pending.append((request, done))
        async with self._lock:
            while not done.done():  # its own request may be past the first batch
                batch = self._pending[: self._size]
                del self._pending[: self._size]
                try:
                    results = await asyncio.to_thread(self._fn, [r for r, _f in batch])
                except BaseException as exc:  # cancelled or broken: nobody waits forever
                    for _r, fut in batch:
                        if fut.done():
                            continue
                        if isinstance(exc, Exception):
                            fut.set_exception(exc)
                        else:
                            fut.cancel()
                    raise
                for (_r, fut), res in zip(batch, results, strict=True):
                    if isinstance(res, BaseException):
                        fut.set_exception(res)
                    else:
                        fut.set_result(res)
        return await done


def _log_outcome(o: FetchOutcome) -> None:
    extra = {
        "source": o.key,
        "status": o.outcome,
        "http": o.http_status,
        "new": o.new,
        "updated": o.updated,
        "unchanged": o.unchanged,
        "duration": round(o.duration, 3),
        "error": o.error,
    }
    if o.outcome == "error":
        log.warning("%s error %s: %s", o.key, o.http_status or "-", o.error, extra=extra)
    else:
        log.info(
            "%s %s http=%s new=%d updated=%d unchanged=%d %.2fs",
            o.key,
            o.outcome,
            o.http_status or "-",
            o.new,
            o.updated,
            o.unchanged,
            o.duration,
            extra=extra,
        )
    for w in o.warnings:
        log.warning("%s warning: %s", o.key, w, extra={"source": o.key})


async def _guarded(
    source: Source, state: SourceState, clock: Callable[[], datetime], harvest: Harvest
) -> SourceUpdate:
    """fetch_source(), with a bug in reading one source recorded on that source (with its
    traceback in the log) instead of ending the pass for every other source."""
    try:
        return await fetch_source(harvest, source, state)
    except StorageError:  # the database, not this source: the run stops
        raise
    except Exception as exc:  # a feedwatch or library bug, not a source problem
        log.exception("%s: internal error while reading this source", source.key)
        return internal_error(source, state, clock(), exc)


async def run_fetch(
    config: Config,
    store: Store,
    *,
    keys: Sequence[str] | None = None,
    every: bool = False,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    classifier: Classifier | None = None,
    classifier_version: str | None = None,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[FetchOutcome], None] | None = None,
    sync: bool = True,
    enrich_limit: int = DEFAULT_ENRICH_LIMIT,
    robots: RobotsCache | None = None,
    offload: Offload | None = None,
) -> RunResult:
    """Fetch the due sources (or `keys`, or `every` enabled source) once and store the results.

    `enrich_limit`: article pages fetched per source per run to date undated items.
    `robots`: a robots.txt cache to keep between runs (the daemon); a fresh one otherwise.
    `offload`: runs process() for each full response elsewhere (workers.ProcessPool.process,
    whose classifier must be the one `classifier` stands for), so a pass uses more cores.
    """
    started = time.perf_counter()
    now = clock()
    if sync:  # mirror the config into the sources table (the daemon does it once per tick)
        await asyncio.to_thread(store.sync_sources, config.sources, now)
    by_key = {s.key: s for s in config.sources}
    if keys:
        states = await asyncio.to_thread(store.source_states, keys)
        todo = [states[k] for k in keys if k in states]
    elif every:
        enabled = [s.key for s in config.sources if s.enabled]
        states = await asyncio.to_thread(store.source_states, enabled)
        todo = [states[k] for k in enabled if k in states]
    else:
        todo = [st for st in await asyncio.to_thread(store.due_sources, now) if st.key in by_key]
    if on_start is not None:
        on_start(len(todo))
    if not todo:
        return RunResult((), time.perf_counter() - started)

    settings = fetch_settings(config)
    limiter = HostLimiter.from_settings(settings)
    # Sources between their fetch and their write at once: bounds memory when writes lag.
    in_flight = asyncio.Semaphore(max(4 * settings.global_limit, 16))
    outcomes: list[FetchOutcome] = []
    # Writes: one commit for every update waiting (Store.apply_many); reads of the stored items
    # for the decide step likewise, with a fixed number of statements per batch.
    write = Batched[SourceUpdate, FetchOutcome](store.apply_many, WRITE_BATCH)
    read = Batched[tuple[str, Sequence[str], Sequence[str]], StoredItems](
        store.stored_items_many, READ_BATCH
    )

    async def stored(key: str, ids: Sequence[str], urls: Sequence[str]) -> StoredItems:
        return await read((key, ids, urls))

    robots_cache = robots if robots is not None else RobotsCache()
    bodies = await asyncio.to_thread(store.body_hashes, [st.key for st in todo])

    async def one(state: SourceState) -> None:
        source = by_key[state.key]
        async with in_flight:
            # robots.txt, pagination, sitemaps and article enrichment: feedwatch.app.harvest
            update = await _guarded(
                source,
                state,
                clock,
                Harvest(
                    client=client,
                    settings=settings,
                    limiter=limiter,
                    robots=robots_cache,
                    clock=clock,
                    stored=stored,
                    cursor=store.connector_cursor,
                    classifier=classifier,
                    classifier_version=classifier_version,
                    enrich_limit=enrich_limit,
                    bodies=bodies,
                    offload=offload,
                ),
            )
            outcome = await write(update)
        outcomes.append(outcome)
        _log_outcome(outcome)
        if on_done is not None:
            on_done(outcome)

    async with make_client(settings) as client:
        await asyncio.gather(*(one(st) for st in todo))
    order = {st.key: i for i, st in enumerate(todo)}
    outcomes.sort(key=lambda o: order[o.key])
    return RunResult(tuple(outcomes), time.perf_counter() - started)


def fetch_settings(config: Config) -> FetchSettings:
    net = config.network
    return FetchSettings(
        connect_timeout=net.connect_timeout,
        read_timeout=net.read_timeout,
        deadline=net.deadline,
        max_body=net.max_body,
        global_limit=net.concurrency,
        per_host=net.per_host,
        host_delay=net.host_delay,
        policy=AddressPolicy.from_setting(
            list(net.allow_private) if isinstance(net.allow_private, tuple) else net.allow_private
        ),
    )


def decided(store: Store, updates: Sequence[SourceUpdate]) -> list[SourceUpdate]:
    """`updates` decided (core/decide.py) against what `store` holds, as run_fetch() decides
    them; those decided already as they are. One source at most once."""
    todo = [u for u in updates if u.writes is None and u.items]
    stored = store.stored_items_many(
        [(u.key, [i.id for i in u.items], [i.url for i in u.items if i.url]) for u in todo]
    )
    by_id = {id(u): s for u, s in zip(todo, stored, strict=True)}
    return [decide(u, by_id.get(id(u), StoredItems())) for u in updates]


def write_update(store: Store, update: SourceUpdate) -> FetchOutcome:
    """Decide one update against the store and write it (Store.apply): scripts and tests."""
    return store.apply(decided(store, [update])[0])


def write_updates(
    store: Store, updates: Sequence[SourceUpdate]
) -> list[FetchOutcome | StorageError]:
    """Decide updates (one per source) against the store and write them with one commit."""
    return store.apply_many(decided(store, updates))
