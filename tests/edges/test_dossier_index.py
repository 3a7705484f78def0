"""A dossier's light index (the web pages it) is the timeline of Store.dossier, item for item,
and a page of it reads the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from builders import put
from sqlalchemy import text

from feedwatch.edges.store import ItemRow, Store
from feedwatch.types import Item

T0 = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)


def test_the_index_is_the_timeline_and_pages_read_the_same_rows(store: Store) -> None:
    rows = []
    for i in range(30):
        at = T0 + timedelta(hours=(i * 7) % 30)  # out of order; some at the same time
        rows.append(
            ItemRow(
                Item(
                    id=f"d{i:02d}",
                    source=f"bron-{i % 4}",
                    url=f"https://bron-{i % 4}.example/{i}",
                    title=f"stuk {i}",
                    summary="",
                    published=at if i % 5 else None,
                    date_source="feed" if i % 5 else "first-seen",
                    first_seen=at,
                    content_hash=f"h{i}",
                )
            )
        )
    put(store, rows)
    with store.engine.begin() as conn:
        for i in range(0, 30, 2):  # every other item cites the dossier, one cites another
            conn.execute(
                text("INSERT INTO item_entities (item_id, kind, ref) VALUES (:i, 'kamerstuk', :r)"),
                {"i": f"d{i:02d}", "r": "36704" if i != 8 else "36000"},
            )
    whole = store.dossier("kamerstuk:36704")
    index = store.dossier_index("kamerstuk:36704")
    assert [e.id for e in index] == [r.item.id for r in whole]
    assert len(index) == 14
    assert [(e.source, e.when) for e in index] == [(r.item.source, r.when) for r in whole]
    page = [e.id for e in index[5:10]]
    assert [r.item.id for r in store.dossier("kamerstuk:36704", only=page)] == page
    assert store.dossier("kamerstuk:36704", only=["d08", "d01"]) == []  # not in this dossier
    assert store.dossier_index("kamerstuk:99999") == []
