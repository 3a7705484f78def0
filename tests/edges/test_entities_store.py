"""Entities, connector documents and cursors in the store: written with the items, replaced when
an item changes, matched for monitors; migration 0007 indexes what is already stored (#17)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from feedwatch.app.pipeline import write_update
from feedwatch.edges.store import ItemQuery, SourceUpdate, Store
from feedwatch.types import Item, Source

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def item(n: int, title: str, summary: str = "", url: str | None = None) -> Item:
    return Item(
        id=f"{n:040d}",
        source="s",
        url=url or f"https://x.example/{n}",
        title=title,
        summary=summary,
        published=T0 + timedelta(days=n),
        date_source="feed",
        first_seen=T0,
        content_hash=f"h{n}-{title}-{summary}",
    )


def update(
    items: tuple[Item, ...], entities: dict[str, tuple[str, ...]] | None, **kw: object
) -> SourceUpdate:
    return SourceUpdate(
        key="s",
        started_at=T0,
        duration=0.1,
        outcome="ok",
        url="https://x.example/f",
        items=items,
        entities=entities,
        **kw,  # type: ignore[arg-type]
    )


def setup(store: Store) -> None:
    store.sync_sources([Source(key="s", name="S", url="https://x.example/f")], T0)


def test_entities_documents_and_cursor_are_written_with_the_items(store: Store) -> None:
    setup(store)
    a, b = item(1, "Brief over Kamerstuk 36704"), item(2, "Niets")
    write_update(
        store,
        update(
            (a, b),
            {a.id: ("kamerstuk:36704",)},
            documents={a.id: ("Brief regering", {"number": "2026D1"})},
            cursor="2026-11-01T10:00:00Z",
        ),
    )
    assert store.item_entities([a.id, b.id]) == {a.id: ("kamerstuk:36704",)}
    assert store.connector_cursor("s") == "2026-11-01T10:00:00Z"
    (row,) = store.dossier("kamerstuk:36704")
    assert (row.doc_kind, row.details, row.source_name) == (
        "Brief regering",
        {"number": "2026D1"},
        "S",
    )
    rows = {r.item.id: r.entities for r in store.iter_items(ItemQuery())}
    assert rows == {a.id: ("kamerstuk:36704",), b.id: ()}

    # the item changes: its entities are replaced; a later cursor replaces the first
    a2 = replace(a, title="Brief over ECLI:NL:RVS:2026:1", content_hash="changed")
    write_update(store, update((a2, b), {a2.id: ("ecli:ECLI:NL:RVS:2026:1",)}, cursor="2026-11-02"))
    assert store.item_entities([a.id]) == {a.id: ("ecli:ECLI:NL:RVS:2026:1",)}
    assert store.dossier("kamerstuk:36704") == []
    assert store.connector_cursor("s") == "2026-11-02"
    # an update that did not compute entities leaves them alone
    write_update(store, update((a2,), None))
    assert store.item_entities([a.id]) == {a.id: ("ecli:ECLI:NL:RVS:2026:1",)}


def test_a_guid_that_changed_for_the_same_url_keeps_its_entities_on_the_stored_item(
    store: Store,
) -> None:
    setup(store)
    a = item(1, "Kamerstuk 36704", url="https://x.example/same")
    write_update(store, update((a,), {a.id: ("kamerstuk:36704",)}))
    moved = replace(a, id="f" * 40, title="Kamerstuk 36855", content_hash="new")
    write_update(store, update((moved,), {moved.id: ("kamerstuk:36855",)}))
    assert store.count_items() == 1
    assert store.item_entities([a.id]) == {a.id: ("kamerstuk:36855",)}


def test_items_with_entities_is_what_a_monitor_matches(store: Store) -> None:
    setup(store)
    a, b, c = item(1, "A"), item(2, "B"), item(3, "C")
    write_update(
        store,
        update(
            (a, b, c),
            {
                a.id: ("kamerstuk:36704",),
                b.id: ("ecli:ECLI:NL:RVS:2026:7", "kamerstuk:36704"),
                c.id: ("bwbr:BWBR0011823",),
            },
        ),
    )
    wanted = ["kamerstuk:36704", "ecli:ECLI:NL:RVS:2026:7"]
    assert store.items_with_entities(wanted) == {
        a.id: ("kamerstuk:36704",),
        b.id: ("ecli:ECLI:NL:RVS:2026:7", "kamerstuk:36704"),
    }
    assert store.items_with_entities(wanted, ids=[b.id, c.id]) == {
        b.id: ("ecli:ECLI:NL:RVS:2026:7", "kamerstuk:36704")
    }
    assert store.items_with_entities([]) == {}
    assert sorted(store.entity_item_ids("kamerstuk:36704")) == sorted([a.id, b.id])
    counts = store.entity_counts(limit=2)
    assert [(c.entity, c.items) for c in counts][0] == ("kamerstuk:36704", 2)
    assert counts[0].first == a.published and counts[0].last == b.published
    assert [c.entity for c in store.entity_counts(kind="bwbr")] == ["bwbr:BWBR0011823"]


def test_migration_0007_indexes_the_items_already_stored(tmp_path: Path) -> None:
    from alembic import command
    from feedwatch.edges.store.base import _alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0004")
        conn.execute(
            text(
                "INSERT INTO sources (key, name, organisation, kind, config_url, url, enabled,"
                " in_config, interval_seconds, consecutive_errors, created_at)"
                " VALUES ('s', 'S', '', 'rss', 'u', 'u', 1, 1, 3600, 0, '2026-11-01 00:00:00')"
            )
        )
        for n, title in ((1, "Brief over Kamerstuk 36704, nr. 3"), (2, "In 2026 36704 aanvragen")):
            conn.execute(
                text(
                    "INSERT INTO items (id, source, url, title, summary, date_source, first_seen,"
                    " last_changed, content_hash) VALUES (:id, 's', :url, :title, '', 'feed',"
                    " '2026-11-01 00:00:00', '2026-11-01 00:00:00', 'h')"
                ),
                {"id": f"{n:040d}", "url": f"https://x.example/{n}", "title": title},
            )
    engine.dispose()
    store = Store(url)  # upgrades to head
    try:
        assert store.count_items() == 2  # nothing lost on the way (a table rebuild would cascade)
        assert store.item_entities([f"{1:040d}", f"{2:040d}"]) == {
            f"{1:040d}": ("kamerstuk:36704",)
        }
    finally:
        store.close()


def test_citations_carry_their_items_date_and_source_for_the_counts(store: Store) -> None:
    """Migration 0010's triggers: a citation takes its item's date and source when written and
    follows the item when its date changes; entity_counts reads a period from them alone."""
    setup(store)
    a, b, c = item(1, "Kamerstuk 36704"), item(5, "Kamerstuk 36704"), item(9, "Niets")
    undated = replace(c, published=None, first_seen=T0 + timedelta(days=20))
    cites = {a.id: ("kamerstuk:36704",), b.id: ("kamerstuk:36704",), c.id: ("stb:2026-1",)}
    write_update(store, update((a, b, undated), cites))
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT item_id, at, source FROM item_entities")).all()
    assert {r.item_id for r in rows} == {a.id, b.id, c.id}
    assert all(r.source == "s" and r.at is not None for r in rows)

    def counts(since: datetime | None) -> dict[str, tuple[int, datetime | None, datetime | None]]:
        return {e.entity: (e.items, e.first, e.last) for e in store.entity_counts(since=since)}

    assert counts(None) == {
        "kamerstuk:36704": (2, a.published, b.published),
        "stb:2026-1": (1, undated.first_seen, undated.first_seen),  # no date: first seen
    }
    assert counts(T0 + timedelta(days=3)) == {
        "kamerstuk:36704": (1, b.published, b.published),
        "stb:2026-1": (1, undated.first_seen, undated.first_seen),
    }
    # the item's date changes (a later fetch reads another date): its citation follows
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE items SET published = :p WHERE id = :id"),
            {
                "p": (T0 + timedelta(days=30)).replace(tzinfo=None)
                if store.engine.dialect.name == "sqlite"
                else T0 + timedelta(days=30),
                "id": a.id,
            },
        )
    assert counts(T0 + timedelta(days=25)) == {
        "kamerstuk:36704": (1, T0 + timedelta(days=30), T0 + timedelta(days=30))
    }
