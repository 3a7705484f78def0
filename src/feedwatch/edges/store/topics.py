"""Topic scores in the store: explanations, human labels, re-scoring and near misses."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from feedwatch.edges.store.base import StoreBase, wrap_exceptions
from feedwatch.edges.store.items import decides
from feedwatch.edges.store.models import item_topics, items
from feedwatch.edges.store.rows import item_from_row, score_rows
from feedwatch.errors import StorageError
from feedwatch.types import Item, TopicScore


@dataclass(frozen=True, slots=True)
class TopicRow:
    topic: str
    origin: str  # rule | manual
    score: float
    threshold: float
    assigned: bool
    terms: tuple[str, ...]


def _replace_rule_rows(conn: Any, ids: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """The rule rows of items `ids` become `rows`: the rows of topics no longer scored are
    deleted, the others written over in place. A row whose decision does not change fires no
    work in the triggers of migration 0009 (a delete and insert of every row did: two
    rewrites of each assigned PostgreSQL search document, 365 ms per 2,000 items)."""
    keep = {(r["item_id"], r["topic"]) for r in rows}
    old = conn.execute(
        select(item_topics.c.item_id, item_topics.c.topic).where(
            item_topics.c.item_id.in_(ids), item_topics.c.origin == "rule"
        )
    ).all()
    gone = [(i, t) for i, t in old if (i, t) not in keep]
    if gone:
        conn.execute(
            item_topics.delete().where(
                item_topics.c.origin == "rule",
                tuple_(item_topics.c.item_id, item_topics.c.topic).in_(gone),
            )
        )
    if rows:
        ins = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(item_topics)
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["item_id", "topic", "origin"],
                set_={c: ins.excluded[c] for c in ("score", "threshold", "assigned", "terms")},
            ),
            rows,
        )


class TopicsMixin(StoreBase):
    """Topic scores and human labels."""

    @wrap_exceptions("finding the item")
    def find_item(self, ref: str) -> Item:
        """An item by its id or a unique prefix of at least 6 characters."""
        with self.engine.connect() as conn:
            row = conn.execute(select(items).where(items.c.id == ref)).first()
            if row is None and len(ref) >= 6:
                rows = conn.execute(select(items).where(items.c.id.like(f"{ref}%")).limit(2)).all()
                if len(rows) > 1:
                    raise StorageError(f"item id {ref!r} is ambiguous: give more characters")
                row = rows[0] if rows else None
        if row is None:
            raise StorageError(f"no item with id {ref!r} (see `feedwatch items`)")
        return item_from_row(row)

    @wrap_exceptions("reading the item's rules version")
    def classifier_version(self, item_id: str) -> str | None:
        """The version of the rules that scored the item; None if no rules have scored it."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(items.c.classifier_version).where(items.c.id == item_id)
            ).scalar_one_or_none()

    @wrap_exceptions("reading the item's topics")
    def topic_rows(self, item_id: str) -> list[TopicRow]:
        stmt = (
            select(item_topics)
            .where(item_topics.c.item_id == item_id)
            .order_by(item_topics.c.topic, item_topics.c.origin)
        )
        with self.engine.connect() as conn:
            return [
                TopicRow(r.topic, r.origin, r.score, r.threshold, bool(r.assigned), tuple(r.terms))
                for r in conn.execute(stmt).all()
            ]

    @wrap_exceptions("storing the label")
    def set_label(self, item_id: str, topic: str, assigned: bool) -> None:
        """A human decision on one topic of one item; it wins over the rules and survives
        re-classification."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(item_topics)
                .where(
                    item_topics.c.item_id == item_id,
                    item_topics.c.topic == topic,
                    item_topics.c.origin == "manual",
                )
                .values(assigned=assigned)
            ).rowcount
            if not done:
                conn.execute(
                    item_topics.insert().values(
                        item_id=item_id,
                        topic=topic,
                        origin="manual",
                        assigned=assigned,
                        score=0.0,
                        threshold=0.0,
                        terms=[],
                    )
                )

    @wrap_exceptions("removing the label")
    def clear_label(self, item_id: str, topic: str) -> bool:
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    item_topics.delete().where(
                        item_topics.c.item_id == item_id,
                        item_topics.c.topic == topic,
                        item_topics.c.origin == "manual",
                    )
                ).rowcount
            )

    @wrap_exceptions("re-scoring items")
    def reclassify(
        self,
        classifier: Callable[[Item], Sequence[TopicScore]],
        version: str,
        *,
        every: bool = False,
        batch: int = 500,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Re-score stored items (those scored by another version of the rules, or all with
        `every`); human labels are kept. Each batch is one transaction. Returns the count."""
        stmt = select(items).order_by(items.c.id)
        if not every:
            stmt = stmt.where(
                or_(items.c.classifier_version.is_(None), items.c.classifier_version != version)
            )
        done = 0
        for chunk in self._batches(stmt, batch):
            rows = [row for it in chunk for row in score_rows(it.id, classifier(it))]
            ids = [it.id for it in chunk]
            with self.engine.begin() as conn:
                _replace_rule_rows(conn, ids, rows)
                conn.execute(
                    update(items).where(items.c.id.in_(ids)).values(classifier_version=version)
                )
            done += len(chunk)
            if progress is not None:
                progress(len(chunk))
        return done

    def _batches(self, stmt: Any, size: int) -> Iterator[list[Item]]:
        # Keyset pagination on id: each batch is read after the previous one was written.
        last = ""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(stmt.where(items.c.id > last).limit(size)).all()
            if not rows:
                return
            yield [item_from_row(r) for r in rows]
            last = rows[-1].id

    @wrap_exceptions("counting items to re-score")
    def count_to_rescore(self, version: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(items)
                    .where(
                        or_(
                            items.c.classifier_version.is_(None),
                            items.c.classifier_version != version,
                        )
                    )
                ).scalar_one()
            )

    @wrap_exceptions("reading near misses")
    def near_misses(
        self, topic: str, *, margin: float = 0.5, limit: int = 50
    ) -> list[tuple[Item, TopicRow]]:
        """Items whose rule score for `topic` is positive but under its threshold, by at most
        `margin` of the threshold, highest first; items a human already labelled are left out."""
        r = item_topics.alias("r")
        stmt = (
            select(items, r.c.score, r.c.threshold, r.c.terms)
            .join(r, and_(r.c.item_id == items.c.id))
            .where(
                r.c.topic == topic,
                decides(r),  # a rule's score that no human label overrides
                r.c.origin == "rule",
                r.c.assigned.is_(False),
                r.c.score > 0,
                r.c.score >= r.c.threshold * (1 - margin),
            )
            .order_by(r.c.score.desc(), items.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                (
                    item_from_row(row),
                    TopicRow(topic, "rule", row.score, row.threshold, False, tuple(row.terms)),
                )
                for row in conn.execute(stmt).all()
            ]

    @wrap_exceptions("reading the labels set by hand")
    def manual_labels(self) -> list[tuple[Item, dict[str, bool]]]:
        """Every item a person labelled with `feedwatch label`, with its decisions (topic ->
        assigned), by item id: what `feedwatch train` learns from beside the labelled files."""
        stmt = (
            select(items, item_topics.c.topic, item_topics.c.assigned)
            .join(item_topics, item_topics.c.item_id == items.c.id)
            .where(item_topics.c.origin == "manual")
            .order_by(items.c.id, item_topics.c.topic)
        )
        out: dict[str, tuple[Item, dict[str, bool]]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(stmt).all():
                if row.id not in out:
                    out[row.id] = (item_from_row(row), {})
                out[row.id][1][row.topic] = bool(row.assigned)
        return list(out.values())


# The functions of before the mixin (store first), for callers not moved yet.
find_item = TopicsMixin.find_item
classifier_version = TopicsMixin.classifier_version
topic_rows = TopicsMixin.topic_rows
set_label = TopicsMixin.set_label
clear_label = TopicsMixin.clear_label
reclassify = TopicsMixin.reclassify
count_to_rescore = TopicsMixin.count_to_rescore
near_misses = TopicsMixin.near_misses
manual_labels = TopicsMixin.manual_labels
