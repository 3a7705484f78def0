"""The database side of digests: digest records (pending -> sent) with their item lists, the
items first seen in a digest's window, and the facts behind the source-health section."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from feedwatch.core.digest import SourceFacts
from feedwatch.edges.store.base import wrap_exceptions
from feedwatch.edges.store.claims import DEFAULT_LEASE, ClaimsMixin
from feedwatch.edges.store.items import ItemsMixin
from feedwatch.edges.store.models import digest_items, digests, fetches, items, sources
from feedwatch.edges.store.rows import aware, digest_from_row
from feedwatch.errors import StorageError
from feedwatch.types import DigestRecord, DigestStatus, ItemQuery, ItemRow

__all__ = [
    "DigestRecord",
    "create_digest",
    "digest_rows",
    "get_digest",
    "last_digests",
    "mark_sent",
    "new_items",
    "pending_digests",
    "record_failure",
    "source_facts",
    "window",
]


class DigestsMixin(ClaimsMixin, ItemsMixin):
    """Digests: records, their items and delivery claims, and the facts of source health."""

    @wrap_exceptions("reading the digest")
    def get_digest(self, profile: str, period: str) -> DigestRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(digests).where(digests.c.profile == profile, digests.c.period == period)
            ).first()
        return digest_from_row(row) if row is not None else None

    @wrap_exceptions("reading pending digests")
    def pending_digests(self, profile: str) -> list[DigestRecord]:
        """A profile's digests not yet delivered, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(digests)
                .where(digests.c.profile == profile, digests.c.status == "pending")
                .order_by(digests.c.period)
            ).all()
        return [digest_from_row(r) for r in rows]

    @wrap_exceptions("reading the last digests")
    def last_digests(self) -> dict[str, DigestRecord]:
        """The newest digest of every profile (for `feedwatch status`)."""
        newest = (
            select(digests.c.profile, func.max(digests.c.period).label("period"))
            .group_by(digests.c.profile)
            .subquery()
        )
        stmt = select(digests).join(
            newest, and_(digests.c.profile == newest.c.profile, digests.c.period == newest.c.period)
        )
        with self.engine.connect() as conn:
            return {r.profile: digest_from_row(r) for r in conn.execute(stmt).all()}

    @wrap_exceptions("reading the digest window")
    def digest_window(
        self, profile: str, period: str, start: datetime, end: datetime, now: datetime
    ) -> tuple[datetime, datetime]:
        """[since, until) of a new digest for `period`: from where the previous digest of the profile
        stopped (or the start of the day when there is none) to the end of the day, `now`, or the
        start of a later digest, whichever comes first. Windows never overlap and leave no gaps."""
        with self.engine.connect() as conn:
            before = conn.execute(
                select(func.max(digests.c.until)).where(
                    digests.c.profile == profile, digests.c.period < period
                )
            ).scalar()
            after = conn.execute(
                select(func.min(digests.c.since)).where(
                    digests.c.profile == profile, digests.c.period > period
                )
            ).scalar()
        since = aware(before) if before is not None else start
        until = min(end, now)
        if after is not None:
            until = min(until, aware(after))
        return since, max(since, until)

    @wrap_exceptions("reading the digest's items")
    def new_items(
        self,
        since: datetime,
        until: datetime,
        topics: Sequence[str] = (),
        source_keys: Sequence[str] = (),
    ) -> list[ItemRow]:
        """Items first seen in [since, until), of the given sources, with one of the given topics
        (no topics: every item), newest first."""
        stmt = select(items.c.id).where(items.c.first_seen >= since, items.c.first_seen < until)
        if source_keys:
            stmt = stmt.where(items.c.source.in_(list(source_keys)))
        with self.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(stmt)]
        rows = self._rows_by_id(ids)
        if topics:
            wanted = set(topics)
            rows = [r for r in rows if wanted.intersection(r.topics)]
        return rows

    def _rows_by_id(self, ids: Sequence[str]) -> list[ItemRow]:
        out: list[ItemRow] = []
        for i in range(0, len(ids), 500):
            out.extend(self.iter_items(ItemQuery(ids=tuple(ids[i : i + 500]))))

        def newest(r: ItemRow) -> tuple[float, str]:
            return (-(r.item.published or r.item.first_seen).timestamp(), r.item.id)

        return sorted(out, key=newest)

    @wrap_exceptions("storing the digest")
    def create_digest(
        self,
        *,
        profile: str,
        period: str,
        since: datetime,
        until: datetime,
        item_ids: Iterable[str],
        health: Sequence[dict[str, Any]],
        now: datetime,
        status: DigestStatus = "pending",
    ) -> DigestRecord:
        """Store a new digest with its item list in one transaction. When the (profile, period)
        digest exists already (another run got there first), that one is returned unchanged."""
        ids = sorted(set(item_ids))
        try:
            with self.engine.begin() as conn:
                digest_id = conn.execute(
                    insert(digests)
                    .values(
                        profile=profile,
                        period=period,
                        since=since,
                        until=until,
                        status=status,
                        created_at=now,
                        attempts=0,
                        item_count=len(ids),
                        health=list(health),
                    )
                    .returning(digests.c.id)
                ).scalar_one()
                if ids:
                    conn.execute(
                        insert(digest_items), [{"digest_id": digest_id, "item_id": i} for i in ids]
                    )
        except IntegrityError:
            existing = self.get_digest(profile, period)
            if existing is None:
                raise StorageError(f"digest {profile} {period}: could not be stored") from None
            return existing
        except SQLAlchemyError as exc:
            raise self.storage_error(f"storing the digest {profile} {period}", exc) from exc
        record = self.get_digest(profile, period)
        assert record is not None
        return record

    @wrap_exceptions("reading the digest's items")
    def digest_rows(self, record: DigestRecord) -> list[ItemRow]:
        """The stored item list of a digest, newest first (items deleted since are left out)."""
        with self.engine.connect() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    select(digest_items.c.item_id).where(digest_items.c.digest_id == record.id)
                )
            ]
        return self._rows_by_id(ids)

    @wrap_exceptions("claiming the digest's delivery")
    def claim_delivery(
        self,
        digest_id: int,
        owner: str | None,
        now: datetime,
        lease: timedelta = DEFAULT_LEASE,
    ) -> bool:
        """Take the right to deliver a pending digest (claims.py): only one holder gets it
        until it is marked sent or its failure recorded; a holder that died loses it at once
        (the lease is the last resort). `owner`: the holder id (None: this process's)."""

        def pending() -> bool:
            with self.engine.connect() as conn:
                status = conn.execute(
                    select(digests.c.status).where(digests.c.id == digest_id)
                ).scalar()
            return status == "pending"

        if not pending() or not self.claim(
            "digest", str(digest_id), now, lease=lease, holder=owner
        ):
            return False
        if pending():  # still: not delivered by a holder that gave the claim back meanwhile
            return True
        self.release_claim("digest", str(digest_id), owner)
        return False

    @wrap_exceptions("marking the digest sent")
    def mark_sent(self, digest_id: int, now: datetime, message_id: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(digests)
                .where(digests.c.id == digest_id)
                .values(
                    status="sent",
                    sent_at=now,
                    attempts=digests.c.attempts + 1,
                    last_error=None,
                    message_id=message_id,
                    claimed_by=None,
                    claimed_until=None,
                )
            )
            self._release(conn, "digest", str(digest_id), None)  # with the mark: one commit

    @wrap_exceptions("recording the delivery failure")
    def record_failure(self, digest_id: int, error: str) -> None:
        """A failed delivery: the digest stays as it was (pending) with the error noted."""
        with self.engine.begin() as conn:
            conn.execute(
                update(digests)
                .where(digests.c.id == digest_id)
                .values(
                    attempts=digests.c.attempts + 1,
                    last_error=error[:2000],
                    claimed_by=None,
                    claimed_until=None,
                )
            )
            self._release(conn, "digest", str(digest_id), None)

    @wrap_exceptions("reading the sources' health")
    def source_facts(
        self,
        since: datetime,
        until: datetime,
        keys: Sequence[str] = (),
        history: int = 20,
    ) -> list[SourceFacts]:
        """Per source: failed fetches in [since, until), the current failing streak, recent item
        dates, and (for HTML sources) the items read by recent successful fetches."""
        stmt = select(sources)
        if keys:
            stmt = stmt.where(sources.c.key.in_(list(keys)))
        when = func.coalesce(items.c.published, items.c.first_seen)
        out: list[SourceFacts] = []
        with self.engine.connect() as conn:
            for s in conn.execute(stmt.order_by(sources.c.key)).all():
                errors = conn.execute(
                    select(fetches.c.started_at, fetches.c.error, fetches.c.error_kind)
                    .where(
                        fetches.c.source == s.key,
                        fetches.c.outcome == "error",
                        fetches.c.started_at >= since,
                        fetches.c.started_at < until,
                    )
                    .order_by(fetches.c.id.desc())
                ).all()
                last_kind = errors[0].error_kind if errors else None
                first_failure = None
                if s.consecutive_errors:
                    streak = conn.execute(
                        select(fetches.c.started_at, fetches.c.error_kind)
                        .where(fetches.c.source == s.key, fetches.c.outcome == "error")
                        .order_by(fetches.c.id.desc())
                        .limit(int(s.consecutive_errors))
                    ).all()
                    if streak:
                        last_kind = streak[0].error_kind
                        first_failure = streak[-1].started_at
                dates = conn.execute(
                    select(when).where(items.c.source == s.key).order_by(when.desc()).limit(history)
                ).scalars()
                reads: list[int] = []
                if s.kind == "html":
                    reads = [
                        int(r.new + r.updated + r.unchanged)
                        for r in conn.execute(
                            select(fetches.c.new, fetches.c.updated, fetches.c.unchanged)
                            .where(fetches.c.source == s.key, fetches.c.outcome == "ok")
                            .order_by(fetches.c.id.desc())
                            .limit(5)
                        )
                    ]
                out.append(
                    SourceFacts(
                        key=s.key,
                        name=s.name or s.key,
                        kind=s.kind,
                        enabled=bool(s.enabled),
                        errors=tuple((r.started_at, r.error, r.error_kind) for r in errors),
                        consecutive_errors=int(s.consecutive_errors),
                        last_error=s.last_error,
                        last_error_kind=last_kind,
                        first_failure_at=first_failure,
                        item_dates=tuple(aware(d) for d in dates),
                        last_new_item_at=s.last_new_item_at,
                        reads=tuple(reads),
                    )
                )
        return out


# The functions of before the mixin (store first), for callers not moved yet.
get_digest = DigestsMixin.get_digest
pending_digests = DigestsMixin.pending_digests
last_digests = DigestsMixin.last_digests
window = DigestsMixin.digest_window
new_items = DigestsMixin.new_items
create_digest = DigestsMixin.create_digest
digest_rows = DigestsMixin.digest_rows
claim_delivery = DigestsMixin.claim_delivery
mark_sent = DigestsMixin.mark_sent
record_failure = DigestsMixin.record_failure
source_facts = DigestsMixin.source_facts
