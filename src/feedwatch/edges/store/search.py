"""The database side of search and monitors: the index kept in step with items, queries
compiled for SQLite FTS5 or PostgreSQL, and matching of new items against monitors.

Triggers (migration 0006) queue every item written, changed or deleted; `index_pending()`
turns the queue into index rows with feedwatch's own normaliser (core/search/text.py), so both
databases hold the same words. Every reader calls it first (`search`, `match_new`), so results
never lag behind what is stored. search_docs.docid only grows: a monitor keeps a cursor on it
and looks only at documents indexed since.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
)
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from feedwatch.core.search.query import (
    And,
    Filter,
    Node,
    Not,
    Term,
    fts5_ok,
    is_text,
    to_fts5,
    to_tsquery,
)
from feedwatch.core.search.text import index_doc, tsvector_literal
from feedwatch.edges.store.models import (
    item_topics,
    items,
    monitor_matches,
    monitor_state,
    search_docs,
    search_queue,
)
from feedwatch.errors import StorageError

__all__ = [
    "SearchFilters",
    "SearchHit",
    "index_pending",
    "last_docid",
    "match_new",
    "search_ids",
]

INDEX_BATCH = 2000
# PostgreSQL advisory lock (transaction-scoped) taken while docids are handed out and while a
# monitor reads the newest one: a docid is never seen before every smaller one is committed.
INDEX_LOCK = 0x66770001

_fts = table("item_fts", column("rowid"))
_FTS: ColumnElement[Any] = literal_column("item_fts")


def _lock_index(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(INDEX_LOCK)))


def index_pending(bind: Engine | Connection, limit: int | None = None) -> int:
    """Index the queued items (new, changed or deleted); returns how many were handled."""
    if isinstance(bind, Connection):
        return _index_on(bind, limit)
    done = 0
    try:
        while limit is None or done < limit:
            with bind.begin() as conn:
                n = _index_batch(conn)
            done += n
            if n < INDEX_BATCH:
                break
    except SQLAlchemyError as exc:
        raise StorageError(f"could not update the search index: {exc}") from exc
    return done


def _index_on(conn: Connection, limit: int | None) -> int:
    done = 0
    while limit is None or done < limit:
        n = _index_batch(conn)
        done += n
        if n < INDEX_BATCH:
            break
    return done


def _index_batch(conn: Connection) -> int:
    _lock_index(conn)
    ids = list(conn.execute(select(search_queue.c.item_id).limit(INDEX_BATCH)).scalars())
    if not ids:
        return 0
    rows = conn.execute(
        select(items.c.id, items.c.title, items.c.summary, items.c.lang).where(items.c.id.in_(ids))
    ).all()
    docs = {r.id: index_doc(r.title or "", r.summary or "", r.lang) for r in rows}
    if conn.dialect.name == "sqlite":
        old = list(
            conn.execute(
                select(search_docs.c.docid).where(search_docs.c.item_id.in_(ids))
            ).scalars()
        )
        if old:
            conn.execute(_fts.delete().where(_fts.c.rowid.in_(old)))
        conn.execute(search_docs.delete().where(search_docs.c.item_id.in_(ids)))
        if docs:
            conn.execute(search_docs.insert(), [{"item_id": i} for i in docs])
            got = dict(
                conn.execute(
                    select(search_docs.c.item_id, search_docs.c.docid).where(
                        search_docs.c.item_id.in_(list(docs))
                    )
                ).all()
            )
            conn.exec_driver_sql(
                "INSERT INTO item_fts (rowid, title, body, title_w, body_w) VALUES (?, ?, ?, ?, ?)",
                [
                    (got[i], d.title_stems, d.body_stems, d.title_words, d.body_words)
                    for i, d in docs.items()
                ],
            )
    else:
        conn.execute(search_docs.delete().where(search_docs.c.item_id.in_(ids)))
        if docs:
            conn.execute(
                search_docs.insert().values(tsv=cast(bindparam("t"), TSVECTOR)),
                [{"item_id": i, "t": tsvector_literal(d)} for i, d in docs.items()],
            )
    conn.execute(search_queue.delete().where(search_queue.c.item_id.in_(ids)))
    return len(ids)


def last_docid(conn: Connection) -> int:
    """The newest docid of which every smaller one is committed (with the index lock held)."""
    _lock_index(conn)
    return int(conn.execute(select(func.coalesce(func.max(search_docs.c.docid), 0))).scalar_one())


# ------------------------------------------------------------------------------ queries


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """The options of `feedwatch search` next to the query (topics and sources: any of)."""

    topics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    item_id: str
    rank: float  # higher is better; 0 when the query has no words to rank by
    docid: int


def _text_ids(node: Node, dialect: str) -> Any:
    """The item ids (a subquery) whose document matches the text node."""
    if dialect == "postgresql":
        q = cast(bindparam(None, to_tsquery(node)), TSQUERY)
        return select(search_docs.c.item_id).where(search_docs.c.tsv.op("@@")(q))
    match = _FTS.op("MATCH")(bindparam(None, to_fts5(node)))
    docids = select(_fts.c.rowid).where(match)
    return select(search_docs.c.item_id).where(search_docs.c.docid.in_(docids))


def _in_topics(topics: Sequence[str]) -> Any:
    """Ids of items assigned to any of `topics`; a human decision wins over the rules (as the
    store's own in_topics())."""
    t = item_topics.alias("st")
    m = item_topics.alias("sm")
    manual = (
        select(m.c.item_id)
        .where(m.c.item_id == t.c.item_id, m.c.topic == t.c.topic, m.c.origin == "manual")
        .exists()
    )
    return select(t.c.item_id).where(
        t.c.topic.in_(list(topics)),
        t.c.assigned.is_(True),
        (t.c.origin == "manual") | ((t.c.origin == "rule") & ~manual),
    )


def condition(node: Node, dialect: str) -> ColumnElement[bool]:
    """A WHERE condition on `items` for any query node."""
    if is_text(node) and (dialect == "postgresql" or fts5_ok(node)):
        return items.c.id.in_(_text_ids(node, dialect))
    if isinstance(node, Filter):
        if node.field == "source":
            return items.c.source == node.value
        return items.c.id.in_(_in_topics([node.value]))
    if isinstance(node, Not):
        return not_(condition(node.child, dialect))
    if isinstance(node, Term):  # pragma: no cover - a term is always text
        raise AssertionError(node)
    parts = [condition(c, dialect) for c in node.children]
    return and_(*parts) if isinstance(node, And) else or_(*parts)


def _driver(node: Node, dialect: str) -> tuple[Node | None, list[Node]]:
    """(the text part to rank by, the rest as conditions) of a query's top level."""
    parts: list[Node] = list(node.children) if isinstance(node, And) else [node]
    text = [
        p
        for p in parts
        if not isinstance(p, Not) and is_text(p) and (dialect == "postgresql" or fts5_ok(p))
    ]
    rest = [p for p in parts if not any(p is t for t in text)]
    if not text:
        return None, parts
    return (text[0] if len(text) == 1 else And(tuple(text))), rest


def _filters(f: SearchFilters) -> list[ColumnElement[bool]]:
    when = func.coalesce(items.c.published, items.c.first_seen)
    out: list[ColumnElement[bool]] = []
    if f.topics:
        out.append(items.c.id.in_(_in_topics(f.topics)))
    if f.sources:
        out.append(items.c.source.in_(list(f.sources)))
    if f.since is not None:
        out.append(when >= f.since)
    if f.until is not None:
        out.append(when < f.until)
    return out


def _statement(
    node: Node,
    dialect: str,
    filters: SearchFilters,
    *,
    after: int | None = None,
    upto: int | None = None,
) -> Any:
    driver, rest = _driver(node, dialect)
    conds = [condition(p, dialect) for p in rest] + _filters(filters)
    if after is not None:
        conds.append(search_docs.c.docid > after)
    if upto is not None:
        conds.append(search_docs.c.docid <= upto)
    if driver is None:
        rank: Any = literal(0.0)
        base = search_docs.join(items, items.c.id == search_docs.c.item_id)
    elif dialect == "postgresql":
        q = cast(bindparam(None, to_tsquery(driver)), TSQUERY)
        # weights {D, C, B, A}: title stems count most, then the title's words, the text's stems
        rank = func.ts_rank(
            literal_column("'{0.1, 0.4, 0.3, 1.0}'::float4[]"), search_docs.c.tsv, q
        )
        conds.append(search_docs.c.tsv.op("@@")(q))
        base = search_docs.join(items, items.c.id == search_docs.c.item_id)
    else:
        # bm25 is lower for better matches; columns title, body, title_w, body_w
        rank = -func.bm25(_FTS, 10.0, 1.0, 4.0, 0.5)
        conds.append(_FTS.op("MATCH")(bindparam(None, to_fts5(driver))))
        base = _fts.join(search_docs, search_docs.c.docid == _fts.c.rowid).join(
            items, items.c.id == search_docs.c.item_id
        )
    return (
        select(items.c.id, rank.label("rank"), search_docs.c.docid)
        .select_from(base)
        .where(and_(true(), *conds))
    )


def search_ids(
    engine: Engine,
    node: Node,
    filters: SearchFilters = SearchFilters(),
    *,
    limit: int | None = 50,
    sort: str = "rank",
) -> list[SearchHit]:
    """The items matching `node` (after indexing what is queued), best first or newest first."""
    index_pending(engine)
    stmt = _statement(node, engine.dialect.name, filters)
    when = func.coalesce(items.c.published, items.c.first_seen)
    rank: ColumnElement[Any] = literal_column("rank")
    if sort == "date":
        stmt = stmt.order_by(when.desc(), items.c.id)
    else:
        stmt = stmt.order_by(rank.desc(), when.desc(), items.c.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    try:
        with engine.connect() as conn:
            return [SearchHit(r.id, float(r.rank or 0.0), int(r.docid)) for r in conn.execute(stmt)]
    except SQLAlchemyError as exc:
        raise StorageError(f"search failed: {exc}") from exc


# ----------------------------------------------------------------------------- monitors


@dataclass(frozen=True, slots=True)
class MonitorSpec:
    """What the store needs of a monitor to match it (config.monitors.Monitor has these)."""

    name: str
    query: Node | None
    topics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()


def monitor_condition(spec: MonitorSpec, dialect: str) -> tuple[Node | None, list[Any]]:
    """(the query, extra conditions) of a monitor: every criterion given must hold; within
    topics, sources or entities any one is enough."""
    extra: list[Any] = []
    if spec.topics:
        extra.append(items.c.id.in_(_in_topics(spec.topics)))
    if spec.sources:
        extra.append(items.c.source.in_(list(spec.sources)))
    if spec.entities and not (spec.query or spec.topics or spec.sources):
        # Entities are accepted and checked; items carry none yet (the open-data work adds
        # them): until then a monitor of entities alone matches nothing, and entities next to
        # other criteria add no condition.
        extra.append(false())
    return spec.query, extra


def _spec_statement(spec: MonitorSpec, dialect: str, after: int, upto: int) -> Any:
    query, extra = monitor_condition(spec, dialect)
    if query is None:
        stmt = (
            select(items.c.id, literal(0.0).label("rank"), search_docs.c.docid)
            .select_from(search_docs.join(items, items.c.id == search_docs.c.item_id))
            .where(search_docs.c.docid > after, search_docs.c.docid <= upto)
        )
    else:
        stmt = _statement(query, dialect, SearchFilters(), after=after, upto=upto)
    return stmt.where(and_(true(), *extra)) if extra else stmt


def ensure_states(engine: Engine, names: Iterable[str], now: datetime) -> dict[str, Any]:
    """The state row of every monitor, created for a new one with its cursor at the newest
    document (a new monitor starts with what comes next, not with the whole archive)."""
    names = list(names)
    with engine.begin() as conn:
        have = {r.monitor: r for r in conn.execute(select(monitor_state)).all()}
        missing = [n for n in names if n not in have]
        if missing:
            top = last_docid(conn)
            ins = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(monitor_state)
            conn.execute(
                ins.on_conflict_do_nothing(),
                [{"monitor": n, "cursor": top, "created_at": now} for n in missing],
            )
            have = {r.monitor: r for r in conn.execute(select(monitor_state)).all()}
    return have


def match_new(engine: Engine, specs: Sequence[MonitorSpec], now: datetime) -> dict[str, list[str]]:
    """Match each monitor against the documents indexed since its cursor, store the matches
    (once per monitor and item) and move the cursor; returns the new matches per monitor."""
    index_pending(engine)
    ensure_states(engine, [s.name for s in specs], now)
    dialect = engine.dialect.name
    found: dict[str, list[str]] = {}
    ins_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    try:
        with engine.begin() as conn:
            upto = last_docid(conn)
            lock = select(monitor_state).where(monitor_state.c.monitor.in_([s.name for s in specs]))
            if dialect == "postgresql":
                lock = lock.with_for_update()
            cursors = {r.monitor: int(r.cursor) for r in conn.execute(lock)}
            for spec in specs:
                after = cursors.get(spec.name, upto)
                if after >= upto:
                    continue
                ids = [r.id for r in conn.execute(_spec_statement(spec, dialect, after, upto))]
                if ids:
                    conn.execute(
                        ins_fn(monitor_matches).on_conflict_do_nothing(),
                        [
                            {"monitor": spec.name, "item_id": i, "matched": [], "found_at": now}
                            for i in ids
                        ],
                    )
                    found[spec.name] = ids
                conn.execute(
                    monitor_state.update()
                    .where(monitor_state.c.monitor == spec.name)
                    .values(cursor=upto)
                )
    except SQLAlchemyError as exc:
        raise StorageError(f"could not match monitors: {exc}") from exc
    return found


def matching_ids(
    engine: Engine, spec: MonitorSpec, filters: SearchFilters, limit: int | None = None
) -> list[str]:
    """Every stored item a monitor matches (for `feedwatch monitors test`), newest first."""
    index_pending(engine)
    query, extra = monitor_condition(spec, engine.dialect.name)
    if query is None:
        stmt = (
            select(items.c.id, literal(0.0).label("rank"), search_docs.c.docid)
            .select_from(search_docs.join(items, items.c.id == search_docs.c.item_id))
            .where(and_(true(), *_filters(filters)))
        )
    else:
        stmt = _statement(query, engine.dialect.name, filters)
    if extra:
        stmt = stmt.where(and_(true(), *extra))
    when = func.coalesce(items.c.published, items.c.first_seen)
    stmt = stmt.order_by(when.desc(), items.c.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        return [r.id for r in conn.execute(stmt)]
