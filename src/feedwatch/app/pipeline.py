"""One pass over sources: fetch, extract, normalise, classify, decide, store.

`process()` is pure: a FetchResult in, a SourceUpdate out (what to write and when to come back).
`run_fetch()` is the thin async shell around it: it owns the client, the limiter and the order of
work, and turns every source's failure into a recorded outcome while the others go on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from feedwatch.app.harvest import DEFAULT_ENRICH_LIMIT, Harvest, Offload, fetch_source
from feedwatch.config.sources import Config
from feedwatch.core.entities import entity_map
from feedwatch.core.extract import extract
from feedwatch.core.normalise import normalise
from feedwatch.core.schedule import max_age, next_check_at
from feedwatch.edges.http.fetch import FetchSettings, HostLimiter, make_client
from feedwatch.edges.http.netpolicy import AddressPolicy
from feedwatch.edges.http.robots import RobotsCache
from feedwatch.edges.store import FetchOutcome, SourceUpdate, Store
from feedwatch.errors import ExtractError
from feedwatch.types import FetchResult, Item, RawItem, Source, SourceState, TopicScore

if TYPE_CHECKING:
    from feedwatch.core.classify import Topics

log = logging.getLogger("feedwatch.fetch")

Classifier = Callable[[Item], Sequence[TopicScore]]
WRITE_BATCH = 50  # most sources written with one commit (Store.apply_many)


@dataclass(frozen=True, slots=True)
class RunResult:
    outcomes: tuple[FetchOutcome, ...]
    seconds: float

    @property
    def attempted(self) -> int:
        return len(self.outcomes)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if o.outcome == "error")

    @property
    def new(self) -> int:
        return sum(o.new for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        """0 if at least one source succeeded or nothing was due; 1 if every one failed."""
        return 1 if self.attempted and self.failed == self.attempted else 0


def _after_success(
    source: Source, state: SourceState, result: FetchResult, now: datetime
) -> datetime:
    return next_check_at(
        source.key,
        source.interval,
        now,
        cache_max_age=max_age(result.headers),
        bounds=source.interval_bounds,
        gap_seconds=state.typical_gap,
    )


def process(
    source: Source,
    state: SourceState,
    result: FetchResult,
    now: datetime,
    *,
    classifier: Classifier | None = None,
    classifier_version: str | None = None,
) -> SourceUpdate:
    """Decide what one fetch means: items to write, validators, the next check. Pure."""
    started = result.fetched_at or now
    base = SourceUpdate(
        key=source.key,
        started_at=started,
        duration=result.elapsed,
        outcome="ok",
        url=result.final_url or result.url,
        http_status=result.status,
        bytes=len(result.body),
    )
    if result.error is not None:
        errors = state.consecutive_errors + 1
        disable = None
        if result.status == 410:
            disable = (
                "410 Gone: the site says this address is gone for good; fix the URL in the config"
            )
        return replace(
            base,
            outcome="error",
            error=result.error.message,
            error_kind=result.error.kind,
            next_check_at=next_check_at(
                source.key,
                source.interval,
                now,
                consecutive_errors=errors,
                retry_after=result.error.retry_after,
            ),
            disable_reason=disable,
        )
    new_url = result.permanent_redirect if result.permanent_redirect != state.url else None
    if result.not_modified:
        return replace(
            base,
            outcome="not-modified",
            new_url=new_url,
            next_check_at=_after_success(source, state, result, now),
        )
    try:
        extracted = extract(source, result, now)
    except ExtractError as exc:
        return replace(
            base,
            outcome="error",
            error=exc.message,
            error_kind="extract",
            new_url=new_url,
            next_check_at=next_check_at(
                source.key, source.interval, now, consecutive_errors=state.consecutive_errors + 1
            ),
        )
    items, scores = build_items(
        source, extracted.items, now, base_url=result.final_url or result.url, classifier=classifier
    )
    return replace(
        base,
        items=tuple(items),
        warnings=extracted.warnings,
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
        set_validators=True,
        new_url=new_url,
        next_check_at=_after_success(source, state, result, now),
        scores=scores,
        classifier_version=classifier_version,
        entities=entity_map(items),  # references cited (#17)
    )


def body_digest(source: Source, body: bytes, classifier_version: str | None) -> str:
    """A digest of a body and of what reading it depends on (kind, keep, selectors, rules). Pure."""
    what = f"{source.kind}\0{source.keep}\0{source.selectors!r}\0{classifier_version or ''}\0"
    digest = hashlib.sha256(what.encode())
    digest.update(body)
    return digest.hexdigest()


def unchanged(
    source: Source,
    state: SourceState,
    result: FetchResult,
    now: datetime,
    body_hash: str,
    items: int,
) -> SourceUpdate:
    """A 200 whose body is byte-identical to the last one read in full (which held `items`
    items): nothing to extract, classify or write but the source's state and its log row, "ok"
    with those items unchanged. Pure."""
    new_url = result.permanent_redirect if result.permanent_redirect != state.url else None
    return SourceUpdate(
        key=source.key,
        started_at=result.fetched_at or now,
        duration=result.elapsed,
        outcome="ok",
        url=result.final_url or result.url,
        http_status=result.status,
        bytes=len(result.body),
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
        set_validators=True,
        new_url=new_url,
        next_check_at=_after_success(source, state, result, now),
        body_hash=body_hash,
        same_body_items=items,
    )


def build_items(
    source: Source,
    raws: Sequence[RawItem],
    now: datetime,
    *,
    base_url: str,
    classifier: Classifier | None = None,
) -> tuple[list[Item], dict[str, tuple[TopicScore, ...]]]:
    """Normalise and classify raw items; a `keep: topical` source drops the off-topic. Pure."""
    items: list[Item] = []
    scores: dict[str, tuple[TopicScore, ...]] = {}
    for raw in raws:
        item = normalise(source.key, raw, now, base_url=base_url)
        if item is None:
            continue
        if classifier is not None:
            item_scores = tuple(classifier(item))
            if source.keep == "topical" and not any(s.assigned for s in item_scores):
                continue
            scores[item.id] = item_scores
        items.append(item)
    return items, scores


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
    except Exception as exc:  # a feedwatch or library bug, not a source problem
        log.exception("%s: internal error while reading this source", source.key)
        now = clock()
        return SourceUpdate(
            key=source.key,
            started_at=now,
            duration=0.0,
            outcome="error",
            url=state.url,
            error=f"internal error while reading this source ({type(exc).__name__}: "
            f"{str(exc)[:200]}); please report it",
            error_kind="internal",
            next_check_at=next_check_at(
                source.key,
                source.interval,
                now,
                consecutive_errors=state.consecutive_errors + 1,
            ),
        )


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
        store.sync_sources(config.sources, now)
    by_key = {s.key: s for s in config.sources}
    if keys:
        states = store.source_states(keys)
        todo = [states[k] for k in keys if k in states]
    elif every:
        states = store.source_states(s.key for s in config.sources if s.enabled)
        todo = [states[s.key] for s in config.sources if s.enabled and s.key in states]
    else:
        todo = [st for st in store.due_sources(now) if st.key in by_key]
    if on_start is not None:
        on_start(len(todo))
    if not todo:
        return RunResult((), time.perf_counter() - started)

    settings = fetch_settings(config)
    limiter = HostLimiter.from_settings(settings)
    write_lock = asyncio.Lock()
    pending: list[tuple[SourceUpdate, asyncio.Future[FetchOutcome]]] = []
    # Sources between their fetch and their write at once: bounds memory when writes lag.
    in_flight = asyncio.Semaphore(max(4 * settings.global_limit, 16))
    outcomes: list[FetchOutcome] = []

    async def write(update: SourceUpdate) -> FetchOutcome:
        """Store one update; whoever holds the lock writes every update waiting, one commit."""
        done: asyncio.Future[FetchOutcome] = asyncio.get_running_loop().create_future()
        pending.append((update, done))
        async with write_lock:
            while not done.done():  # its own update may be past the first batch
                batch = pending[:WRITE_BATCH]
                del pending[:WRITE_BATCH]
                try:
                    results = await asyncio.to_thread(store.apply_many, [u for u, _f in batch])
                except BaseException as exc:  # cancelled or broken: nobody waits forever
                    for _u, fut in batch:
                        if fut.done():
                            continue
                        if isinstance(exc, Exception):
                            fut.set_exception(exc)
                        else:
                            fut.cancel()
                    raise
                for (_u, fut), res in zip(batch, results, strict=True):
                    if isinstance(res, BaseException):
                        fut.set_exception(res)
                    else:
                        fut.set_result(res)
        return await done

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
                    store=store,
                    clock=clock,
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


def configured_topics(topics_path: str | None = None) -> Topics:
    """The topics of `topics_path`, else of config/topics.yaml when present, else the topics
    that ship with feedwatch (kept here for callers; the rule lives in config.topics)."""
    from feedwatch.config.topics import topics_path as resolve
    from feedwatch.core.classify import load_topics

    return load_topics(resolve(topics_path))


def make_classifier(topics_path: str | None = None) -> tuple[Classifier | None, str | None]:
    """The full topic decision (rules + model, see feedwatch.core.classify) over
    configured_topics(topics_path) and the configured model, with its version."""
    from feedwatch.config.topics import model_path
    from feedwatch.core.classify import make_classifier as full_decision

    decide = full_decision(configured_topics(topics_path), model_path())

    def run(item: Item) -> Sequence[TopicScore]:
        return decide(item.title, item.summary, item.source)

    return run, decide.version
