"""Storage of entities (kind:id per item), connector documents and connector cursors (#17).

A mixin of Store. `_write_connector_extras` runs inside the transaction that writes a batch of
fetches (Store._write calls it after the items), so an item's entities, a connector's document
details and its cursor are committed with the items or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, func, or_, select, tuple_

from feedwatch.edges.store.base import StoreBase, wrap_exceptions
from feedwatch.edges.store.models import (
    connector_cursors,
    item_documents,
    item_entities,
    items,
    sources,
)
from feedwatch.edges.store.rows import item_from_row, read_datetime
from feedwatch.types import Item

if TYPE_CHECKING:
    from feedwatch.types import SourceUpdate

__all__ = ["DossierRow", "EntitiesMixin", "EntityCount", "EntityStore"]


@dataclass(frozen=True, slots=True)
class DossierRow:
    """One item on an entity's timeline."""

    item: Item
    source_name: str
    source_kind: str
    doc_kind: str  # the connector's kind of document, else "" (a web page or feed item)
    details: dict[str, str]
    entities: tuple[str, ...]
    topics: tuple[str, ...] = ()

    @property
    def when(self) -> datetime:
        return self.item.published or self.item.first_seen


@dataclass(frozen=True, slots=True)
class EntityCount:
    entity: str
    items: int
    sources: int
    first: datetime | None
    last: datetime | None


def _chunks(seq: Sequence[Any], n: int = 500) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _split(entity: str) -> tuple[str, str]:
    kind, _, ref = entity.partition(":")
    return kind, ref


