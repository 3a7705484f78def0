"""Reading items: queries over stored items with their topics (a human label wins), the
item count and the fetch log."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from feedwatch.edges.store.base import chunks, wrap_exceptions
from feedwatch.edges.store.entities import EntitiesMixin
from feedwatch.edges.store.models import fetches, item_topics, items
from feedwatch.edges.store.rows import item_from_row
from feedwatch.types import ItemQuery, ItemRow


def decides(t: Any) -> Any:
    """The one rule "a human label wins", in SQL: whether the row `t` (an alias of item_topics)
    decides its item's topic: a human decision (origin 'manual') always, a rule's score only
    where no human decided that topic of that item. Every query of assigned topics uses it."""
    m = item_topics.alias("m")
    manual_exists = (
        select(m.c.item_id)
        .where(m.c.item_id == t.c.item_id, m.c.topic == t.c.topic, m.c.origin == "manual")
        .exists()
    )
    return (t.c.origin == "manual") | ((t.c.origin == "rule") & ~manual_exists)


def in_topics(topics: Sequence[str]) -> Any:
    """A subquery of the ids of items assigned to any of `topics` (decides())."""
    t = item_topics.alias("t")
    return select(t.c.item_id).where(
        t.c.topic.in_(list(topics)), t.c.assigned.is_(True), decides(t)
    )


class ItemsMixin(EntitiesMixin):
    """Items out."""

    @wrap_exceptions("reading items")
    def iter_items(self, query: ItemQuery | None = None) -> Iterator[ItemRow]:
        """Stored items, newest first (published, else first seen), with assigned topics."""
        q = query or ItemQuery()
        when = func.coalesce(items.c.published, items.c.first_seen)
        stmt = select(items)
        if q.sources:
            stmt = stmt.where(items.c.source.in_(q.sources))
        if q.ids:
            stmt = stmt.where(items.c.id.in_(q.ids))
        if q.since is not None:
            stmt = stmt.where(when >= q.since)
        if q.until is not None:
            stmt = stmt.where(when < q.until)
        if q.topics:
            stmt = stmt.where(items.c.id.in_(in_topics(q.topics)))
        stmt = stmt.order_by(when.desc(), items.c.id)
        if q.limit is not None:
            stmt = stmt.limit(q.limit)
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=500).execute(stmt)
            for part in result.partitions():
                rows = list(part)
                topic_map = self._topics_for(conn, [r.id for r in rows])
                entity_map = self._entities_for(conn, [r.id for r in rows])
                zeros = dict.fromkeys(q.score_topics, 0.0)
                for r in rows:
                    assigned, scores = topic_map.get(r.id, ((), {}))
                    if zeros and r.classifier_version is not None:
                        scores = zeros | scores
                    yield ItemRow(
                        item=item_from_row(r),
                        topics=assigned,
                        scores=scores,
                        entities=entity_map.get(r.id, ()),
                    )

    def _topics_for(
        self, conn: Connection, ids: list[str]
    ) -> dict[str, tuple[tuple[str, ...], dict[str, float]]]:
        """Assigned topics (decides(): a human label wins) and rule scores per item."""
        assigned: dict[str, list[str]] = {}
        scores: dict[str, dict[str, float]] = {}
        t = item_topics.alias("t")
        for chunk in chunks(ids, 500):
            stmt = select(
                t.c.item_id, t.c.topic, t.c.origin, t.c.assigned, t.c.score, decides(t)
            ).where(t.c.item_id.in_(chunk))
            for item_id, topic, origin, is_assigned, score, decisive in conn.execute(stmt):
                if origin == "rule":
                    scores.setdefault(item_id, {})[topic] = float(score)
                if decisive and is_assigned:
                    assigned.setdefault(item_id, []).append(topic)
                elif item_id not in assigned:
                    assigned[item_id] = []
        return {
            item_id: (tuple(sorted(topics)), scores.get(item_id, {}))
            for item_id, topics in assigned.items()
        }

    @wrap_exceptions("counting items")
    def count_items(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(items)).scalar_one())

    @wrap_exceptions("reading the fetch log")
    def fetch_log(self, key: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        stmt = select(fetches).order_by(fetches.c.id.desc()).limit(limit)
        if key is not None:
            stmt = stmt.where(fetches.c.source == key)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt).all()]
