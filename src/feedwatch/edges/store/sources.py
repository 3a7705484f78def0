"""Sources in the store: the mirror of the config, what is due, leases, the daemon's
workers, upkeep and the per-source report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from feedwatch.edges.store.base import chunks, wrap_exceptions
from feedwatch.edges.store.claims import ClaimsMixin
from feedwatch.edges.store.models import fetches, items, sources, workers
from feedwatch.edges.store.rows import report_from_row, state_from_row
from feedwatch.types import Source, SourceReport, SourceState


class SourcesMixin(ClaimsMixin):
    """The sources table (and workers, fetch-log upkeep)."""

    @wrap_exceptions("mirroring the configured sources")
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

    @wrap_exceptions("reading the sources' state")
    def source_states(self, keys: Iterable[str] | None = None) -> dict[str, SourceState]:
        stmt = select(sources)
        if keys is not None:
            stmt = stmt.where(sources.c.key.in_(list(keys)))
        with self.engine.connect() as conn:
            return {r.key: state_from_row(r) for r in conn.execute(stmt).all()}

    @wrap_exceptions("reading the sources' last bodies")
    def body_hashes(self, keys: Iterable[str]) -> dict[str, tuple[str, int]]:
        """(digest, items read) of the last body read in full, per source that has one."""
        out: dict[str, tuple[str, int]] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(keys), 500):
                stmt = select(sources.c.key, sources.c.body_hash, sources.c.body_items).where(
                    sources.c.key.in_(chunk), sources.c.body_hash.is_not(None)
                )
                for key, digest, n in conn.execute(stmt):
                    out[key] = (digest, n or 0)
        return out

    @wrap_exceptions("reading the due sources")
    def due_sources(self, now: datetime, keys: Iterable[str] | None = None) -> list[SourceState]:
        stmt = select(sources).where(
            sources.c.enabled.is_(True),
            (sources.c.next_check_at.is_(None)) | (sources.c.next_check_at <= now),
        )
        if keys is not None:
            stmt = stmt.where(sources.c.key.in_(list(keys)))
        stmt = stmt.order_by(sources.c.next_check_at.is_not(None), sources.c.next_check_at)
        with self.engine.connect() as conn:
            return [state_from_row(r) for r in conn.execute(stmt).all()]

    @wrap_exceptions("counting the due sources")
    def count_due(self, now: datetime, keys: Iterable[str]) -> int:
        """How many of `keys` (distinct) a pass would fetch now: due, or not stored yet."""
        wanted = list(keys)
        stored = due = 0
        with self.engine.connect() as conn:
            for chunk in chunks(wanted, 500):
                stmt = select(sources.c.next_check_at, sources.c.enabled)
                for at, enabled in conn.execute(stmt.where(sources.c.key.in_(chunk))):
                    stored += 1
                    due += bool(enabled) and (at is None or at <= now)
        return due + len(wanted) - stored

    @wrap_exceptions("claiming due sources")
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
        self.register_holder(owner)
        with self.engine.connect() as conn:  # leases whose holder died are free at once
            held = conn.execute(
                select(sources.c.lease_owner)
                .where(sources.c.lease_until >= now, sources.c.lease_owner != owner)
                .distinct()
            ).scalars()
            dead = sorted(self._dead(conn, [h for h in held if h]))
        free = (sources.c.lease_until.is_(None)) | (sources.c.lease_until < now)
        if dead:
            free = free | sources.c.lease_owner.in_(dead)
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
        with self.engine.begin() as conn:
            if True:
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
        return sorted(
            (state_from_row(r) for r in rows),
            key=lambda st: (st.next_check_at is not None, st.next_check_at or now, st.key),
        )

    @wrap_exceptions("releasing source leases")
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

    @wrap_exceptions("counting failing sources")
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

    @wrap_exceptions("reading the next check")
    def next_due_at(self) -> datetime | None:
        """The earliest next check of an enabled source (None: nothing scheduled)."""
        with self.engine.connect() as conn:
            value: datetime | None = conn.execute(
                select(func.min(sources.c.next_check_at)).where(sources.c.enabled.is_(True))
            ).scalar()
        return value

    # ----------------------------------------------------------------- workers

    @wrap_exceptions("recording the worker's heartbeat")
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

    @wrap_exceptions("recording the worker's stop")
    def worker_stopped(self, worker_id: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(workers).where(workers.c.id == worker_id).values(stopped_at=now))

    @wrap_exceptions("reading the workers")
    def worker_rows(self, limit: int = 20) -> list[dict[str, Any]]:
        stmt = select(workers).order_by(workers.c.heartbeat_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt).all()]

    @wrap_exceptions("pruning the fetch log")
    def prune_fetch_log(self, before: datetime) -> int:
        """Delete fetch-log rows older than `before`; returns how many."""
        with self.engine.begin() as conn:
            return int(conn.execute(fetches.delete().where(fetches.c.started_at < before)).rowcount)

    @wrap_exceptions("optimizing the database")
    def optimize(self) -> None:
        """Routine upkeep: SQLite's PRAGMA optimize and a WAL checkpoint; ANALYZE on PostgreSQL."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn.exec_driver_sql("PRAGMA optimize")
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            elif self.dialect == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
            conn.commit()

    @wrap_exceptions("reading the sources")
    def source_reports(self) -> list[SourceReport]:
        counts = select(items.c.source, func.count().label("n")).group_by(items.c.source).subquery()
        stmt = (
            select(sources, func.coalesce(counts.c.n, 0).label("item_count"))
            .select_from(sources.outerjoin(counts, counts.c.source == sources.c.key))
            .order_by(sources.c.key)
        )
        with self.engine.connect() as conn:
            return [report_from_row(r) for r in conn.execute(stmt).all()]