class EntitiesMixin(StoreBase):
    """Entities, connector documents and cursors; mixed into Store."""

    # ------------------------------------------------------------------------- writing

    def _write_connector_extras(self, conn: Connection, updates: Sequence[SourceUpdate]) -> None:
        """Entities and documents of the updates' items and connector cursors, on `conn`.

        Only updates whose `entities` were computed (not None) touch entities: an item's stored
        set is replaced when it differs. An item stored under another id (a guid that changed
        for the same URL) is found by its source and URL, as the item write finds it."""
        wanted: dict[tuple[str, str, str], tuple[str, ...]] = {}  # (source, id, url) -> ents
        docs: dict[tuple[str, str, str], tuple[str, dict[str, str]]] = {}
        for upd in updates:
            ents = getattr(upd, "entities", None)
            if ents is not None:
                for it in upd.items:
                    wanted.setdefault((upd.key, it.id, it.url), tuple(ents.get(it.id, ())))
            for it in upd.items:
                doc = (getattr(upd, "documents", None) or {}).get(it.id)
                if doc is not None:
                    docs.setdefault((upd.key, it.id, it.url), doc)
            cursor = getattr(upd, "cursor", None)
            if cursor is not None:
                self._save_cursor(conn, upd.key, cursor, upd.started_at)
        if not wanted and not docs:
            return
        # only items citing something (and documents) need their stored id looked up; an item
        # citing nothing is checked under its own id (most items of most feeds: no extra query)
        citing = {k for k, v in wanted.items() if v}
        resolved = self._resolve_ids(conn, citing | set(docs)) if citing or docs else {}
        if wanted:
            self._replace_entities(
                conn,
                {resolved.get(k, k[1]): v for k, v in wanted.items() if v == () or k in resolved},
            )
        if docs:
            rows = {resolved[k]: v for k, v in docs.items() if k in resolved}
            for chunk in _chunks(sorted(rows)):
                conn.execute(item_documents.delete().where(item_documents.c.item_id.in_(chunk)))
            if rows:
                conn.execute(
                    item_documents.insert(),
                    [
                        {"item_id": i, "doc_kind": kind, "details": details}
                        for i, (kind, details) in sorted(rows.items())
                    ],
                )

    def _resolve_ids(
        self, conn: Connection, keys: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], str]:
        keys = list(keys)
        present: set[str] = set()
        for chunk in _chunks(sorted({k[1] for k in keys})):
            present.update(
                i for (i,) in conn.execute(select(items.c.id).where(items.c.id.in_(chunk)))
            )
        out = {k: k[1] for k in keys if k[1] in present}
        missing = [k for k in keys if k[1] not in present and k[2]]
        for chunk in _chunks(missing):
            stmt = select(items.c.id, items.c.source, items.c.url).where(
                tuple_(items.c.source, items.c.url).in_([(k[0], k[2]) for k in chunk])
            )
            found = {(s, u): i for i, s, u in conn.execute(stmt)}
            for k in chunk:
                if (k[0], k[2]) in found:
                    out[k] = found[k[0], k[2]]
        return out

    def _replace_entities(self, conn: Connection, wanted: dict[str, tuple[str, ...]]) -> None:
        stored: dict[str, set[str]] = {}
        for chunk in _chunks(sorted(wanted)):
            stmt = select(item_entities.c.item_id, item_entities.c.kind, item_entities.c.ref).where(
                item_entities.c.item_id.in_(chunk)
            )
            for item_id, kind, ref in conn.execute(stmt):
                stored.setdefault(item_id, set()).add(f"{kind}:{ref}")
        changed = [i for i, ents in wanted.items() if set(ents) != stored.get(i, set())]
        stale = [i for i in changed if i in stored]
        for chunk in _chunks(sorted(stale)):
            conn.execute(item_entities.delete().where(item_entities.c.item_id.in_(chunk)))
        rows = [
            {"item_id": i, "kind": _split(e)[0], "ref": _split(e)[1]}
            for i in sorted(changed)
            for e in sorted(set(wanted[i]))
        ]
        if rows:
            conn.execute(item_entities.insert(), rows)

    def _save_cursor(self, conn: Connection, key: str, cursor: str, now: datetime) -> None:
        done = conn.execute(
            connector_cursors.update()
            .where(connector_cursors.c.source == key)
            .values(cursor=cursor, updated_at=now)
        ).rowcount
        if not done:
            conn.execute(
                connector_cursors.insert().values(source=key, cursor=cursor, updated_at=now)
            )

    # ------------------------------------------------------------------------- reading

    def _entities_for(self, conn: Connection, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for chunk in _chunks(list(ids)):
            stmt = select(item_entities.c.item_id, item_entities.c.kind, item_entities.c.ref).where(
                item_entities.c.item_id.in_(chunk)
            )
            for item_id, kind, ref in conn.execute(stmt):
                out.setdefault(item_id, []).append(f"{kind}:{ref}")
        return {k: tuple(sorted(v)) for k, v in out.items()}

    @wrap_exceptions("reading a connector's cursor")
    def connector_cursor(self, key: str) -> str | None:
        """Where connector source `key` resumes (None: from its `since`)."""
        with self.engine.connect() as conn:
            value = conn.execute(
                select(connector_cursors.c.cursor).where(connector_cursors.c.source == key)
            ).scalar()
        return str(value) if value is not None else None

    @wrap_exceptions("reading item entities")
    def item_entities(self, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """The entities (kind:id) of the items `ids` that have any."""
        with self.engine.connect() as conn:
            return self._entities_for(conn, ids)

    @wrap_exceptions("reading the items of an entity")
    def entity_item_ids(self, entity: str) -> list[str]:
        """The ids of the items that cite `entity` (kind:id, in stored form)."""
        kind, ref = _split(entity)
        with self.engine.connect() as conn:
            stmt = select(item_entities.c.item_id).where(
                item_entities.c.kind == kind, item_entities.c.ref == ref
            )
            return [i for (i,) in conn.execute(stmt)]

    @wrap_exceptions("matching items to entities")
    def items_with_entities(
        self, entities: Iterable[str], ids: Iterable[str] | None = None
    ) -> dict[str, tuple[str, ...]]:
        """Item id -> which of `entities` it cites, for the items citing any of them (only
        among `ids` when given): what a monitor with `entities: [...]` matches."""
        pairs = sorted({_split(e) for e in entities})
        if not pairs:
            return {}
        cond = or_(*(and_(item_entities.c.kind == k, item_entities.c.ref == r) for k, r in pairs))
        stmt = select(item_entities.c.item_id, item_entities.c.kind, item_entities.c.ref).where(
            cond
        )
        out: dict[str, list[str]] = {}
        with self.engine.connect() as conn:
            if ids is None:
                rows = list(conn.execute(stmt))
            else:
                rows = []
                for chunk in _chunks(sorted(set(ids))):
                    rows += conn.execute(stmt.where(item_entities.c.item_id.in_(chunk))).all()
        for item_id, kind, ref in rows:
            out.setdefault(item_id, []).append(f"{kind}:{ref}")
        return {k: tuple(sorted(v)) for k, v in out.items()}

    @wrap_exceptions("reading a dossier")
    def dossier(self, entity: str, only: Sequence[str] | None = None) -> list[DossierRow]:
        """The timeline of one entity across all sources, oldest first (publication date,
        else first seen); `only`: of these items only (a page of it)."""
        kind, ref = _split(entity)
        cited = select(item_entities.c.item_id).where(
            item_entities.c.kind == kind, item_entities.c.ref == ref
        )
        if only is not None:
            cited = cited.where(item_entities.c.item_id.in_(list(only)))
        when = func.coalesce(items.c.published, items.c.first_seen)
        stmt = (
            select(
                items,
                sources.c.name.label("source_name"),
                sources.c.kind.label("source_kind"),
                item_documents.c.doc_kind,
                item_documents.c.details,
            )
            .select_from(
                items.join(sources, sources.c.key == items.c.source).outerjoin(
                    item_documents, item_documents.c.item_id == items.c.id
                )
            )
            .where(items.c.id.in_(cited))
            .order_by(when, items.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
            ents = self._entities_for(conn, [r.id for r in rows])
        return [
            DossierRow(
                item=item_from_row(r),
                source_name=r.source_name or r.source,
                source_kind=r.source_kind or "",
                doc_kind=r.doc_kind or "",
                details={str(k): str(v) for k, v in (r.details or {}).items()},
                entities=ents.get(r.id, ()),
            )
            for r in rows
        ]

    @wrap_exceptions("counting entities")
    def entity_counts(
        self, *, kind: str | None = None, since: datetime | None = None, limit: int = 50
    ) -> list[EntityCount]:
        """The most cited entities: items and sources citing each, first and last date.

        Each citation carries its item's date and source (kept by the triggers of migration
        0010), so a period is one range of an index on item_entities, without reading items."""
        e = item_entities
        n = func.count()
        stmt = (
            select(
                e.c.kind,
                e.c.ref,
                n.label("n"),
                func.count(func.distinct(e.c.source)).label("sources"),
                func.min(e.c.at).label("first"),
                func.max(e.c.at).label("last"),
            )
            .group_by(e.c.kind, e.c.ref)
            .order_by(n.desc(), e.c.kind, e.c.ref)
            .limit(limit)
        )
        if kind is not None:
            stmt = stmt.where(e.c.kind == kind)
        if since is not None:
            stmt = stmt.where(e.c.at >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            EntityCount(
                entity=f"{r.kind}:{r.ref}",
                items=int(r.n),
                sources=int(r.sources),
                first=read_datetime(r.first) if r.first is not None else None,
                last=read_datetime(r.last) if r.last is not None else None,
            )
            for r in rows
        ]


EntityStore = EntitiesMixin  # the name it had before the store was split into mixins
