"""The database side of monitor deliveries: messages (pending -> sent) per channel, built from
monitor matches once per (channel, monitor, item), and the claim that lets one sender at a time
deliver one message, a claim that a dead holder cannot keep.

The claim: on PostgreSQL a session-level advisory lock on the delivery, held by the sender's
own connection while it sends; the server drops it the moment that session ends (a killed
process included). On SQLite (one machine) the row records `host:pid:token` and a lease; a
claim whose process is gone on this host, or whose lease ran out, is free at once.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from feedwatch.edges.store.models import (
    deliveries,
    delivery_items,
    monitor_matches,
    monitor_state,
)
from feedwatch.errors import StorageError

__all__ = [
    "DeliveryRecord",
    "backoff",
    "claim",
    "create_delivery",
    "delivery_items_of",
    "mark_sent",
    "monitor_overview",
    "owner_id",
    "pending_deliveries",
    "record_failure",
    "set_last_run",
]

CLAIM_LEASE = timedelta(minutes=5)  # SQLite: a claim of a process on another host lasts this long
_LOCK_BASE = 0x6677 << 48  # PostgreSQL advisory lock keys of deliveries: base + id
MAX_BACKOFF = timedelta(hours=6)


def owner_id() -> str:
    """host:pid:token of this process (what a SQLite claim records)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def backoff(attempts: int) -> timedelta:
    """The wait before the next try after `attempts` failed ones: 1, 2, 4, ... minutes, at
    most six hours; a failed delivery is retried for ever, never dropped."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: int
    channel: str
    monitors: tuple[str, ...]
    status: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    sent_at: datetime | None


def _record(r: Any) -> DeliveryRecord:
    return DeliveryRecord(
        id=int(r.id),
        channel=r.channel,
        monitors=tuple(r.monitors or ()),
        status=r.status,
        created_at=r.created_at,
        attempts=int(r.attempts),
        next_attempt_at=r.next_attempt_at,
        last_error=r.last_error,
        sent_at=r.sent_at,
    )


def _insert_ignore(conn: Connection, table: Any) -> Any:
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(
        table
    ).on_conflict_do_nothing()


def create_delivery(
    engine: Engine, channel: str, monitors: Sequence[str], now: datetime
) -> DeliveryRecord | None:
    """A new pending message to `channel` with every match of `monitors` not yet given to it;
    None when there is none. The unique (channel, monitor, item) key makes two workers that
    race here split the matches, never double them."""
    pending = (
        select(monitor_matches.c.monitor, monitor_matches.c.item_id)
        .where(monitor_matches.c.monitor.in_(list(monitors)))
        .where(
            ~exists().where(
                delivery_items.c.channel == channel,
                delivery_items.c.monitor == monitor_matches.c.monitor,
                delivery_items.c.item_id == monitor_matches.c.item_id,
            )
        )
    )
    try:
        with engine.begin() as conn:
            pairs = conn.execute(pending).all()
            if not pairs:
                return None
            named = sorted({m for m, _i in pairs})
            delivery_id = conn.execute(
                insert(deliveries)
                .values(
                    channel=channel,
                    monitors=named,
                    status="pending",
                    created_at=now,
                    attempts=0,
                    next_attempt_at=now,
                )
                .returning(deliveries.c.id)
            ).scalar_one()
            conn.execute(
                _insert_ignore(conn, delivery_items),
                [
                    {"delivery_id": delivery_id, "channel": channel, "monitor": m, "item_id": i}
                    for m, i in pairs
                ],
            )
            # (a count, not rowcount: drivers need not report it for executemany)
            added = conn.execute(
                select(func.count())
                .select_from(delivery_items)
                .where(delivery_items.c.delivery_id == delivery_id)
            ).scalar_one()
            if not added:
                conn.execute(delete(deliveries).where(deliveries.c.id == delivery_id))
                return None
            if added < len(pairs):  # another worker took some: name only the monitors kept
                kept = conn.execute(
                    select(delivery_items.c.monitor)
                    .where(delivery_items.c.delivery_id == delivery_id)
                    .distinct()
                ).scalars()
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id == delivery_id)
                    .values(monitors=sorted(kept))
                )
            row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).one()
    except SQLAlchemyError as exc:
        raise StorageError(f"could not create a delivery to {channel}: {exc}") from exc
    return _record(row)


def pending_deliveries(
    engine: Engine, now: datetime | None = None, channels: Sequence[str] | None = None
) -> list[DeliveryRecord]:
    """Pending messages, oldest first; with `now`, only those whose next try has come."""
    stmt = select(deliveries).where(deliveries.c.status == "pending").order_by(deliveries.c.id)
    if now is not None:
        stmt = stmt.where(
            (deliveries.c.next_attempt_at.is_(None)) | (deliveries.c.next_attempt_at <= now)
        )
    if channels is not None:
        stmt = stmt.where(deliveries.c.channel.in_(list(channels)))
    with engine.connect() as conn:
        return [_record(r) for r in conn.execute(stmt).all()]


def delivery_items_of(engine: Engine, delivery_id: int) -> dict[str, list[str]]:
    """item id -> the monitors it is in this message for."""
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for monitor, item_id in conn.execute(
            select(delivery_items.c.monitor, delivery_items.c.item_id)
            .where(delivery_items.c.delivery_id == delivery_id)
            .order_by(delivery_items.c.item_id, delivery_items.c.monitor)
        ):
            out.setdefault(item_id, []).append(monitor)
    return out


def get_delivery(engine: Engine, delivery_id: int) -> DeliveryRecord | None:
    with engine.connect() as conn:
        row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
    return _record(row) if row is not None else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _holder_gone(claimed_by: str | None) -> bool:
    """Whether the recorded holder is a process of this host that no longer runs."""
    if not claimed_by:
        return True
    host, _, rest = claimed_by.partition(":")
    pid = rest.partition(":")[0]
    return host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid))


@contextmanager
def claim(engine: Engine, delivery_id: int, owner: str, now: datetime) -> Iterator[bool]:
    """Hold the right to send one pending delivery for the `with` block; yields False when
    another live sender has it or it is no longer pending."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            key = _LOCK_BASE + delivery_id
            got = bool(conn.execute(select(func.pg_try_advisory_lock(key))).scalar())
            conn.commit()
            try:
                record = get_delivery(engine, delivery_id) if got else None
                yield got and record is not None and record.status == "pending"
            finally:
                if got:
                    conn.execute(select(func.pg_advisory_unlock(key)))
                    conn.commit()
        return
    with engine.begin() as conn:
        row = conn.execute(
            select(deliveries.c.status, deliveries.c.claimed_by, deliveries.c.claimed_until).where(
                deliveries.c.id == delivery_id
            )
        ).first()
        free = (
            row is not None
            and row.status == "pending"
            and (
                row.claimed_by is None
                or (row.claimed_until is not None and row.claimed_until < now)
                or _holder_gone(row.claimed_by)
            )
        )
        got = False
        if free:
            assert row is not None
            same = (
                deliveries.c.claimed_by.is_(None)
                if row.claimed_by is None
                else deliveries.c.claimed_by == row.claimed_by
            )
            got = bool(
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id == delivery_id, deliveries.c.status == "pending", same)
                    .values(claimed_by=owner, claimed_until=now + CLAIM_LEASE)
                ).rowcount
            )
    try:
        yield got
    finally:
        if got:
            with engine.begin() as conn:
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id == delivery_id, deliveries.c.claimed_by == owner)
                    .values(claimed_by=None, claimed_until=None)
                )


