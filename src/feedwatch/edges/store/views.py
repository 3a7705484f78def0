"""Read queries of the web interface: pages of items by keyset, counts per period, health facts.

A mixin of Store (it uses only `self.engine`). Every query here is shaped to use an index on a
store of millions of items: a page walks the index on (published, first_seen, id) (or the one
that starts with source) from a cursor and stops after one page, never sorting or counting
everything; counts are asked per bounded period. Items without a publication date are read by
a second query on first_seen and merged, since an index on coalesce(published, first_seen)
cannot be described to Alembic's model comparison.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, select, tuple_, union_all

from feedwatch.edges.store.base import StoreBase, wrap_exceptions
from feedwatch.edges.store.models import (
    fetches,
    item_entities,
    item_topics,
    items,
    sources,
    topic_hours,
)
from feedwatch.edges.store.rows import item_from_row, read_datetime
from feedwatch.types import Item

__all__ = ["Cursor", "DossierEntry", "PageQuery", "PageRow", "SourceView", "StoreViews"]


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ends: the (date, first seen, id) of its last item, newest first."""

    when: datetime
    first_seen: datetime
    id: str


@dataclass(frozen=True, slots=True)
class PageQuery:
    topic: str | None = None
    source: str | None = None
    since: datetime | None = None  # date (published, else first seen) >= since
    until: datetime | None = None  # date < until
    before: Cursor | None = None  # items after this one in the order, newest first
    limit: int = 50


@dataclass(frozen=True, slots=True)
class PageRow:
    """An item with its assigned topics and rule scores (the shape export's writers read)."""

    item: Item
    topics: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def when(self) -> datetime:
        return self.item.published or self.item.first_seen


@dataclass(frozen=True, slots=True)
class SourceView:
    """One row of the sources table as the web pages show it."""

    key: str
    name: str
    organisation: str
    kind: str
    url: str
    enabled: bool
    in_config: bool
    disabled_reason: str | None
    last_success_at: datetime | None
    last_fetch_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_errors: int
    next_check_at: datetime | None
    last_new_item_at: datetime | None
    typical_gap_seconds: float | None
    body_items: int | None


@dataclass(frozen=True, slots=True)
class DossierEntry:
    """An item on an entity's timeline, as the page filters and pages it: the whole item is
    read for the items shown only."""

    id: str
    source: str
    when: datetime


def has_topic(topic: str) -> Any:
    """EXISTS: the item of the outer query is assigned `topic` (a human decision wins over the
    rules, both ways); probes item_topics' primary key, so it costs a lookup per item."""
    t = item_topics.alias("vt")
    m = item_topics.alias("vm")
    manual = (
        select(m.c.item_id)
        .where(m.c.item_id == t.c.item_id, m.c.topic == t.c.topic, m.c.origin == "manual")
        .exists()
    )
    return (
        select(t.c.item_id)
        .where(
            t.c.item_id == items.c.id,
            t.c.topic == topic,
            t.c.assigned.is_(True),
            (t.c.origin == "manual") | ((t.c.origin == "rule") & ~manual),
        )
        .exists()
    )


def _at(value: datetime) -> Any:
    """A datetime bound as the columns' own type (aware UTC in, the dialect's form out)."""
    return literal(value, items.c.first_seen.type)


