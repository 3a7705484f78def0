"""Storage: the Store class is the only database API; it takes and returns plain values."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError, StatementError

from feedwatch.core.schedule import typical_gap
from feedwatch.edges.store.entities import EntityStore
from feedwatch.edges.store.models import fetches, item_topics, items, metadata, sources, workers
from feedwatch.edges.store.views import StoreViews
from feedwatch.errors import StorageError
from feedwatch.types import Item, Source, SourceState, TopicScore

DEFAULT_DATABASE_URL = "sqlite:///data/feedwatch.db"
# Bulk inserts on SQLite skip SQLAlchemy's per-row parameter handling (Store._insert_many);
# tests turn it off to check that both ways write the same rows.
FAST_SQLITE_INSERTS = True
# The newest migration; tests/edges/test_store.py checks it against Alembic's head.
SCHEMA_REVISION = "0008"

__all__ = [
    "DEFAULT_DATABASE_URL",
    "FetchOutcome",
    "ItemQuery",
    "ItemRow",
    "SourceReport",
    "SourceUpdate",
    "Store",
    "metadata",
]


@dataclass(frozen=True, slots=True)
class SourceUpdate:
    """Everything one fetch of one source writes, decided by pipeline.decide()."""

    key: str
    started_at: datetime
    duration: float
    outcome: str  # ok | not-modified | error
    url: str
    http_status: int | None = None
    bytes: int = 0
    items: tuple[Item, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None
    error_kind: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    set_validators: bool = False  # a 200 replaces the stored validators (also with None)
    new_url: str | None = None  # a permanent redirect moved the source
    next_check_at: datetime | None = None
    disable_reason: str | None = None
    scores: dict[str, tuple[TopicScore, ...]] = field(default_factory=dict)  # item id -> scores
    classifier_version: str | None = None
    body_hash: str | None = None  # pipeline.body_digest() of a body read in full
    # The body was byte-identical to the last one read, which held this many items: not re-read,
    # they count as unchanged.
    same_body_items: int | None = None
    # #17: entities (kind:id) per item id, computed in core (None: not computed, left alone);
    # a connector's (doc_kind, details) per item id and where its next run resumes
    entities: dict[str, tuple[str, ...]] | None = None
    documents: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """The fetch-log row and the summary line of one source."""

    key: str
    outcome: str
    http_status: int | None
    new: int
    updated: int
    unchanged: int
    duration: float
    error: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemQuery:
    topics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None
    ids: tuple[str, ...] = ()
    # Topics scored 0 for a classified item with no stored score for them (only scores above
    # zero are stored): the configured topics, so that every item reports the same keys.
    score_topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemRow:
    item: Item
    topics: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)
    entities: tuple[str, ...] = ()  # kind:id (#17)


@dataclass(frozen=True, slots=True)
class SourceReport:
    key: str
    name: str
    kind: str
    url: str
    enabled: bool
    in_config: bool
    disabled_reason: str | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_errors: int
    next_check_at: datetime | None
    item_count: int


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("FEEDWATCH_DATABASE_URL") or DEFAULT_DATABASE_URL


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("feedwatch") / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


class Store(EntityStore, StoreViews):
    """The database: sources' fetch state, items, topic scores and the fetch log."""

    def __init__(self, url: str | None = None, *, auto_upgrade: bool = True) -> None:
        self.url = database_url(url)
        parsed = make_url(self.url)
        kwargs: dict[str, Any] = {}
        if parsed.drivername.startswith("sqlite"):
            db = parsed.database
            if db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        elif parsed.drivername == "postgresql":
            # Plain postgresql:// means psycopg 3 here (the driver feedwatch installs).
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            self.engine: Engine = create_engine(parsed, **kwargs)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StorageError(f"cannot open database {self.url!r}: {exc}") from exc
        self.dialect = self.engine.dialect.name
        self._sqlite_inserts: dict[
            tuple[str, tuple[str, ...]], tuple[str, list[Callable[[Any], Any] | None]]
        ] = {}
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if auto_upgrade:
            self._ensure_schema()

    # ------------------------------------------------------------------ schema

    def _ensure_schema(self) -> None:
        try:
            with self.engine.connect() as conn:
                has_schema = inspect(conn).has_table("alembic_version")
                current = None
                if has_schema:
                    current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot open database {self.url!r}: {exc}") from exc
        if current == SCHEMA_REVISION:
            return  # the common case, without loading Alembic's scripts (0.2 s per command)
        if not has_schema or self.dialect == "sqlite":
            self.upgrade()
        else:
            raise StorageError(
                f"the database schema is at {current or 'nothing'}, feedwatch needs "
                f"{self.head_revision()}: run `feedwatch db upgrade`"
            )

    @staticmethod
    def head_revision() -> str:
        from alembic.script import ScriptDirectory

        return str(
            ScriptDirectory(str(resources.files("feedwatch") / "migrations")).get_current_head()
        )

    def upgrade(self) -> str:
        """Apply the Alembic migrations up to head; returns the revision reached."""
        from alembic import command

        try:
            with self.engine.begin() as conn:
                command.upgrade(_alembic_config(conn), "head")
        except SQLAlchemyError as exc:
            raise StorageError(f"migration failed: {exc}") from exc
        return self.head_revision()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- sources

    def sync_sources(self, configured: Sequence[Source], now: datetime) -> None:
        """Mirror the config: add new sources, update changed ones, disable removed ones
        (kept, with their items). A changed config URL replaces the stored URL and validators."""
        with self.engine.begin() as conn:
            rows = {r.key: r for r in conn.execute(select(sources)).all()}
            seen = set()
            for s in configured:
                seen.add(s.key)
                values: dict[str, Any] = {
                    "name": s.name,
                    "organisation": s.organisation,
                    "kind": s.kind,
                    "enabled": s.enabled,
                    "in_config": True,
                    "interval_seconds": int(s.interval.total_seconds()),
                }
                row = rows.get(s.key)
                if row is None:
                    conn.execute(
                        sources.insert().values(
                            key=s.key,
                            config_url=s.url,
                            url=s.url,
                            created_at=now,
                            consecutive_errors=0,
                            **values,
                        )
                    )
                    continue
                if row.config_url != s.url:
                    values.update(
                        config_url=s.url,
                        url=s.url,
                        etag=None,
                        last_modified=None,
                        next_check_at=None,
                        body_hash=None,
                        body_items=None,
                    )
                if row.disabled_reason and row.enabled is False and s.enabled:
                    # disabled by feedwatch (410): stays disabled until the config changes URL
                    values["enabled"] = row.config_url != s.url
                    if values["enabled"]:
                        values["disabled_reason"] = None
                current = {k: getattr(row, k) for k in values}
                if current != values:
                    conn.execute(update(sources).where(sources.c.key == s.key).values(**values))
            for key, row in rows.items():
                if key not in seen and row.in_config:
                    conn.execute(
                        update(sources)
                        .where(sources.c.key == key)
                        .values(enabled=False, in_config=False)
                    )

    def source_states(self, keys: Iterable[str] | None = None) -> dict[str, SourceState]:
        stmt = select(sources)
        if keys is not None:
            stmt = stmt.where(sources.c.key.in_(list(keys)))
        with self.engine.connect() as conn:
            return {r.key: _state(r) for r in conn.execute(stmt).all()}

    def body_hashes(self, keys: Iterable[str]) -> dict[str, tuple[str, int]]:
        """(digest, items read) of the last body read in full, per source that has one."""
        out: dict[str, tuple[str, int]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(keys), 500):
                stmt = select(sources.c.key, sources.c.body_hash, sources.c.body_items).where(
                    sources.c.key.in_(chunk), sources.c.body_hash.is_not(None)
                )
                for key, digest, n in conn.execute(stmt):
                    out[key] = (digest, n or 0)
        return out

    def due_sources(self, now: datetime, keys: Iterable[str] | None = None) -> list[SourceState]:
        stmt = select(sources).where(
            sources.c.enabled.is_(True),
            (sources.c.next_check_at.is_(None)) | (sources.c.next_check_at <= now),
        )
        if keys is not None:
            stmt = stmt.where(sources.c.key.in_(list(keys)))
        stmt = stmt.order_by(sources.c.next_check_at.is_not(None), sources.c.next_check_at)
        with self.engine.connect() as conn:
            return [_state(r) for r in conn.execute(stmt).all()]

    def count_due(self, now: datetime, keys: Iterable[str]) -> int:
        """How many of `keys` (distinct) a pass would fetch now: due, or not stored yet."""
        wanted = list(keys)
        stored = due = 0
        with self.engine.connect() as conn:
            for chunk in _chunks(wanted, 500):
                stmt = select(sources.c.next_check_at, sources.c.enabled)
                for at, enabled in conn.execute(stmt.where(sources.c.key.in_(chunk))):
                    stored += 1
                    due += bool(enabled) and (at is None or at <= now)
        return due + len(wanted) - stored

    def claim_due(
        self,
        now: datetime,
        owner: str,
        *,
        lease: timedelta = timedelta(minutes=5),
        limit: int = 100,
        keys: Iterable[str] | None = None,
    ) -> list[SourceState]:
        """Claim up to `limit` due sources for `owner` with a lease that expires at now + lease.

        A source is claimable when it is enabled, due, and not leased (or its lease expired:
        a worker that died loses nothing). On PostgreSQL the rows are locked with
        FOR UPDATE SKIP LOCKED, so concurrent workers never claim the same source; on SQLite
        the database's single writer gives the same guarantee.
        """
        free = (sources.c.lease_until.is_(None)) | (sources.c.lease_until < now)
        stmt = (
            select(sources.c.key)
            .where(
                sources.c.enabled.is_(True),
                (sources.c.next_check_at.is_(None)) | (sources.c.next_check_at <= now),
                free,
            )
            .order_by(sources.c.next_check_at.is_not(None), sources.c.next_check_at, sources.c.key)
            .limit(limit)
        )
        if keys is not None:
            stmt = stmt.where(sources.c.key.in_(list(keys)))
        until = now + lease
        try:
            with self.engine.begin() as conn:
                if self.dialect == "postgresql":
                    claimed = [k for (k,) in conn.execute(stmt.with_for_update(skip_locked=True))]
                    if not claimed:
                        return []
                    conn.execute(
                        update(sources)
                        .where(sources.c.key.in_(claimed))
                        .values(lease_owner=owner, lease_until=until)
                    )
                else:
                    # One UPDATE with the choice as a subquery: SQLite takes the write lock for the
                    # whole statement, so two workers cannot claim the same row.
                    conn.execute(
                        update(sources)
                        .where(sources.c.key.in_(stmt.correlate(None).scalar_subquery()))
                        .values(lease_owner=owner, lease_until=until)
                    )
                rows = conn.execute(
                    select(sources).where(
                        sources.c.lease_owner == owner, sources.c.lease_until == until
                    )
                ).all()
        except SQLAlchemyError as exc:
            raise StorageError(f"could not claim due sources: {exc}") from exc
        return sorted(
            (_state(r) for r in rows),
            key=lambda st: (st.next_check_at is not None, st.next_check_at or now, st.key),
        )

    def release(self, keys: Iterable[str] | None, owner: str) -> None:
        """Give back leases that were not used (shutdown before the fetch): those of `keys`,
        or every lease `owner` holds when keys is None."""
        mine = sources.c.lease_owner == owner
        if keys is not None:
            keys = list(keys)
            if not keys:
                return
            mine = mine & sources.c.key.in_(keys)
        with self.engine.begin() as conn:
            conn.execute(update(sources).where(mine).values(lease_owner=None, lease_until=None))

    def count_failing(self) -> int:
        """Enabled sources whose last fetch failed."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(sources)
                    .where(sources.c.enabled.is_(True), sources.c.consecutive_errors > 0)
                ).scalar_one()
            )

    def next_due_at(self) -> datetime | None:
        """The earliest next check of an enabled source (None: nothing scheduled)."""
        with self.engine.connect() as conn:
            value: datetime | None = conn.execute(
                select(func.min(sources.c.next_check_at)).where(sources.c.enabled.is_(True))
            ).scalar()
        return value

    # ----------------------------------------------------------------- workers

    def heartbeat(
        self,
        worker_id: str,
        hostname: str,
        pid: int,
        started_at: datetime,
        now: datetime,
        info: dict[str, Any],
    ) -> None:
        """Record that a daemon worker is alive, with what it reports about itself."""
        values = {"heartbeat_at": now, "info": info, "stopped_at": None}
        with self.engine.begin() as conn:
            done = conn.execute(
                update(workers).where(workers.c.id == worker_id).values(**values)
            ).rowcount
            if not done:
                conn.execute(
                    workers.insert().values(
                        id=worker_id, hostname=hostname, pid=pid, started_at=started_at, **values
                    )
                )

    def worker_stopped(self, worker_id: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(workers).where(workers.c.id == worker_id).values(stopped_at=now))

    def worker_rows(self, limit: int = 20) -> list[dict[str, Any]]:
        stmt = select(workers).order_by(workers.c.heartbeat_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt).all()]

    def prune_fetch_log(self, before: datetime) -> int:
        """Delete fetch-log rows older than `before`; returns how many."""
        with self.engine.begin() as conn:
            return int(conn.execute(fetches.delete().where(fetches.c.started_at < before)).rowcount)

    def optimize(self) -> None:
        """Routine upkeep: SQLite's PRAGMA optimize and a WAL checkpoint; ANALYZE on PostgreSQL."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn.exec_driver_sql("PRAGMA optimize")
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            elif self.dialect == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
            conn.commit()

    def source_reports(self) -> list[SourceReport]:
        counts = select(items.c.source, func.count().label("n")).group_by(items.c.source).subquery()
        stmt = (
            select(sources, func.coalesce(counts.c.n, 0).label("item_count"))
            .select_from(sources.outerjoin(counts, counts.c.source == sources.c.key))
            .order_by(sources.c.key)
        )
        with self.engine.connect() as conn:
            return [
                SourceReport(
                    key=r.key,
                    name=r.name,
                    kind=r.kind,
                    url=r.url,
                    enabled=r.enabled,
                    in_config=r.in_config,
                    disabled_reason=r.disabled_reason,
                    last_success_at=r.last_success_at,
                    last_error=r.last_error,
                    last_error_at=r.last_error_at,
                    consecutive_errors=r.consecutive_errors,
                    next_check_at=r.next_check_at,
                    item_count=int(r.item_count),
                )
                for r in conn.execute(stmt).all()
            ]

    # ------------------------------------------------------------------- fetch

    def apply(self, upd: SourceUpdate) -> FetchOutcome:
        """Write one fetch in one transaction: items (insert new, update changed), topic
        scores, the source's state and one fetch-log row. Nothing is half-written."""
        try:
            with self.engine.begin() as conn:
                return self._write(conn, [upd])[0]
        except SQLAlchemyError as exc:
            raise StorageError(f"{upd.key}: could not store the fetch: {exc}") from exc

    def apply_many(self, updates: Sequence[SourceUpdate]) -> list[FetchOutcome | StorageError]:
        """Write several fetches with one commit, each as apply() writes it.

        All of them in one transaction, with a fixed number of statements for the batch: a
        crash before its commit loses the whole batch (those sources are fetched again), never
        part of a source. If anything fails, the batch is rolled back and every fetch is
        written in its own transaction as apply() does, so one source's failure (returned in
        its place as a StorageError) costs no other source its write.
        """
        if len(updates) > 1:
            try:
                with self.engine.begin() as conn:
                    return list(self._write(conn, updates))
            except DBAPIError:  # the database refused something: each source on its own
                pass
        out: list[FetchOutcome | StorageError] = []
        for upd in updates:
            try:
                out.append(self.apply(upd))
            except StorageError as exc:
                out.append(exc)
        return out

    def _write(self, conn: Connection, updates: Sequence[SourceUpdate]) -> list[FetchOutcome]:
        """Write `updates` on `conn`: those with only state (304s, skipped bodies) with
        _write_states, the others with _write_full; one source twice goes one at a time."""
        if len({u.key for u in updates}) < len(updates):
            return [o for u in updates for o in self._write(conn, [u])]
        plain = [u for u in updates if _state_only(u)]
        full = [u for u in updates if not _state_only(u)]
        done = dict(zip(map(id, plain), self._write_states(conn, plain), strict=True))
        done.update(zip(map(id, full), self._write_full(conn, full), strict=True))
        self._write_connector_extras(conn, updates)  # entities, cursors (#17, store/entities.py)
        return [done[id(u)] for u in updates]

    def _write_states(self, conn: Connection, ups: Sequence[SourceUpdate]) -> list[FetchOutcome]:
        """What _write_full writes for fetches that carry no items (304s, skipped bodies): the
        source's state and its log row, with one executemany per statement shape."""
        counts = [(0, 0, _read(upd)) for upd in ups]
        self._write_sources(conn, ups, counts, {})
        return self._log_fetches(conn, ups, counts)

    def _write_full(self, conn: Connection, ups: Sequence[SourceUpdate]) -> list[FetchOutcome]:
        """Items (insert new, update changed), topic scores, each source's state and its
        fetch-log row for `ups` (one update per source), with a fixed number of statements
        however many sources: one round of statements per batch, not per source."""
        if not ups:
            return []
        batches: list[dict[str, Item]] = []
        for upd in ups:
            batch: dict[str, Item] = {}
            for it in upd.items:  # the same id twice in one feed: the first one wins
                batch.setdefault(it.id, it)
            batches.append(batch)
        existing: dict[str, str] = {}
        for chunk in _chunks([i for b in batches for i in b], 500):
            for item_id, chash in conn.execute(
                select(items.c.id, items.c.content_hash).where(items.c.id.in_(chunk))
            ):
                existing[item_id] = chash
        # A guid that changed for the same URL is the same item.
        unknown_urls = {
            (upd.key, it.url): it.id
            for upd, batch in zip(ups, batches, strict=True)
            for it in batch.values()
            if it.id not in existing and it.url
        }
        remap: dict[str, str] = {}
        if unknown_urls:
            index = {upd.key: batch for upd, batch in zip(ups, batches, strict=True)}
            keys = sorted({k for k, _u in unknown_urls})
            for chunk in _chunks(sorted({u for _k, u in unknown_urls}), 500):
                for old_id, key, url, chash in conn.execute(
                    select(items.c.id, items.c.source, items.c.url, items.c.content_hash).where(
                        items.c.source.in_(keys), items.c.url.in_(chunk)
                    )
                ):
                    if (key, url) in unknown_urls and old_id not in index[key]:
                        remap[unknown_urls[key, url]] = old_id
                        existing[old_id] = chash
        new_rows: list[dict[str, Any]] = []
        changed_rows: list[Item] = []
        score_rows: list[dict[str, Any]] = []
        rescored: set[str] = set()  # changed items whose old rule scores give way to new ones
        counts: list[tuple[int, int, int]] = []
        for upd, batch in zip(ups, batches, strict=True):
            new = changed = unchanged = 0
            for it in batch.values():
                target = remap.get(it.id, it.id)
                if target not in existing:
                    new_rows.append(_item_values(it, upd.classifier_version))
                    new += 1
                elif existing[target] != it.content_hash:
                    changed_rows.append(_replace_id(it, target))
                    changed += 1
                    if upd.scores:
                        rescored.add(target)
                else:
                    unchanged += 1
                    continue
                score_rows.extend(_score_rows(target, upd.scores.get(it.id, ())))
            counts.append((new, changed, unchanged + (upd.same_body_items or 0)))
        if new_rows:
            self._insert_many(conn, items, new_rows)
        if changed_rows:
            self._update_items(conn, changed_rows, {u.key: u.classifier_version for u in ups})
        self._replace_rule_scores(conn, score_rows, rescored)
        gaps = self._typical_gaps(conn, [u.key for u, c in zip(ups, counts, strict=True) if c[0]])
        self._write_sources(conn, ups, counts, gaps)
        return self._log_fetches(conn, ups, counts)

    def _log_fetches(
        self, conn: Connection, ups: Sequence[SourceUpdate], counts: Sequence[tuple[int, int, int]]
    ) -> list[FetchOutcome]:
        """One fetch-log row per update, with its (new, updated, unchanged) counts, in one
        executemany; the outcomes the caller reports."""
        if not ups:
            return []
        pairs = list(zip(ups, counts, strict=True))
        conn.execute(
            fetches.insert(),
            [
                {
                    "source": upd.key,
                    "started_at": upd.started_at,
                    "duration": upd.duration,
                    "outcome": upd.outcome,
                    "http_status": upd.http_status,
                    "url": upd.url,
                    "bytes": upd.bytes,
                    "new": new,
                    "updated": changed,
                    "unchanged": unchanged,
                    "error": upd.error,
                    "error_kind": upd.error_kind,
                    "warnings": list(upd.warnings),
                }
                for upd, (new, changed, unchanged) in pairs
            ],
        )
        return [
            FetchOutcome(
                key=upd.key,
                outcome=upd.outcome,
                http_status=upd.http_status,
                new=new,
                updated=changed,
                unchanged=unchanged,
                duration=upd.duration,
                error=upd.error,
                warnings=upd.warnings,
            )
            for upd, (new, changed, unchanged) in pairs
        ]

    def _update_items(
        self, conn: Connection, changed: Sequence[Item], versions: dict[str, str | None]
    ) -> None:
        """Rewrite changed items in place, one executemany per shape (a new date or not)."""
        cols = ("url", "title", "summary", "updated", "author", "content_hash")
        shapes: dict[bool, list[dict[str, Any]]] = {}
        for it in changed:
            row = {f"v_{c}": getattr(it, c) for c in cols}
            row.update(v_id=it.id, v_last_changed=it.first_seen, v_version=versions.get(it.source))
            if it.published is not None:
                row.update(v_published=it.published, v_date_source=it.date_source)
            shapes.setdefault(it.published is not None, []).append(row)
        for dated, rows in shapes.items():
            values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in cols}
            values.update(
                last_changed=bindparam("v_last_changed"),
                classifier_version=bindparam("v_version"),
            )
            if dated:
                values.update(
                    published=bindparam("v_published"), date_source=bindparam("v_date_source")
                )
            conn.execute(update(items).where(items.c.id == bindparam("v_id")).values(values), rows)

    def _typical_gaps(self, conn: Connection, keys: Sequence[str]) -> dict[str, float]:
        """The typical gap between the 20 newest items of each source of `keys`."""
        recent: dict[str, list[datetime]] = {}
        for chunk in _chunks(sorted(keys), 200):
            when = func.coalesce(items.c.published, items.c.first_seen)
            ranked = (
                select(
                    items.c.source.label("source"),
                    when.label("at"),
                    func.row_number()
                    .over(partition_by=items.c.source, order_by=when.desc())
                    .label("rank"),
                )
                .where(items.c.source.in_(chunk))
                .subquery()
            )
            for key, at in conn.execute(
                select(ranked.c.source, ranked.c.at).where(ranked.c.rank <= 20)
            ):
                if at is not None:
                    recent.setdefault(key, []).append(at)
        gaps = {key: typical_gap(times) for key, times in recent.items()}
        return {key: gap for key, gap in gaps.items() if gap is not None}

    def _write_sources(
        self,
        conn: Connection,
        ups: Sequence[SourceUpdate],
        counts: Sequence[tuple[int, int, int]],
        gaps: dict[str, float],
    ) -> None:
        """Each source's state after its fetch: the common shapes with one executemany each,
        errors, moves and disables one by one (_write_source)."""
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for upd, (new, changed, unchanged) in zip(ups, counts, strict=True):
            read = new + changed + unchanged
            if upd.outcome == "error" or upd.new_url or upd.disable_reason:
                self._write_source(conn, upd, new, read=read, gap=gaps.get(upd.key))
                continue
            row: dict[str, Any] = {
                "k": upd.key,
                "last_fetch_at": upd.started_at,
                "next_check_at": upd.next_check_at,
                "last_success_at": upd.started_at,
            }
            if upd.set_validators:
                row.update(etag=upd.etag, last_modified=upd.last_modified)
                row.update(body_hash=upd.body_hash, body_items=read if upd.body_hash else None)
            if new:
                row["last_new_item_at"] = upd.started_at
                if upd.key in gaps:
                    row["typical_gap_seconds"] = gaps[upd.key]
            shapes.setdefault(tuple(row), []).append(row)
        for shape, rows in shapes.items():
            stmt = (
                update(sources)
                .where(sources.c.key == bindparam("k"))
                .values(
                    {c: bindparam(c) for c in shape if c != "k"}
                    | {"consecutive_errors": 0, "last_error": None}
                    | {"lease_owner": None, "lease_until": None}
                )
            )
            conn.execute(stmt, rows)

    def _replace_rule_scores(
        self, conn: Connection, rows: list[dict[str, Any]], replaced: set[str]
    ) -> None:
        """Insert rule scores, first deleting the old ones of the (changed) items `replaced`;
        a brand-new item has none to delete."""
        if not rows:
            return
        for chunk in _chunks(sorted(replaced), 500):
            conn.execute(
                item_topics.delete().where(
                    item_topics.c.item_id.in_(chunk), item_topics.c.origin == "rule"
                )
            )
        self._insert_many(conn, item_topics, rows)

    def _write_source(
        self,
        conn: Connection,
        upd: SourceUpdate,
        new: int,
        read: int = 0,
        gap: float | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "last_fetch_at": upd.started_at,
            "next_check_at": upd.next_check_at,
        }
        if upd.outcome == "error":
            values.update(
                last_error=upd.error,
                last_error_at=upd.started_at,
                consecutive_errors=sources.c.consecutive_errors + 1,
            )
        else:
            values.update(last_success_at=upd.started_at, consecutive_errors=0, last_error=None)
        if upd.set_validators:
            values.update(etag=upd.etag, last_modified=upd.last_modified)
            values.update(body_hash=upd.body_hash, body_items=read if upd.body_hash else None)
        if upd.new_url:
            values.update(url=upd.new_url, etag=None if not upd.set_validators else upd.etag)
        if upd.disable_reason:
            values.update(enabled=False, disabled_reason=upd.disable_reason)
        if new:
            values["last_new_item_at"] = upd.started_at
            if gap is not None:
                values["typical_gap_seconds"] = gap
        values.update(lease_owner=None, lease_until=None)
        conn.execute(update(sources).where(sources.c.key == upd.key).values(**values))

    def _insert_many(self, conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
        """INSERT ... ON CONFLICT DO NOTHING of many rows with the same keys.

        On SQLite the rows go straight to the driver's executemany, each value converted by
        its column type's own bind processor: SQLAlchemy's per-row parameter handling costs
        more than SQLite's insert itself, and the writer holds the GIL meanwhile. Elsewhere
        (and with FAST_SQLITE_INSERTS off) through SQLAlchemy's executemany."""
        if not rows:
            return
        cols = tuple(rows[0])
        # Only rows that give every column: no column default of SQLAlchemy's to apply.
        if self.dialect != "sqlite" or not FAST_SQLITE_INSERTS or len(cols) != len(table.c):
            conn.execute(self._insert_ignore(table), rows)
            return
        sql, procs = self._sqlite_insert(table, cols)
        try:
            params = [
                tuple(
                    [
                        value if proc is None else proc(value)
                        for proc, value in zip(procs, [row[c] for c in cols], strict=True)
                    ]
                )
                for row in rows
            ]
        except (ValueError, TypeError) as exc:  # as SQLAlchemy reports a value it cannot bind
            raise StatementError(str(exc), sql, None, exc) from exc
        conn.exec_driver_sql(sql, params)

    def _sqlite_insert(
        self, table: Any, cols: tuple[str, ...]
    ) -> tuple[str, list[Callable[[Any], Any] | None]]:
        key = (table.name, cols)
        got = self._sqlite_inserts.get(key)
        if got is None:
            dialect = self.engine.dialect
            names = ", ".join(dialect.identifier_preparer.quote(c) for c in cols)
            marks = ", ".join("?" for _ in cols)
            sql = (
                f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) "
                f"VALUES ({marks}) ON CONFLICT DO NOTHING"
            )
            # dialect_impl: SQLite's own DATETIME and JSON, as SQLAlchemy binds them
            # dialect_impl: SQLite's own DATETIME and JSON, as SQLAlchemy binds them
            got = sql, [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in cols]
            self._sqlite_inserts[key] = got
        return got

    def _insert_ignore(self, table: Any) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        if self.dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing()
        return table.insert()

    # ------------------------------------------------------------------- items

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
                entity_map = self._entities_for(conn, [r.id for r in rows])  # #17
                zeros = dict.fromkeys(q.score_topics, 0.0)
                for r in rows:
                    assigned, scores = topic_map.get(r.id, ((), {}))
                    if zeros and r.classifier_version is not None:
                        scores = zeros | scores
                    yield ItemRow(
                        item=_item(r),
                        topics=assigned,
                        scores=scores,
                        entities=entity_map.get(r.id, ()),
                    )

    def _topics_for(
        self, conn: Connection, ids: list[str]
    ) -> dict[str, tuple[tuple[str, ...], dict[str, float]]]:
        """Assigned topics (a manual decision wins over the rules) and rule scores per item."""
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

    def known_items(
        self, source: str, ids: Sequence[str], urls: Sequence[str] = ()
    ) -> dict[str, str]:
        """Content hashes of the items of `source` already stored, by id and by URL
        (a URL key maps to the hash of the item stored under that URL)."""
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids), 500):
                for item_id, chash in conn.execute(
                    select(items.c.id, items.c.content_hash).where(items.c.id.in_(chunk))
                ):
                    out[item_id] = chash
            for chunk in _chunks([u for u in urls if u], 500):
                for url, chash in conn.execute(
                    select(items.c.url, items.c.content_hash).where(
                        items.c.source == source, items.c.url.in_(chunk)
                    )
                ):
                    out[url] = chash
        return out

    def count_items(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(items)).scalar_one())

    def fetch_log(self, key: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        stmt = select(fetches).order_by(fetches.c.id.desc()).limit(limit)
        if key is not None:
            stmt = stmt.where(fetches.c.source == key)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt).all()]


