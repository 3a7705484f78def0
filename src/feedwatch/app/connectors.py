"""Open-data connectors, the I/O half: page through a service from the stored cursor (#17).

`fetch_connector()` is what harvest.fetch_source() runs for a connector source (kinds
tweedekamer, officielebekendmakingen, rechtspraak, woo, cbs). Every request goes through the
project's fetcher (address policy, deadline, size cap), one at a time per service (a lock per
host for the run) and with the service's pause between requests. The pure half (URLs, parsing,
cursors) is feedwatch.core.connectors.<kind>.

Cursors: a service that answers in order of change (Tweede Kamer on GewijzigdOp, Rechtspraak on
modified) moves its cursor page by page, so an outage halfway keeps what was read and the next
run goes on from there; the others (KOOP SRU, open.overheid.nl, CBS) move it only when a run
has read to the end or to the old cursor, so an outage loses nothing (what was read before it
is stored, and read again next time as unchanged). The cursor travels on the SourceUpdate and
is written in the transaction that writes the items.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from feedwatch.core.connectors import Page, Record, record_entities, to_raw, utc
from feedwatch.core.connectors import cbs as cbs_api
from feedwatch.core.connectors import officielebekendmakingen as sru_api
from feedwatch.core.connectors import rechtspraak as rs_api
from feedwatch.core.connectors import tweedekamer as tk_api
from feedwatch.core.connectors import woo as woo_api
from feedwatch.core.decide import decide
from feedwatch.core.entities import find_entities, merge
from feedwatch.core.normalise import normalise
from feedwatch.core.schedule import max_age, next_check_at
from feedwatch.edges.http.fetch import HostLimiter, fetch
from feedwatch.edges.store import SourceUpdate
from feedwatch.errors import ExtractError
from feedwatch.types import (
    ConnectorQuery,
    FetchResult,
    Item,
    Source,
    SourceState,
    StoredItems,
    TopicScore,
)

if TYPE_CHECKING:
    from feedwatch.app.harvest import Harvest

__all__ = ["fetch_connector"]

MAX_PAGES = 200  # per run and collection; the rest follows from the cursor in the next run

# one request at a time per service: a lock per host for the run's limiter, and when the last
# request to that host ended (the pause counts from there, whichever source asked)
_HOSTS: weakref.WeakKeyDictionary[HostLimiter, dict[str, _Host]] = weakref.WeakKeyDictionary()


@dataclass
class _Host:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_end: float | None = None


@dataclass
class _Run:
    """What one connector run has read so far."""

    h: Harvest
    source: Source
    pause: float
    records: list[Record] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failure: FetchResult | None = None
    extract_error: str | None = None
    last: FetchResult | None = None
    bytes: int = 0
    requests: int = 0

    async def get(self, url: str, pause: float | None = None) -> FetchResult | None:
        """GET url through the project's fetcher; None (and the failure noted) when it failed."""
        name = url.split("://", 1)[-1].split("/", 1)[0].lower()
        host = _HOSTS.setdefault(self.h.limiter, {}).setdefault(name, _Host())
        loop = asyncio.get_running_loop()
        async with host.lock:
            wait = self.pause if pause is None else pause
            if host.last_end is not None and wait > 0:
                await asyncio.sleep(max(0.0, host.last_end + wait - loop.time()))
            result = await fetch(
                self.h.client,
                self.source.key,
                url,
                settings=self.h.settings,
                limiter=self.h.limiter,
                now=self.h.clock(),
            )
            host.last_end = loop.time()
        self.requests += 1
        self.bytes += len(result.body)
        self.last = result
        if not result.ok:
            self.failure = result
            return None
        return result

    def bad(self, exc: ExtractError) -> None:
        self.extract_error = exc.message


async def fetch_connector(h: Harvest, source: Source, state: SourceState) -> SourceUpdate:
    """Read a connector source from its cursor to the end; never raises for the service's faults."""
    q = source.connector or ConnectorQuery()
    cursor = await asyncio.to_thread(h.cursor, source.key)
    started = h.clock()
    default_pause = {
        "tweedekamer": tk_api.PAUSE,
        "officielebekendmakingen": sru_api.PAUSE,
        "rechtspraak": rs_api.PAUSE,
        "woo": woo_api.PAUSE,
        "cbs": cbs_api.PAUSE,
    }[source.kind]
    run = _Run(h, source, q.pause if q.pause is not None else default_pause)
    readers: dict[str, Callable[[_Run, ConnectorQuery, str, str | None], object]] = {
        "tweedekamer": _tweedekamer,
        "officielebekendmakingen": _officielebekendmakingen,
        "rechtspraak": _rechtspraak,
        "woo": _woo,
        "cbs": _cbs,
    }
    reader = readers[source.kind]
    new_cursor = await reader(run, q, state.url, cursor)  # type: ignore[misc]
    assert new_cursor is None or isinstance(new_cursor, str)
    update = _update(run, state, started, new_cursor if new_cursor != cursor else None)
    if not update.items:
        return decide(update, StoredItems())
    # new / changed / unchanged against what is stored, as for every other source
    stored = await h.stored(source.key, [i.id for i in update.items], [i.url for i in update.items])
    return decide(update, stored)


