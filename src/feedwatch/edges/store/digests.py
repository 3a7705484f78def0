"""The database side of digests: digest records (pending -> sent) with their item lists, the
items first seen in a digest's window, and the facts behind the source-health section."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from feedwatch.core.digest import SourceFacts
from feedwatch.edges.store import ItemQuery, ItemRow, Store
from feedwatch.edges.store.models import digest_items, digests, fetches, items, sources
from feedwatch.errors import StorageError
from feedwatch.types import DigestStatus

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


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """One stored digest: a profile's day, its window, its state and its frozen health notes."""

    id: int
    profile: str
    period: str  # YYYY-MM-DD
    since: datetime
    until: datetime
    status: DigestStatus
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    item_count: int
    health: tuple[dict[str, Any], ...]
    message_id: str | None


def _record(r: Any) -> DigestRecord:
    return DigestRecord(
        id=int(r.id),
        profile=r.profile,
        period=r.period,
        since=r.since,
        until=r.until,
        status=r.status,
        created_at=r.created_at,
        sent_at=r.sent_at,
        attempts=int(r.attempts),
        last_error=r.last_error,
        item_count=int(r.item_count),
        health=tuple(r.health or ()),
        message_id=r.message_id,
    )


def get_digest(store: Store, profile: str, period: str) -> DigestRecord | None:
    with store.engine.connect() as conn:
        row = conn.execute(
            select(digests).where(digests.c.profile == profile, digests.c.period == period)
        ).first()
    return _record(row) if row is not None else None


def pending_digests(store: Store, profile: str) -> list[DigestRecord]:
    """A profile's digests not yet delivered, oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(digests)
            .where(digests.c.profile == profile, digests.c.status == "pending")
            .order_by(digests.c.period)
        ).all()
    return [_record(r) for r in rows]


def last_digests(store: Store) -> dict[str, DigestRecord]:
    """The newest digest of every profile (for `feedwatch status`)."""
    newest = (
        select(digests.c.profile, func.max(digests.c.period).label("period"))
        .group_by(digests.c.profile)
        .subquery()
    )
    stmt = select(digests).join(
        newest, and_(digests.c.profile == newest.c.profile, digests.c.period == newest.c.period)
    )
    with store.engine.connect() as conn:
        return {r.profile: _record(r) for r in conn.execute(stmt).all()}


def window(
    store: Store, profile: str, period: str, start: datetime, end: datetime, now: datetime
) -> tuple[datetime, datetime]:
    """[since, until) of a new digest for `period`: from where the previous digest of the profile
    stopped (or the start of the day when there is none) to the end of the day, `now`, or the
    start of a later digest, whichever comes first. Windows never overlap and leave no gaps."""
    with store.engine.connect() as conn:
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
    since = _aware(before) if before is not None else start
    until = min(end, now)
    if after is not None:
        until = min(until, _aware(after))
    return since, max(since, until)


def _aware(value: Any) -> datetime:
    from datetime import UTC

    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def new_items(
    store: Store,
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
    with store.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(stmt)]
    rows = _rows_by_id(store, ids)
    if topics:
        wanted = set(topics)
        rows = [r for r in rows if wanted.intersection(r.topics)]
    return rows


def _rows_by_id(store: Store, ids: Sequence[str]) -> list[ItemRow]:
    out: list[ItemRow] = []
    for i in range(0, len(ids), 500):
        out.extend(store.iter_items(ItemQuery(ids=tuple(ids[i : i + 500]))))

    def newest(r: ItemRow) -> tuple[float, str]:
        return (-(r.item.published or r.item.first_seen).timestamp(), r.item.id)

    return sorted(out, key=newest)


def create_digest(
    store: Store,
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
        with store.engine.begin() as conn:
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
        existing = get_digest(store, profile, period)
        if existing is None:
            raise StorageError(f"digest {profile} {period}: could not be stored") from None
        return existing
    except SQLAlchemyError as exc:
        raise StorageError(f"digest {profile} {period}: could not be stored: {exc}") from exc
    record = get_digest(store, profile, period)
    assert record is not None
    return record


def digest_rows(store: Store, record: DigestRecord) -> list[ItemRow]:
    """The stored item list of a digest, newest first (items deleted since are left out)."""
    with store.engine.connect() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                select(digest_items.c.item_id).where(digest_items.c.digest_id == record.id)
            )
        ]
    return _rows_by_id(store, ids)


def claim_delivery(
    store: Store,
    digest_id: int,
    owner: str,
    now: datetime,
    lease: timedelta = timedelta(minutes=10),
) -> bool:
    """Take the right to deliver a pending digest. Only one caller gets it until it is marked
    sent, its failure recorded, or the lease expires (a worker that died mid-send)."""
    free = or_(digests.c.claimed_until.is_(None), digests.c.claimed_until < now)
    with store.engine.begin() as conn:
        got = conn.execute(
            update(digests)
            .where(digests.c.id == digest_id, digests.c.status == "pending", free)
            .values(claimed_by=owner, claimed_until=now + lease)
        ).rowcount
    return bool(got)


def mark_sent(store: Store, digest_id: int, now: datetime, message_id: str | None = None) -> None:
    with store.engine.begin() as conn:
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


def record_failure(store: Store, digest_id: int, error: str) -> None:
    """A failed delivery: the digest stays as it was (pending) with the error noted."""
    with store.engine.begin() as conn:
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


def source_facts(
    store: Store,
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
    with store.engine.connect() as conn:
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
                    item_dates=tuple(_aware(d) for d in dates),
                    last_new_item_at=s.last_new_item_at,
                    reads=tuple(reads),
                )
            )
    return out
