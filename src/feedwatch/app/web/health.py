"""Which sources need attention, in the words of the digest's source-health section.

The facts are gathered only for the sources that can need attention (failing, long without a
new item, an HTML page that read nothing), so that a thousand healthy sources cost one query;
HealthFacts keeps them for half a minute and gathers them again in the background.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from feedwatch.app.web.kept import Kept
from feedwatch.core.digest import QUIET_MINIMUM, HealthNote, SourceFacts, assess_health
from feedwatch.edges.store import Store
from feedwatch.edges.store.views import SourceView


def health_notes(
    store: Store, views: Sequence[SourceView], now: datetime, lang: str
) -> dict[str, HealthNote]:
    """The health note of each source that has one (failing, empty, quiet), by key."""
    return notes_of(gather_facts(store, views, now), now, lang)


def notes_of(facts: Sequence[SourceFacts], now: datetime, lang: str) -> dict[str, HealthNote]:
    notes = assess_health(facts, since=now - timedelta(days=1), now=now, lang=lang)
    return {n.source: n for n in notes}


def gather_facts(store: Store, views: Sequence[SourceView], now: datetime) -> list[SourceFacts]:
    """SourceFacts of the sources that may need attention."""
    quiet = [
        s.key
        for s in views
        if s.enabled
        and not s.consecutive_errors
        and (s.last_new_item_at is None or now - s.last_new_item_at > QUIET_MINIMUM)
    ]
    newest = store.recent_dates_of(quiet) if quiet else {}
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
            dates = tuple(newest.get(s.key, ()))
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
    return facts


class HealthFacts:
    """The facts of every source, gathered at most every `ttl` seconds; a stale copy is
    served while a fresh one is gathered in the background."""

    def __init__(
        self, store: Store, *, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._kept: Kept[None, list[SourceFacts]] = Kept(
            self._gather, ttl=ttl, what="the sources' health", clock=clock
        )

    def close(self) -> None:
        self._kept.close()

    def _gather(self, _key: None) -> list[SourceFacts]:
        return gather_facts(self._store, self._store.source_views(), datetime.now(UTC))

    def facts(self) -> list[SourceFacts]:
        return self._kept.get(None)

    def notes(self, now: datetime, lang: str, keys: Sequence[str] = ()) -> dict[str, HealthNote]:
        facts = self.facts()
        if keys:
            facts = [f for f in facts if f.key in keys]
        return notes_of(facts, now, lang)