# ------------------------------------------------------------------------------- per kind


async def _tweedekamer(run: _Run, q: ConnectorQuery, base: str, cursor: str | None) -> str | None:
    cursors: dict[str, str] = {}
    if cursor:
        try:
            loaded = json.loads(cursor)
            cursors = (
                {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
            )
        except ValueError:
            run.warnings.append("stored cursor unreadable; reading from 'since'")
    size = q.page_size or tk_api.PAGE_SIZE
    for collection in q.collections or ("Document", "Zaak"):
        url: str | None = tk_api.first_url(
            base, collection, q, cursors.get(collection), page_size=size
        )
        for _ in range(MAX_PAGES):
            if url is None:
                break
            got = await run.get(url)
            if got is None:
                return json.dumps(cursors, sort_keys=True) if cursors else None
            try:
                page = tk_api.parse(got.body, run.source.key, base, collection)
            except ExtractError as exc:
                run.bad(exc)
                return json.dumps(cursors, sort_keys=True) if cursors else None
            run.records.extend(r for r in page.records if not r.deleted)
            if page.cursor:  # ordered on GewijzigdOp: the cursor moves page by page
                cursors[collection] = page.cursor
            url = page.next_url
        else:
            run.warnings.append(f"{collection}: more than {MAX_PAGES} pages; the rest next run")
    return json.dumps(cursors, sort_keys=True) if cursors else None


async def _officielebekendmakingen(
    run: _Run, q: ConnectorQuery, base: str, cursor: str | None
) -> str | None:
    size = q.page_size or sru_api.PAGE_SIZE
    today = run.h.clock().date()
    url: str | None = sru_api.first_url(base, q, cursor, page_size=size)
    pages = 0
    while url is not None:
        if pages == MAX_PAGES:
            run.warnings.append(f"more than {MAX_PAGES} pages; the rest next run")
            return cursor
        got = await run.get(url)
        pages += 1
        if got is None:
            return cursor  # not in order of change: the cursor stays until a complete run
        try:
            page: Page = sru_api.parse(got.body, run.source.key, url)
        except ExtractError as exc:
            run.bad(exc)
            return cursor
        run.records.extend(page.records)
        url = page.next_url
    return sru_api.today_cursor(today)


async def _rechtspraak(run: _Run, q: ConnectorQuery, base: str, cursor: str | None) -> str | None:
    size = q.page_size or rs_api.PAGE_SIZE
    url: str | None = rs_api.first_url(base, q, cursor, page_size=size)
    reached = cursor
    for _ in range(MAX_PAGES):
        if url is None:
            return reached
        got = await run.get(url)
        if got is None:
            return reached
        try:
            page = rs_api.parse(got.body, run.source.key, url)
        except ExtractError as exc:
            run.bad(exc)
            return reached
        for rec in page.records:
            if rec.deleted:
                reached = rec.details.get("modified") or reached
                continue
            meta = await run.get(rs_api.meta_url(base, rec.guid))
            if meta is None:
                return reached  # sorted on the change date: this ruling is read next time
            try:
                info = rs_api.parse_meta(meta.body, run.source.key)
            except ExtractError as exc:
                run.bad(exc)
                return reached
            details = dict(rec.details)
            if info.get("date"):
                details["decision_date"] = info["date"]
            if info.get("issued"):
                details["publication_date"] = info["issued"]
            if info.get("zaaknummer"):
                details["case_number"] = info["zaaknummer"]
            run.records.append(
                replace(rec, published=utc(info.get("issued")) or rec.published, details=details)
            )
            reached = rec.details.get("modified") or reached
        url = page.next_url
    run.warnings.append(f"more than {MAX_PAGES} pages; the rest next run")
    return reached


async def _woo(run: _Run, q: ConnectorQuery, base: str, cursor: str | None) -> str | None:
    size = q.page_size or woo_api.PAGE_SIZE
    detail_pause = q.pause if q.pause is not None else woo_api.DETAIL_PAUSE
    url: str | None = woo_api.first_url(base, q, cursor, page_size=size)
    newest: str | None = None
    for _ in range(MAX_PAGES):
        if url is None:
            return newest or cursor
        got = await run.get(url)
        if got is None:
            return cursor  # newest first: the cursor stays until a complete run
        try:
            page = woo_api.parse(
                got.body, run.source.key, url, cursor=cursor, publishers=q.publishers
            )
        except ExtractError as exc:
            run.bad(exc)
            return cursor
        if newest is None:
            newest = page.cursor
        for rec in page.records:
            uuid = rec.details.get("uuid") or rec.guid
            detail = await run.get(woo_api.detail_url(base, uuid), pause=detail_pause)
            if detail is None:
                return cursor
            try:
                info = woo_api.parse_detail(detail.body, run.source.key)
            except ExtractError as exc:
                run.bad(exc)
                return cursor
            details = dict(rec.details)
            details.update({k: v for k, v in info.items() if k != "doc_kind"})
            run.records.append(
                replace(rec, doc_kind=info.get("doc_kind") or rec.doc_kind, details=details)
            )
        url = page.next_url
    run.warnings.append(f"more than {MAX_PAGES} pages; the rest next run")
    return cursor


async def _cbs(run: _Run, q: ConnectorQuery, base: str, cursor: str | None) -> str | None:
    table = q.table or "83102NED"
    got = await run.get(cbs_api.info_url(base, table))
    if got is None:
        return cursor
    try:
        modified, title = cbs_api.parse_info(got.body, run.source.key)
    except ExtractError as exc:
        run.bad(exc)
        return cursor
    if modified is not None and modified == cursor:
        return cursor  # no new figures since the last run
    rows: list[dict[str, object]] = []
    url: str | None = cbs_api.data_url(base, table)
    for _ in range(MAX_PAGES):
        if url is None:
            break
        page = await run.get(url)
        if page is None:
            return cursor
        try:
            more, url = cbs_api.parse_rows(page.body, run.source.key, url)
        except ExtractError as exc:
            run.bad(exc)
            return cursor
        rows.extend(more)
    run.records.extend(
        cbs_api.records(rows, table=table, base=base, q=q, modified=modified, title=title)
    )
    return modified or cursor


# ------------------------------------------------------------------------------ the update


def _update(run: _Run, state: SourceState, started: datetime, cursor: str | None) -> SourceUpdate:
    """The records read as items (normalised, classified, with entities and documents), the
    source's next check and, on a failure, the error."""
    h, source = run.h, run.source
    now = h.clock()
    items: list[Item] = []
    scores: dict[str, tuple[TopicScore, ...]] = {}
    entities: dict[str, tuple[str, ...]] = {}
    documents: dict[str, tuple[str, dict[str, str]]] = {}
    seen: set[str] = set()
    for rec in run.records:  # as pipeline.build_items, keeping each record with its item
        it = normalise(source.key, to_raw(rec), now, base_url=state.url)
        if it is None or it.id in seen:
            continue
        if h.classifier is not None:
            item_scores = tuple(h.classifier(it))
            if source.keep == "topical" and not any(s.assigned for s in item_scores):
                continue
            scores[it.id] = item_scores
        seen.add(it.id)
        items.append(it)
        found = merge(record_entities(rec), find_entities(it.title, it.summary, it.url))
        if found:
            entities[it.id] = found
        documents[it.id] = (rec.doc_kind, dict(rec.details))
    last = run.last
    base = SourceUpdate(
        key=source.key,
        started_at=started,
        duration=(now - started).total_seconds(),
        outcome="ok",
        url=state.url,
        http_status=last.status if last is not None else None,
        bytes=run.bytes,
        items=tuple(items),
        warnings=tuple(run.warnings),
        scores=scores,
        classifier_version=h.classifier_version if h.classifier is not None else None,
        entities=entities,
        documents=documents,
        cursor=cursor,
    )
    errors = state.consecutive_errors + 1
    if run.failure is not None and run.failure.error is not None:
        err = run.failure.error
        return _replace(
            base,
            outcome="error",
            url=run.failure.url,
            error=err.message,
            error_kind=err.kind,
            next_check_at=next_check_at(
                source.key,
                source.interval,
                now,
                consecutive_errors=errors,
                retry_after=err.retry_after,
            ),
        )
    if run.extract_error is not None:
        return _replace(
            base,
            outcome="error",
            error=run.extract_error,
            error_kind="extract",
            next_check_at=next_check_at(
                source.key, source.interval, now, consecutive_errors=errors
            ),
        )
    return _replace(
        base,
        next_check_at=next_check_at(
            source.key,
            source.interval,
            now,
            cache_max_age=max_age(last.headers) if last is not None else None,
            bounds=source.interval_bounds,
            gap_seconds=state.typical_gap,
        ),
    )


def _replace(update: SourceUpdate, **changes: object) -> SourceUpdate:
    return replace(update, **changes)  # type: ignore[arg-type]