def mark_sent(engine: Engine, delivery: DeliveryRecord, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery.id)
            .values(status="sent", sent_at=now, attempts=deliveries.c.attempts + 1, last_error=None)
        )
        conn.execute(
            update(monitor_state)
            .where(monitor_state.c.monitor.in_(list(delivery.monitors)))
            .values(last_delivery_at=now)
        )


def record_failure(engine: Engine, delivery: DeliveryRecord, error: str, now: datetime) -> None:
    """A failed try: the delivery stays pending, tried again after a growing wait."""
    attempts = delivery.attempts + 1
    with engine.begin() as conn:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery.id)
            .values(
                attempts=attempts, last_error=error[:2000], next_attempt_at=now + backoff(attempts)
            )
        )


def set_last_run(engine: Engine, names: Sequence[str], now: datetime) -> None:
    """Scheduled monitors that ran (were due and had their messages made) at `now`."""
    if not names:
        return
    with engine.begin() as conn:
        conn.execute(
            update(monitor_state)
            .where(monitor_state.c.monitor.in_(list(names)))
            .values(last_run_at=now)
        )


@dataclass(frozen=True, slots=True)
class MonitorOverview:
    name: str
    created_at: datetime | None
    last_run_at: datetime | None
    last_delivery_at: datetime | None
    matches: int
    undelivered: int  # matches in no message yet, or in a message still pending


def monitor_overview(engine: Engine, names: Sequence[str]) -> dict[str, MonitorOverview]:
    """Per monitor: its clock, how many matches, how many not delivered yet (on any channel)."""
    # probed per match by (monitor, item_id) (index of migration 0009), then the delivery's
    # status: a derived table of every sent item let SQLite walk all sent deliveries per match
    sent = (
        select(delivery_items.c.item_id)
        .join(deliveries, deliveries.c.id == delivery_items.c.delivery_id)
        .where(
            delivery_items.c.monitor == monitor_matches.c.monitor,
            delivery_items.c.item_id == monitor_matches.c.item_id,
            deliveries.c.status == "sent",
        )
        .exists()
    )
    with engine.connect() as conn:
        states = {r.monitor: r for r in conn.execute(select(monitor_state)).all()}
        totals: dict[str, int] = dict(
            conn.execute(
                select(monitor_matches.c.monitor, func.count()).group_by(monitor_matches.c.monitor)
            ).all()
        )
        undelivered: dict[str, int] = dict(
            conn.execute(
                select(monitor_matches.c.monitor, func.count())
                .where(~sent)
                .group_by(monitor_matches.c.monitor)
            ).all()
        )
    out: dict[str, MonitorOverview] = {}
    for name in names:
        st = states.get(name)
        out[name] = MonitorOverview(
            name=name,
            created_at=st.created_at if st is not None else None,
            last_run_at=st.last_run_at if st is not None else None,
            last_delivery_at=st.last_delivery_at if st is not None else None,
            matches=int(totals.get(name, 0)),
            undelivered=int(undelivered.get(name, 0)),
        )
    return out
