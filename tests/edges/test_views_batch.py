"""recent_dates_of (the health facts of many sources in one statement) gives what
recent_dates gives source by source, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from builders import put

from feedwatch.edges.store import ItemRow, Store
from feedwatch.types import Item

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_many_sources_at_once_are_each_source_alone(store: Store) -> None:
    rows = []
    for i in range(90):
        at = T0 - timedelta(hours=(i * 13) % 97)
        rows.append(
            ItemRow(
                Item(
                    id=f"r{i:02d}",
                    source=f"bron-{i % 4}",
                    url=f"https://bron-{i % 4}.example/{i}",
                    title=f"bericht {i}",
                    summary="",
                    published=at if i % 3 else None,
                    date_source="feed" if i % 3 else "first-seen",
                    first_seen=at + timedelta(minutes=i % 7),
                    content_hash=f"h{i}",
                )
            )
        )
    put(store, rows)
    keys = ["bron-0", "bron-1", "bron-2", "bron-3", "bron-leeg"]
    for n in (5, 20, 40):
        many = store.recent_dates_of(keys, n)
        assert many == {k: store.recent_dates(k, n) for k in keys}
        assert [len(many[k]) for k in keys] == [min(n, 23), min(n, 23), min(n, 22), min(n, 22), 0]
    assert store.recent_dates_of([]) == {}
