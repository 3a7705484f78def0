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
    ARRAY,
    Connection,
    Engine,
    Text,
    and_,
    bindparam,
    cast,
    column,
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
    doc_topics,
    item_entities,
    item_topics,
    items,
    monitor_matches,
    monitor_state,
    search_docs,
    search_queue,
)
from feedwatch.edges.store.rows import read_datetime
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
# search --sort rank: how many of the newest matches are ranked (more when more are asked for).
# The web shows at most 1,000 results (50 pages of 20); ranking 10,000 cost PostgreSQL a read
# of up to a quarter of the documents for a word in 4% of them (bench/RESULTS.md).
RANKED_NEWEST = 2_000
# PostgreSQL advisory lock (transaction-scoped) taken while docids are handed out and while a
# monitor reads the newest one: a docid is never seen before every smaller one is committed.
INDEX_LOCK = 0x66770001

_fts = table("item_fts", column("rowid"))
_FTS: ColumnElement[Any] = literal_column("item_fts")


def _lock_index(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(INDEX_LOCK)))


def index_pending(
    bind: Engine | Connection, limit: int | None = None, *, topics: bool = True
) -> int:
    """Index the queued items (new, changed or deleted); returns how many were handled.
    `topics=False`: without the documents' topics (doc_topics, and the topic and source tags
    of PostgreSQL documents): migration 0006 runs before 0009 brings them, and fills them."""
    if isinstance(bind, Connection):
        return _index_on(bind, limit, topics)
    done = 0
    try:
        while limit is None or done < limit:
            with bind.begin() as conn:
                n = _index_batch(conn, topics)
            done += n
            if n < INDEX_BATCH:
                break
    except SQLAlchemyError as exc:
        raise StorageError(f"could not update the search index: {exc}") from exc
    return done


def _index_on(conn: Connection, limit: int | None, topics: bool) -> int:
    done = 0
    while limit is None or done < limit:
        n = _index_batch(conn, topics)
        done += n
        if n < INDEX_BATCH:
            break
    return done


def _index_batch(conn: Connection, tags: bool = True) -> int:
    _lock_index(conn)
    ids = list(conn.execute(select(search_queue.c.item_id).limit(INDEX_BATCH)).scalars())
    if not ids:
        return 0
    rows = conn.execute(
        select(
            items.c.id,
            items.c.title,
            items.c.summary,
            items.c.lang,
            items.c.source,
            func.coalesce(items.c.published, items.c.first_seen).label("at"),
        ).where(items.c.id.in_(ids))
    ).all()
    docs = {r.id: index_doc(r.title or "", r.summary or "", r.lang) for r in rows}
    meta = {r.id: {"source": r.source, "at": read_datetime(r.at)} for r in rows}
    old = list(
        conn.execute(select(search_docs.c.docid).where(search_docs.c.item_id.in_(ids))).scalars()
    )
    if old and tags:
        conn.execute(doc_topics.delete().where(doc_topics.c.docid.in_(old)))
    if conn.dialect.name == "sqlite":
        if old:
            conn.execute(_fts.delete().where(_fts.c.rowid.in_(old)))
        conn.execute(search_docs.delete().where(search_docs.c.item_id.in_(ids)))
        if docs:
            conn.execute(search_docs.insert(), [{"item_id": i} | meta[i] for i in docs])
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
            topics = _assigned(conn, list(docs)) if tags else {}
            conn.execute(
                search_docs.insert().values(
                    tsv=cast(bindparam("t"), TSVECTOR).op("||")(
                        func.array_to_tsvector(cast(bindparam("tags"), ARRAY(Text)))
                    )
                ),
                [
                    {
                        "item_id": i,
                        "t": tsvector_literal(d),
                        "tags": [tag("source", meta[i]["source"])]
                        + [tag("topic", t) for t in topics.get(i, ())],
                    }
                    | meta[i]
                    for i, d in docs.items()
                ],
            )
    if docs and tags:
        conn.execute(_doc_topics_of(list(docs)))
    conn.execute(search_queue.delete().where(search_queue.c.item_id.in_(ids)))
    return len(ids)


def _assigned(conn: Connection, ids: list[str]) -> dict[str, list[str]]:
    """The assigned topics of the items `ids` (a human decision wins over the rules)."""
    t = item_topics.alias("at")
    m = item_topics.alias("am")
    manual = (
        select(m.c.item_id)
        .where(m.c.item_id == t.c.item_id, m.c.topic == t.c.topic, m.c.origin == "manual")
        .exists()
    )
    out: dict[str, list[str]] = {}
    for item_id, topic in conn.execute(
        select(t.c.item_id, t.c.topic).where(
            t.c.item_id.in_(ids),
            t.c.assigned.is_(True),
            (t.c.origin == "manual") | ((t.c.origin == "rule") & ~manual),
        )
    ):
        out.setdefault(item_id, []).append(topic)
    return out


