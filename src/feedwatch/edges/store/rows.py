"""Rows <-> records: how the store's tables map onto feedwatch's values."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from feedwatch.types import DigestRecord, Item, SourceReport, SourceState, TopicScore

__all__ = [
    "aware",
    "item_from_row",
    "item_values",
    "read_datetime",
    "report_from_row",
    "score_row",
    "score_rows",
    "state_from_row",
]


def aware(value: datetime) -> datetime:
    """A datetime as stored (SQLite gives it back naive, in UTC) made aware."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def read_datetime(value: Any) -> datetime:
    """A date computed by SQL (coalesce, min, max, a UNION: no column type to convert it), as
    an aware UTC datetime: SQLite gives the stored text or a naive UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return aware(value)


def state_from_row(r: Any) -> SourceState:
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


def item_values(it: Item, classifier_version: str | None) -> dict[str, Any]:
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


def score_rows(item_id: str, scores: Iterable[TopicScore]) -> Iterator[dict[str, Any]]:
    """The rows to store of an item's rule scores: a topic the item scored nothing on, with no
    terms and not assigned, has none (`why` shows it as 0 from the configured threshold)."""
    for s in scores:
        if s.score or s.assigned or s.terms:
            yield score_row(item_id, s)


def score_row(item_id: str, s: TopicScore) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "topic": s.topic,
        "score": s.score,
        "threshold": s.threshold,
        "assigned": s.assigned,
        "terms": list(s.terms),
        "origin": "rule",
    }


def item_from_row(r: Any) -> Item:
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


def report_from_row(r: Any) -> SourceReport:
    return SourceReport(
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


def digest_from_row(r: Any) -> DigestRecord:
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
