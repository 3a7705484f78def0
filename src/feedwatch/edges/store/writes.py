"""Writing fetches: a decided SourceUpdate (core/decide.py) applied as it is, in one
transaction per batch with a fixed number of statements; and the read of the stored items that
the decide step needs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from feedwatch.edges.store.base import chunks, wrap_exceptions
from feedwatch.edges.store.entities import EntitiesMixin
from feedwatch.edges.store.models import fetches, item_topics, items, sources
from feedwatch.edges.store.rows import aware, item_values, score_rows
from feedwatch.errors import StorageError
from feedwatch.types import FetchOutcome, Item, SourceUpdate, StoredItems


class WritesMixin(EntitiesMixin):
    """Fetches in: items, rule scores, the source's state, the fetch log."""

    @wrap_exceptions("storing a fetch")
    def apply(self, upd: SourceUpdate) -> FetchOutcome:
        """Write one fetch in one transaction: items (insert new, update changed), topic
        scores, the source's state and one fetch-log row. Nothing is half-written."""
        try:
            with self.engine.begin() as conn:
                return self._write(conn, [upd])[0]
        except SQLAlchemyError as exc:
            raise self.storage_error(f"{upd.key}: storing the fetch", exc) from exc

    @wrap_exceptions("storing fetches")
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
        self._write_connector_extras(conn, updates)  # entities, documents, cursors (#17)
        return [done[id(u)] for u in updates]

    def _write_states(self, conn: Connection, ups: Sequence[SourceUpdate]) -> list[FetchOutcome]:
        """What _write_full writes for fetches that carry no items (304s, skipped bodies): the
        source's state and its log row, with one executemany per statement shape."""
        counts = [upd.counts for upd in ups]
        self._write_sources(conn, ups, counts)
        return self._log_fetches(conn, ups, counts)

    def _write_full(self, conn: Connection, ups: Sequence[SourceUpdate]) -> list[FetchOutcome]:
        """The decided writes of `ups` (core/decide.py): new items inserted, changed ones
        rewritten, their rule scores, each source's state and its fetch-log row, with a fixed
        number of statements however many sources: one round of statements per batch."""
        if not ups:
            return []
        new_rows: list[dict[str, Any]] = []
        changed_rows: list[Item] = []
        scores: list[dict[str, Any]] = []
        rescored: set[str] = set()  # changed items whose old rule scores give way to new ones
        for upd in ups:
            if upd.writes is None:
                raise ValueError(f"{upd.key}: an update to store must be decided first")
            for w in upd.writes:
                if w.action == "new":
                    new_rows.append(item_values(w.item, upd.classifier_version))
                else:
                    changed_rows.append(w.item)
                    if w.replace_scores:
                        rescored.add(w.item.id)
                scores.extend(score_rows(w.item.id, w.scores))
        if new_rows:
            self._insert_many(conn, items, new_rows)
        if changed_rows:
            self._update_items(conn, changed_rows, {u.key: u.classifier_version for u in ups})
        self._replace_rule_scores(conn, scores, rescored)
        counts = [u.counts for u in ups]
        self._write_sources(conn, ups, counts)
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

    def _write_sources(
        self,
        conn: Connection,
        ups: Sequence[SourceUpdate],
        counts: Sequence[tuple[int, int, int]],
    ) -> None:
        """Each source's state after its fetch: the common shapes with one executemany each,
        errors, moves and disables one by one (_write_source)."""
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for upd, (new, changed, unchanged) in zip(ups, counts, strict=True):
            read = new + changed + unchanged
            if upd.outcome == "error" or upd.new_url or upd.disable_reason:
                self._write_source(conn, upd, new, read=read)
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
                if upd.typical_gap is not None:
                    row["typical_gap_seconds"] = upd.typical_gap
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
        for chunk in chunks(sorted(replaced), 500):
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
            if upd.typical_gap is not None:
                values["typical_gap_seconds"] = upd.typical_gap
        values.update(lease_owner=None, lease_until=None)
        conn.execute(update(sources).where(sources.c.key == upd.key).values(**values))

    @wrap_exceptions("reading stored items")
    def stored_items(
        self, source: str, ids: Sequence[str], urls: Sequence[str] = (), *, recent: int = 20
    ) -> StoredItems:
        """What is stored of `source`'s items with these ids or URLs (content hashes), and the
        dates of its newest items: what core/decide.py needs to decide a fetch."""
        return self.stored_items_many([(source, ids, urls)], recent=recent)[0]

    @wrap_exceptions("reading stored items")
    def stored_items_many(
        self, wanted: Sequence[tuple[str, Sequence[str], Sequence[str]]], *, recent: int = 20
    ) -> list[StoredItems]:
        """stored_items() of several (source, ids, urls) at once, with a fixed number of
        statements however many sources (per 500 ids, URLs or 200 sources)."""
        by_id: dict[str, str] = {}
        by_url: dict[tuple[str, str], tuple[str, str]] = {}
        newest: dict[str, list[tuple[str, datetime]]] = {}
        keys = sorted({key for key, _i, _u in wanted})
        all_ids = sorted({i for _k, ids, _u in wanted for i in ids})
        all_urls = sorted({u for _k, _i, urls in wanted for u in urls if u})
        when = func.coalesce(items.c.published, items.c.first_seen)
        with self.engine.connect() as conn:
            for chunk in chunks(all_ids, 500):
                for item_id, chash in conn.execute(
                    select(items.c.id, items.c.content_hash).where(items.c.id.in_(chunk))
                ):
                    by_id[item_id] = chash
            for chunk in chunks(all_urls, 500):
                for item_id, key, url, chash in conn.execute(
                    select(items.c.id, items.c.source, items.c.url, items.c.content_hash).where(
                        items.c.source.in_(keys), items.c.url.in_(chunk)
                    )
                ):
                    by_url[key, url] = (item_id, chash)
            for chunk in chunks(keys, 200):
                ranked = (
                    select(
                        items.c.source.label("source"),
                        items.c.id.label("id"),
                        when.label("at"),
                        func.row_number()
                        .over(partition_by=items.c.source, order_by=when.desc())
                        .label("rank"),
                    )
                    .where(items.c.source.in_(chunk))
                    .subquery()
                )
                for key, item_id, at in conn.execute(
                    select(ranked.c.source, ranked.c.id, ranked.c.at)
                    .where(ranked.c.rank <= recent)
                    .order_by(ranked.c.source, ranked.c.rank)
                ):
                    if at is not None:
                        newest.setdefault(key, []).append((item_id, aware(at)))
        return [
            StoredItems(
                {i: by_id[i] for i in ids if i in by_id},
                {u: by_url[key, u] for u in urls if (key, u) in by_url},
                tuple(newest.get(key, ())),
            )
            for key, ids, urls in wanted
        ]


def _state_only(upd: SourceUpdate) -> bool:
    """A fetch that writes only the source's state and its log row (Store._write_states)."""
    return (
        upd.outcome != "error"
        and not upd.writes
        and (upd.writes is not None or not upd.items)
        and upd.new_url is None
        and upd.disable_reason is None
    )