def _doc_topics_of(ids: list[str]) -> Any:
    """INSERT the doc_topics rows of the (just indexed) documents of items `ids`."""
    t = item_topics.alias("dt")
    m = item_topics.alias("dm")
    manual = (
        select(m.c.item_id)
        .where(m.c.item_id == t.c.item_id, m.c.topic == t.c.topic, m.c.origin == "manual")
        .exists()
    )
    rows = (
        select(t.c.topic, search_docs.c.docid)
        .select_from(t.join(search_docs, search_docs.c.item_id == t.c.item_id))
        .where(
            t.c.item_id.in_(ids),
            t.c.assigned.is_(True),
            (t.c.origin == "manual") | ((t.c.origin == "rule") & ~manual),
        )
    )
    return doc_topics.insert().from_select(["topic", "docid"], rows)


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


@dataclass(frozen=True, slots=True)
class _Range:
    """Documents (docid) in (after, upto]: what a monitor has not looked at yet."""

    after: int | None = None
    upto: int | None = None

    def on(self, col: Any) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.after is not None:
            out.append(col > self.after)
        if self.upto is not None:
            out.append(col <= self.upto)
        return out


_ALL = _Range()


def _text_ids(node: Node, dialect: str, docs: _Range = _ALL) -> Any:
    """The item ids (a subquery) whose document matches the text node."""
    if dialect == "postgresql":
        q = cast(bindparam(None, to_tsquery(node)), TSQUERY)
        return select(search_docs.c.item_id).where(
            search_docs.c.tsv.op("@@")(q), *docs.on(search_docs.c.docid)
        )
    match = _FTS.op("MATCH")(bindparam(None, to_fts5(node)))
    docids = select(_fts.c.rowid).where(match, *docs.on(_fts.c.rowid))
    return select(search_docs.c.item_id).where(search_docs.c.docid.in_(docids))


def tag(kind: str, value: str) -> str:
    """The lexeme a PostgreSQL document carries for its source or an assigned topic: no word
    of a text holds '=', so no query word meets it."""
    return f"{kind}={value}"


def _tags_query(kind: str, values: Sequence[str]) -> Any:
    """A tsquery of any of the tags (each lexeme quoted: quotes and backslashes doubled)."""
    quoted = ["'" + tag(kind, v).replace("\\", "\\\\").replace("'", "''") + "'" for v in values]
    return cast(bindparam(None, " | ".join(quoted)), TSQUERY)


def _in_topics(topics: Sequence[str], dialect: str, docid: Any = None) -> ColumnElement[bool]:
    """The document (of the outer search_docs row) belongs to an item assigned any of `topics`
    (a human decision wins over the rules, as the store's own in_topics()). PostgreSQL: its
    topic tags, matched in the same GIN index as its words; SQLite: a probe of doc_topics by
    (topic, docid), in the order FTS5 walks the documents (`docid`: FTS5's rowid, so that the
    probe comes before search_docs is read)."""
    if dialect == "postgresql":
        return search_docs.c.tsv.bool_op("@@")(_tags_query("topic", topics))
    return (
        select(doc_topics.c.docid)
        .where(
            doc_topics.c.topic.in_(list(topics)),
            doc_topics.c.docid == (search_docs.c.docid if docid is None else docid),
        )
        .exists()
    )


def _in_sources(keys: Sequence[str], dialect: str, docid: Any = None) -> ColumnElement[bool]:
    """The document is of any of the sources `keys`. PostgreSQL: its source tag; SQLite with
    FTS5's rowid as `docid`: the sources' docids (read from the index on source) as a set in
    memory that each document walked is looked up in before search_docs is read."""
    if dialect == "postgresql":
        return search_docs.c.tsv.bool_op("@@")(_tags_query("source", keys))
    if docid is None:
        return search_docs.c.source.in_(list(keys))
    d = search_docs.alias("ds")
    # "+ 0": a test of each row walked, not a list of rowids handed to FTS5 to look up
    walked: ColumnElement[int] = docid + 0
    return walked.in_(select(d.c.docid).where(d.c.source.in_(list(keys))))