def in_topics(topics: Sequence[str]) -> Any:
    """A subquery of the ids of items assigned to any of `topics`: a human decision (origin
    'manual') wins over the rules, both ways."""
    t = item_topics.alias("t")
    m = item_topics.alias("m")
    manual_exists = (
        select(m.c.item_id)
        .where(m.c.item_id == t.c.item_id, m.c.topic == t.c.topic, m.c.origin == "manual")
        .exists()
    )
    return select(t.c.item_id).where(
        t.c.topic.in_(list(topics)),
        t.c.assigned.is_(True),
        (t.c.origin == "manual") | ((t.c.origin == "rule") & ~manual_exists),
    )


def _state_only(upd: SourceUpdate) -> bool:
    """A fetch that writes only the source's state and its log row (Store._write_states)."""
    return (
        upd.outcome != "error"
        and not upd.items
        and not upd.scores
        and upd.new_url is None
        and upd.disable_reason is None
    )


def _read(upd: SourceUpdate) -> int:
    return upd.same_body_items or 0


def _chunks(seq: Sequence[str], n: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _state(r: Any) -> SourceState:
    return SourceState(
        key=r.key,
        url=r.url,
        etag=r.etag,
        last_modified=r.last_modified,
        next_check_at=r.next_check_at,
        consecutive_errors=r.consecutive_errors,
        last_success_at=r.last_success_at,
        last_error=r.last_error,
        typical_gap=r.typical_gap_seconds,
        lease_owner=r.lease_owner,
    )


def _item_values(it: Item, classifier_version: str | None) -> dict[str, Any]:
    return {
        "id": it.id,
        "source": it.source,
        "url": it.url,
        "guid": it.guid,
        "title": it.title,
        "summary": it.summary,
        "published": it.published,
        "date_source": it.date_source,
        "updated": it.updated,
        "first_seen": it.first_seen,
        "last_changed": it.first_seen,
        "author": it.author,
        "lang": it.lang,
        "content_hash": it.content_hash,
        "classifier_version": classifier_version,
    }


def _replace_id(it: Item, new_id: str) -> Item:
    if it.id == new_id:
        return it
    from dataclasses import replace

    return replace(it, id=new_id)


def _score_rows(item_id: str, scores: Iterable[TopicScore]) -> Iterator[dict[str, Any]]:
    """The rows to store of an item's rule scores: a topic the item scored nothing on, with no
    terms and not assigned, has none (`why` shows it as 0 from the configured threshold)."""
    for s in scores:
        if s.score or s.assigned or s.terms:
            yield _score_row(item_id, s)


def _score_row(item_id: str, s: TopicScore) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "topic": s.topic,
        "score": s.score,
        "threshold": s.threshold,
        "assigned": s.assigned,
        "terms": list(s.terms),
        "origin": "rule",
    }


def _item(r: Any) -> Item:
    return Item(
        id=r.id,
        source=r.source,
        url=r.url,
        title=r.title,
        summary=r.summary,
        published=r.published,
        date_source=r.date_source,
        first_seen=r.first_seen,
        updated=r.updated,
        author=r.author,
        lang=r.lang,
        guid=r.guid,
        content_hash=r.content_hash,
    )