def _whole_hour(at: datetime) -> int | None:
    """Whole hours since 1970-01-01 UTC of a datetime on a whole hour, else None."""
    seconds = at.timestamp()
    return int(seconds // 3600) if seconds % 3600 == 0 else None


def _from_hour(hour: int, like: datetime) -> datetime:
    """The start of a whole hour since 1970-01-01 UTC, in the time zone of `like`."""
    return datetime.fromtimestamp(hour * 3600, UTC).astimezone(like.tzinfo)


def _chunks(seq: Sequence[str], n: int) -> Iterable[Sequence[str]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


class StoreViews(StoreBase):
    """The read side of the web pages (mixed into Store)."""

    @wrap_exceptions("answering a health probe")
    def ping(self) -> None:
        """One round trip to the database (the web's /healthz); raises what the driver raises."""
        with self.engine.connect() as conn:
            conn.execute(select(literal(1)))

    # ------------------------------------------------------------------ item pages

    @wrap_exceptions("reading a page of items")
    def item_page(self, q: PageQuery) -> tuple[list[PageRow], Cursor | None]:
        """One page of items, newest first (published, else first seen; then first seen and id,
        descending), and the cursor of the next page when there is one."""
        with self.engine.connect() as conn:
            keys: list[Any] = list(conn.execute(self._branch(q, True)).all())
            # An undated item older than the last of a full page of dated ones cannot be on
            # this page: the undated walk stops at that date.
            floor = keys[-1].published if len(keys) > q.limit else None
            keys.extend(conn.execute(self._branch(q, False, floor)).all())
            keys.sort(key=lambda r: (r.published or r.first_seen, r.first_seen, r.id), reverse=True)
            ids = [r.id for r in keys[: q.limit]]
            # The whole rows only for the page: the walk above reads the indexes alone.
            found = {r.id: r for r in conn.execute(select(items).where(items.c.id.in_(ids)))}
            topic_map = self._topics_of(conn, ids)
        out = [PageRow(item_from_row(found[i]), *topic_map.get(i, ((), {}))) for i in ids]
        more = len(keys) > q.limit
        last = out[-1].item if out else None
        cursor = (
            Cursor(last.published or last.first_seen, last.first_seen, last.id) if last else None
        )
        return out, (cursor if more else None)

    def _branch(self, q: PageQuery, dated: bool, floor: datetime | None = None) -> Any:
        when = items.c.published if dated else items.c.first_seen
        # Only columns that both indexes hold: the walk never reads the table itself.
        stmt = select(items.c.id, items.c.published, items.c.first_seen).where(
            items.c.published.is_not(None) if dated else items.c.published.is_(None)
        )
        if q.source is not None:
            stmt = stmt.where(items.c.source == q.source)
        if q.since is not None:
            stmt = stmt.where(when >= q.since)
        if q.until is not None:
            stmt = stmt.where(when < q.until)
        if floor is not None:
            stmt = stmt.where(when >= floor)
        if q.topic is not None:
            stmt = stmt.where(has_topic(q.topic))
        c = q.before
        if c is not None:
            if dated:
                stmt = stmt.where(
                    tuple_(items.c.published, items.c.first_seen, items.c.id)
                    < tuple_(_at(c.when), _at(c.first_seen), literal(c.id, items.c.id.type))
                )
            elif c.first_seen > c.when:  # (fs, fs, id) < (w, f, i) for fs <= w
                stmt = stmt.where(items.c.first_seen <= c.when)
            elif c.first_seen < c.when:
                stmt = stmt.where(items.c.first_seen < c.when)
            else:
                stmt = stmt.where(
                    tuple_(items.c.first_seen, items.c.id)
                    < tuple_(_at(c.when), literal(c.id, items.c.id.type))
                )
        order = (items.c.published.desc(),) if dated else ()
        return stmt.order_by(*order, items.c.first_seen.desc(), items.c.id.desc()).limit(
            q.limit + 1
        )

    def _topics_of(
        self, conn: Any, ids: list[str]
    ) -> dict[str, tuple[tuple[str, ...], dict[str, float]]]:
        rule: dict[str, dict[str, tuple[bool, float]]] = {}
        manual: dict[str, dict[str, bool]] = {}
        for chunk in _chunks(ids, 500):
            stmt = select(
                item_topics.c.item_id,
                item_topics.c.topic,
                item_topics.c.origin,
                item_topics.c.assigned,
                item_topics.c.score,
            ).where(item_topics.c.item_id.in_(chunk))
            for item_id, topic, origin, assigned, score in conn.execute(stmt):
                if origin == "manual":
                    manual.setdefault(item_id, {})[topic] = bool(assigned)
                else:
                    rule.setdefault(item_id, {})[topic] = (bool(assigned), float(score))
        out: dict[str, tuple[tuple[str, ...], dict[str, float]]] = {}
        for item_id in set(rule) | set(manual):
            decided = {t: a for t, (a, _s) in rule.get(item_id, {}).items()}
            decided.update(manual.get(item_id, {}))
            scores = {t: sc for t, (_a, sc) in rule.get(item_id, {}).items()}
            out[item_id] = (tuple(sorted(t for t, a in decided.items() if a)), scores)
        return out

    @wrap_exceptions("reading an item")
    def page_row(self, item_id: str) -> PageRow | None:
        """One item by its exact id, with its topics; None when there is none."""
        with self.engine.connect() as conn:
            r = conn.execute(select(items).where(items.c.id == item_id)).first()
            if r is None:
                return None
            assigned, scores = self._topics_of(conn, [r.id]).get(r.id, ((), {}))
        return PageRow(item_from_row(r), assigned, scores)

    @wrap_exceptions("reading a dossier")
    def dossier_index(self, entity: str) -> list[DossierEntry]:
        """Every item citing `entity` (KIND:ID) as (id, source, date), oldest first (the order
        of Store.dossier): a dossier of thousands of items is filtered and paged on these,
        not on whole items."""
        kind, _, ref = entity.partition(":")
        e = item_entities  # each citation carries its item's date and source (migration 0010)
        stmt = select(e.c.item_id, e.c.source, e.c.at).where(e.c.kind == kind, e.c.ref == ref)
        with self.engine.connect() as conn:
            out = [DossierEntry(r.item_id, r.source, r.at) for r in conn.execute(stmt)]
        out.sort(key=lambda d: (d.when, d.id))
        return out

    # ---------------------------------------------------------------------- counts

    @wrap_exceptions("counting items per topic")
    def topic_counts(self, since: datetime, until: datetime) -> dict[str, int]:
        """Items per assigned topic whose date (published, else first seen) falls in
        [since, until).

        The whole hours inside (any day or week of Europe/Amsterdam is made of them) are a sum
        over `topic_hours`, which triggers keep in step with every write (migration 0009); the
        parts of an hour at either end are counted from the items (topic_counts_scan)."""
        first, end = -int(-since.timestamp() // 3600), int(until.timestamp() // 3600)
        if first >= end:
            return self.topic_counts_scan(since, until)
        total = func.sum(topic_hours.c.n)
        stmt = (
            select(topic_hours.c.topic, total)
            .where(topic_hours.c.hour >= first, topic_hours.c.hour < end)
            .group_by(topic_hours.c.topic)
        )
        with self.engine.connect() as conn:
            out = {topic: int(n) for topic, n in conn.execute(stmt)}
        edges = [
            (since, _from_hour(first, since)),
            (_from_hour(end, until), until),
        ]
        for a, b in edges:
            if a < b:
                for topic, n in self.topic_counts_scan(a, b).items():
                    out[topic] = out.get(topic, 0) + n
        return {topic: n for topic, n in out.items() if n}

    @wrap_exceptions("counting items per topic")
    def topic_counts_periods(
        self, periods: Sequence[tuple[datetime, datetime]]
    ) -> list[dict[str, int]]:
        """topic_counts() of each [since, until) period, in one query over `topic_hours` when
        the periods do not overlap and every bound is on a whole hour (a year of weeks for the
        overview's chart); else period by period."""
        bounds = [(_whole_hour(a), _whole_hour(b)) for a, b in periods]
        ordered = sorted(periods)
        overlap = any(b > c for (_a, b), (c, _d) in zip(ordered, ordered[1:], strict=False))
        if not periods or overlap or any(a is None or b is None for a, b in bounds):
            return [self.topic_counts(a, b) for a, b in periods]
        h = topic_hours.c.hour
        which = case(
            *((and_(h >= a, h < b), i) for i, (a, b) in enumerate(bounds)), else_=literal(-1)
        ).label("period")
        low = min(a for a, _b in bounds if a is not None)
        high = max(b for _a, b in bounds if b is not None)
        stmt = (
            select(which, topic_hours.c.topic, func.sum(topic_hours.c.n))
            .where(h >= low, h < high)
            .group_by(which, topic_hours.c.topic)
        )
        out: list[dict[str, int]] = [{} for _ in periods]
        with self.engine.connect() as conn:
            for period, topic, n in conn.execute(stmt):
                if period >= 0 and n:
                    out[period][topic] = int(n)
        return out

    @wrap_exceptions("counting items per topic")
    def topic_counts_scan(self, since: datetime, until: datetime) -> dict[str, int]:
        """topic_counts() counted from the items themselves (any bounds).

        The ids come from the covering index on (published, first_seen, id); item_topics is
        probed by its key for each (a plain join would let the planner walk all of
        item_topics by topic instead)."""
        t = item_topics
        m = item_topics.alias("cm")
        manual = (
            select(m.c.item_id)
            .where(m.c.item_id == t.c.item_id, m.c.topic == t.c.topic, m.c.origin == "manual")
            .exists()
        )
        assigned = and_(
            t.c.assigned.is_(True), (t.c.origin == "manual") | ((t.c.origin == "rule") & ~manual)
        )
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            for cond in self._period(since, until):
                stmt = (
                    select(t.c.topic, func.count())
                    .where(t.c.item_id.in_(select(items.c.id).where(cond)), assigned)
                    .group_by(t.c.topic)
                )
                for topic, n in conn.execute(stmt):
                    out[topic] = out.get(topic, 0) + int(n)
        return out

    @wrap_exceptions("counting items per source")
    def source_counts(self, since: datetime, until: datetime) -> dict[str, int]:
        """Items per source whose date (published, else first seen) falls in [since, until)."""
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            for cond in self._period(since, until):
                stmt = select(items.c.source, func.count()).where(cond).group_by(items.c.source)
                for key, n in conn.execute(stmt):
                    out[key] = out.get(key, 0) + int(n)
        return out

    @wrap_exceptions("counting items")
    def count_items_total(self, since: datetime, until: datetime) -> int:
        """Items whose date falls in [since, until)."""
        with self.engine.connect() as conn:
            return sum(
                int(conn.execute(select(func.count()).select_from(items).where(c)).scalar_one())
                for c in self._period(since, until)
            )

    @staticmethod
    def _period(since: datetime, until: datetime) -> list[Any]:
        """The conditions of a date in [since, until): dated items, then undated ones."""
        return [
            and_(items.c.published >= since, items.c.published < until),
            and_(
                items.c.published.is_(None),
                items.c.first_seen >= since,
                items.c.first_seen < until,
            ),
        ]

    @wrap_exceptions("counting items per source")
    def items_per_source(self) -> dict[str, int]:
        """Every source's stored items (one pass over the index on source)."""
        stmt = select(items.c.source, func.count()).group_by(items.c.source)
        with self.engine.connect() as conn:
            return {key: int(n) for key, n in conn.execute(stmt)}

    # --------------------------------------------------------------------- sources

    @wrap_exceptions("reading the sources")
    def source_views(self) -> list[SourceView]:
        with self.engine.connect() as conn:
            return [
                SourceView(
                    key=r.key,
                    name=r.name or r.key,
                    organisation=r.organisation or "",
                    kind=r.kind,
                    url=r.url,
                    enabled=bool(r.enabled),
                    in_config=bool(r.in_config),
                    disabled_reason=r.disabled_reason,
                    last_success_at=r.last_success_at,
                    last_fetch_at=r.last_fetch_at,
                    last_error=r.last_error,
                    last_error_at=r.last_error_at,
                    consecutive_errors=int(r.consecutive_errors or 0),
                    next_check_at=r.next_check_at,
                    last_new_item_at=r.last_new_item_at,
                    typical_gap_seconds=r.typical_gap_seconds,
                    body_items=r.body_items,
                )
                for r in conn.execute(select(sources).order_by(sources.c.key))
            ]

    @wrap_exceptions("reading a source's failed fetches")
    def failing_streak(self, key: str, n: int) -> list[tuple[datetime, str | None, str | None]]:
        """The last `n` failed fetches of a source, newest first: (at, error, kind)."""
        stmt = (
            select(fetches.c.started_at, fetches.c.error, fetches.c.error_kind)
            .where(fetches.c.source == key, fetches.c.outcome == "error")
            .order_by(fetches.c.started_at.desc())
            .limit(max(n, 1))
        )
        with self.engine.connect() as conn:
            return [(r.started_at, r.error, r.error_kind) for r in conn.execute(stmt)]

    @wrap_exceptions("reading a source's newest dates")
    def recent_dates(self, key: str, n: int = 20) -> list[datetime]:
        """The dates (published, else first seen) of a source's `n` newest items, newest first."""
        with self.engine.connect() as conn:
            dated = conn.execute(
                select(items.c.published)
                .where(items.c.source == key, items.c.published.is_not(None))
                .order_by(items.c.published.desc())
                .limit(n)
            ).scalars()
            undated = conn.execute(
                select(items.c.first_seen)
                .where(items.c.source == key, items.c.published.is_(None))
                .order_by(items.c.first_seen.desc())
                .limit(n)
            ).scalars()
            return sorted([*dated, *undated], reverse=True)[:n]

    @wrap_exceptions("reading sources' newest dates")
    def recent_dates_of(self, keys: Sequence[str], n: int = 20) -> dict[str, list[datetime]]:
        """recent_dates() of many sources in one statement (a UNION ALL of each source's two
        index walks), not two round trips per source."""
        out: dict[str, list[datetime]] = {k: [] for k in keys}
        # SQLite allows 500 terms in a compound SELECT: two per source, 200 sources a statement
        for chunk in _chunks(list(keys), 200):
            for key, at in self._recent_dates_chunk(chunk, n):
                out[key].append(at)
        return {k: sorted(v, reverse=True)[:n] for k, v in out.items()}

    def _recent_dates_chunk(self, keys: Sequence[str], n: int) -> list[tuple[str, datetime]]:
        parts: list[Any] = []
        for key in keys:
            for dated in (True, False):
                when = items.c.published if dated else items.c.first_seen
                cond = items.c.published.is_not(None) if dated else items.c.published.is_(None)
                parts.append(
                    select(items.c.source, when.label("at"))
                    .where(items.c.source == key, cond)
                    .order_by(when.desc())
                    .limit(n)
                    .subquery()
                )
        stmt = union_all(*(select(p.c.source, p.c.at) for p in parts))
        with self.engine.connect() as conn:
            return [(key, read_datetime(at)) for key, at in conn.execute(stmt)]

    @wrap_exceptions("reading a source's recent fetches")
    def recent_reads(self, key: str, n: int = 5) -> list[int]:
        """Items read by the source's last `n` successful fetches, newest first."""
        stmt = (
            select(fetches.c.new, fetches.c.updated, fetches.c.unchanged)
            .where(fetches.c.source == key, fetches.c.outcome == "ok")
            .order_by(fetches.c.started_at.desc())
            .limit(n)
        )
        with self.engine.connect() as conn:
            return [int(a + b + c) for a, b, c in conn.execute(stmt)]