def _doc_matches(node: Node) -> ColumnElement[bool]:
    """PostgreSQL: the outer search_docs row's own document matches the text node."""
    return search_docs.c.tsv.op("@@")(cast(bindparam(None, to_tsquery(node)), TSQUERY))


def condition(
    node: Node, dialect: str, docs: _Range = _ALL, docid: Any = None
) -> ColumnElement[bool]:
    """A WHERE condition on `search_docs` for any query node (text matched among `docs`;
    `docid`: the column of the document's id to probe doc_topics with)."""
    if is_text(node) and dialect == "postgresql":
        return _doc_matches(node)  # a test of the row's own document
    if is_text(node) and fts5_ok(node):
        return search_docs.c.item_id.in_(_text_ids(node, dialect, docs))
    if isinstance(node, Filter):
        if node.field == "source":
            return _in_sources([node.value], dialect, docid)
        return _in_topics([node.value], dialect, docid)
    if isinstance(node, Not):
        return not_(condition(node.child, dialect, docs, docid))
    if isinstance(node, Term):  # pragma: no cover - a term is always text
        raise AssertionError(node)
    parts = [condition(c, dialect, docs, docid) for c in node.children]
    return and_(*parts) if isinstance(node, And) else or_(*parts)


def _driver(node: Node, dialect: str) -> tuple[Node | None, list[Node]]:
    """(the text part to rank by, the rest as conditions) of a query's top level. On SQLite a
    NOT of words beside it goes into the FTS5 expression too (FTS5 merges the two lists; a
    common word's whole list is never turned into a set of ids)."""
    parts: list[Node] = list(node.children) if isinstance(node, And) else [node]
    text: list[Node] = [
        p
        for p in parts
        if not isinstance(p, Not) and is_text(p) and (dialect == "postgresql" or fts5_ok(p))
    ]
    if not text:
        return None, parts
    if dialect == "sqlite":
        text += [p for p in parts if isinstance(p, Not) and is_text(p) and fts5_ok(p.child)]
    rest = [p for p in parts if not any(p is t for t in text)]
    return (text[0] if len(text) == 1 else And(tuple(text))), rest


