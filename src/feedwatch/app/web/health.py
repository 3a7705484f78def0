"""Which sources need attention, in the words of the digest's source-health section.

The facts are gathered only for the sources that can need attention (failing, long without a
new item, an HTML page that read nothing), so that a thousand healthy sources cost one query.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from feedwatch.core.digest import QUIET_MINIMUM, HealthNote, SourceFacts, assess_health
from feedwatch.edges.store import Store
from feedwatch.edges.store.views import SourceView


def health_notes(
    store: Store, views: Sequence[SourceView], now: datetime, lang: str
) -> dict[str, HealthNote]:
    """The health note of each source that has one (failing, empty, quiet), by key."""
    facts = []
    for s in views:
        if not s.enabled:
            continue
        if s.consecutive_errors:
            streak = store.failing_streak(s.key, s.consecutive_errors)
            facts.append(
                SourceFacts(
                    key=s.key,
                    name=s.name,
                    kind=s.kind,
                    consecutive_errors=s.consecutive_errors,
                    last_error=s.last_error,
                    last_error_kind=streak[0][2] if streak else None,
                    first_failure_at=streak[-1][0] if streak else s.last_error_at,
                )
            )
            continue
        reads: tuple[int, ...] = ()
        if s.kind == "html" and s.body_items == 0:
            reads = tuple(store.recent_reads(s.key))
        dates: tuple[datetime, ...] = ()
        if s.last_new_item_at is None or now - s.last_new_item_at > QUIET_MINIMUM:
            dates = tuple(store.recent_dates(s.key))
        if reads or dates:
            facts.append(
                SourceFacts(
                    key=s.key,
                    name=s.name,
                    kind=s.kind,
                    item_dates=dates,
                    last_new_item_at=s.last_new_item_at,
                    reads=reads,
                )
            )
    notes = assess_health(facts, since=now - timedelta(days=1), now=now, lang=lang)
    return {n.source: n for n in notes}