def _filters(f: SearchFilters, dialect: str, docid: Any = None) -> list[ColumnElement[bool]]:
    when = search_docs.c.at
    out: list[ColumnElement[bool]] = []
    if f.topics:
        out.append(_in_topics(f.topics, dialect, docid))
    if f.sources:
        out.append(_in_sources(f.sources, dialect, docid))
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
    ranked: bool = True,
) -> Any:
    docs = _Range(after, upto)
    driver, rest = _driver(node, dialect)
    docid = _fts.c.rowid if driver is not None and dialect == "sqlite" else None
    conds = [condition(p, dialect, docs, docid) for p in rest] + _filters(filters, dialect, docid)
    conds.extend(docs.on(search_docs.c.docid))
    base: Any
    if driver is None:
        rank: Any = literal(0.0)
        base = search_docs
    elif dialect == "postgresql":
        q = cast(bindparam(None, to_tsquery(driver)), TSQUERY)
        # weights {D, C, B, A}: title stems count most, then the title's words, the text's stems
        rank = (
            func.ts_rank(literal_column("'{0.1, 0.4, 0.3, 1.0}'::float4[]"), search_docs.c.tsv, q)
            if ranked
            else literal(0.0)
        )
        conds.append(search_docs.c.tsv.op("@@")(q))
        base = search_docs
    else:
        # bm25 is lower for better matches; columns title, body, title_w, body_w
        rank = -func.bm25(_FTS, 10.0, 1.0, 4.0, 0.5) if ranked else literal(0.0)
        conds.append(_FTS.op("MATCH")(bindparam(None, to_fts5(driver))))
        conds.extend(docs.on(_fts.c.rowid))
        base = _fts.join(search_docs, search_docs.c.docid == _fts.c.rowid)
    newest = _fts.c.rowid if driver is not None and dialect == "sqlite" else search_docs.c.docid
    return (
        select(
            search_docs.c.item_id.label("id"),
            rank.label("rank"),
            search_docs.c.docid,
            search_docs.c.at.label("at"),
            newest.label("newest"),
        )
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
    """The items matching `node` (after indexing what is queued), best first or newest first.

    Best first ranks the most recently indexed matches, RANKED_NEWEST of them or `limit` when
    that is more (all of them when there are fewer): a word in a quarter of a million items is
    ranked in milliseconds, not in a second, and for news the recent matches are the ones
    wanted; equal ranks go newest first. Newest first is exact."""
    index_pending(engine)
    dialect = engine.dialect.name
    driver, rest = _driver(node, dialect)
    if (
        dialect == "sqlite"
        and sort == "rank"
        and driver is not None
        and not rest
        and not any((filters.topics, filters.sources, filters.since, filters.until))
    ):
        stmt = _fts_only(driver, limit)
    else:
        stmt = None
    try:
        with engine.connect() as conn:
            if stmt is None:
                floor = _docid_floor(conn, filters.since)
                if floor == _NOTHING:
                    return []
                if dialect == "postgresql" and sort == "rank":
                    return _ranked_in_slices(conn, node, filters, floor, limit)
                stmt = _ordered(_statement(node, dialect, filters, after=floor), sort, limit)
            return [SearchHit(r.id, float(r.rank or 0.0), int(r.docid)) for r in conn.execute(stmt)]
    except SQLAlchemyError as exc:
        raise StorageError(f"search failed: {exc}") from exc


FIRST_SLICE = 25  # PostgreSQL: the newest documents first searched, in RANKED_NEWEST's


def _ranked_in_slices(
    conn: Connection, node: Node, filters: SearchFilters, floor: int | None, limit: int | None
) -> list[SearchHit]:
    """PostgreSQL, best first: the newest matches gathered slice by slice of docids, newest
    slice first, until there are as many as are ranked (or no documents are left), then
    ranked. Each slice is read by the docid index or the GIN index within its bounds, so a
    query whose matches the planner misjudges (a phrase of common words: 36,000 estimated at
    1,400) never reads every match; the next slice is sized from the matches found so far."""
    window = _window(limit)
    top = conn.execute(select(func.max(search_docs.c.docid))).scalar()
    if top is None:
        return []
    bottom = floor or 0
    hi, span = int(top), window * FIRST_SLICE
    found: list[Any] = []
    while hi > bottom and len(found) < window:
        lo = max(hi - span, bottom)
        stmt = (
            _statement(node, "postgresql", filters, after=lo, upto=hi)
            .order_by(search_docs.c.docid.desc())
            .limit(window - len(found))
        )
        # a slice of at most FIRST_SLICE times the window is walked by the docid index: the
        # planner, misjudging a phrase of words that go together (bed-bad-broodregeling: 36,000
        # estimated at 47), would read every candidate of the whole table through the GIN index
        # and drop those outside the slice after reading them
        narrow = hi - lo <= window * FIRST_SLICE
        conn.exec_driver_sql(f"SET LOCAL enable_bitmapscan = {'off' if narrow else 'on'}")
        found.extend(conn.execute(stmt).all())
        hi = lo
        density = max(len(found), 1) / (int(top) - hi)
        span = max(int((window - len(found)) / density * 1.25), window)
    found.sort(key=lambda r: (-float(r.rank or 0.0), -int(r.docid)))
    hits = found if limit is None else found[:limit]
    return [SearchHit(r.id, float(r.rank or 0.0), int(r.docid)) for r in hits]


FLOOR_SPAN = 10_000  # documents dated since `since` looked at to find the first of them
_NOTHING = -1


def _docid_floor(conn: Connection, since: datetime | None) -> int | None:
    """A docid below every document dated `since` or later (`after`: only documents above it
    can match), when there are at most FLOOR_SPAN of them (a recent `since`: a week is about
    5,000 documents in a million); _NOTHING when there is none; else None (no floor). Found
    through the index on the date, so the words' index is then read from that docid on, not
    from the start of the archive."""
    if since is None:
        return None
    docids = list(
        conn.execute(
            select(search_docs.c.docid).where(search_docs.c.at >= since).limit(FLOOR_SPAN + 1)
        ).scalars()
    )
    if not docids:
        return _NOTHING
    return min(docids) - 1 if len(docids) <= FLOOR_SPAN else None


def _fts_only(driver: Node, limit: int | None) -> Any:
    """Words only, on SQLite: rank the newest matches inside FTS5 and read search_docs for the
    ones shown only."""
    match = _FTS.op("MATCH")(bindparam(None, to_fts5(driver)))
    newest = (
        select(_fts.c.rowid.label("docid"), (-func.bm25(_FTS, 10.0, 1.0, 4.0, 0.5)).label("rank"))
        .where(match)
        .order_by(_fts.c.rowid.desc())
        .limit(_window(limit))
        .subquery()
    )
    best = select(newest).order_by(newest.c.rank.desc(), newest.c.docid.desc())
    if limit is not None:
        best = best.limit(limit)
    top = best.subquery()
    return (
        select(search_docs.c.item_id.label("id"), top.c.rank, top.c.docid)
        .select_from(top.join(search_docs, search_docs.c.docid == top.c.docid))
        .order_by(top.c.rank.desc(), top.c.docid.desc())
    )


def _window(limit: int | None) -> int:
    """How many of the newest matches are ranked."""
    return max(RANKED_NEWEST, limit or 0)


def _ordered(stmt: Any, sort: str, limit: int | None) -> Any:
    if sort == "date":
        stmt = stmt.order_by(search_docs.c.at.desc(), search_docs.c.item_id)
    else:
        # the newest matches first (FTS5 and the docid index give them in that order), their
        # rank computed for those only; then best first
        inner = stmt.order_by(literal_column("newest").desc()).limit(_window(limit)).subquery()
        stmt = select(inner).order_by(inner.c.rank.desc(), inner.c.docid.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return stmt


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
        extra.append(_in_topics(spec.topics, dialect))
    if spec.sources:
        extra.append(_in_sources(spec.sources, dialect))
    if spec.entities:  # items citing any of them (item_entities, #17)
        pairs = sorted({(e.partition(":")[0], e.partition(":")[2]) for e in spec.entities})
        cited = select(item_entities.c.item_id).where(
            or_(*(and_(item_entities.c.kind == k, item_entities.c.ref == r) for k, r in pairs))
        )
        extra.append(search_docs.c.item_id.in_(cited))
    return spec.query, extra


def _spec_statement(spec: MonitorSpec, dialect: str, after: int, upto: int) -> Any:
    query, extra = monitor_condition(spec, dialect)
    if query is None:
        stmt = (
            select(
                search_docs.c.item_id.label("id"), literal(0.0).label("rank"), search_docs.c.docid
            )
            .select_from(search_docs)
            .where(search_docs.c.docid > after, search_docs.c.docid <= upto)
        )
    else:
        stmt = _statement(query, dialect, SearchFilters(), after=after, upto=upto, ranked=False)
    return stmt.where(and_(true(), *extra)) if extra else stmt


def ensure_states(
    engine: Engine, names: Iterable[str], now: datetime, started: datetime | None = None
) -> dict[str, Any]:
    """The state row of every monitor, created for a new one with its cursor at the newest
    document (a new monitor starts with what comes next, not with the whole archive), or,
    with `started`, before the first item first seen since then (a monitor added before a
    fetch gets what that fetch found)."""
    names = list(names)
    with engine.begin() as conn:
        have = {r.monitor: r for r in conn.execute(select(monitor_state)).all()}
        missing = [n for n in names if n not in have]
        if missing:
            top = last_docid(conn)
            if started is not None:
                first = conn.execute(
                    select(func.min(search_docs.c.docid)).where(
                        search_docs.c.item_id.in_(
                            select(items.c.id).where(items.c.first_seen >= started)
                        )
                    )
                ).scalar()
                if first is not None:
                    top = min(top, int(first) - 1)
            ins = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(monitor_state)
            conn.execute(
                ins.on_conflict_do_nothing(),
                [{"monitor": n, "cursor": top, "created_at": now} for n in missing],
            )
            have = {r.monitor: r for r in conn.execute(select(monitor_state)).all()}
    return have


def match_new(
    engine: Engine, specs: Sequence[MonitorSpec], now: datetime, started: datetime | None = None
) -> dict[str, list[str]]:
    """Match each monitor against the documents indexed since its cursor, store the matches
    (once per monitor and item) and move the cursor; returns the new matches per monitor.
    `started`: where a new monitor starts (ensure_states)."""
    index_pending(engine)
    ensure_states(engine, [s.name for s in specs], now, started)
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
                        [{"monitor": spec.name, "item_id": i, "found_at": now} for i in ids],
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
    with engine.connect() as conn:
        floor = _docid_floor(conn, filters.since)
        if floor == _NOTHING:
            return []
        if query is None:
            stmt = (
                select(
                    search_docs.c.item_id.label("id"),
                    literal(0.0).label("rank"),
                    search_docs.c.docid,
                )
                .select_from(search_docs)
                .where(
                    and_(
                        true(),
                        *_filters(filters, engine.dialect.name),
                        *_Range(floor).on(search_docs.c.docid),
                    )
                )
            )
        else:
            stmt = _statement(query, engine.dialect.name, filters, after=floor)
        if extra:
            stmt = stmt.where(and_(true(), *extra))
        stmt = stmt.order_by(search_docs.c.at.desc(), search_docs.c.item_id)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [r.id for r in conn.execute(stmt)]
