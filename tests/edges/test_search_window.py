"""Best first ranks the newest matches (RANKED_NEWEST, or the limit when more), newest first
among equal ranks; `topic:`/`source:` follow labels set after an item was indexed. Both
databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from builders import put

from feedwatch.core.search.query import parse_query
from feedwatch.edges.store import ItemRow, Store
from feedwatch.edges.store import search as search_store
from feedwatch.edges.store.search import SearchFilters, index_pending, search_ids
from feedwatch.types import Item

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def row(i: int, title: str, summary: str, source: str = "bron-a", topics=()) -> ItemRow:  # type: ignore[no-untyped-def]
    at = T0 + timedelta(hours=i)
    return ItemRow(
        Item(
            id=f"w{i:02d}",
            source=source,
            url=f"https://{source}.example/{i}",
            title=title,
            summary=summary,
            published=at,
            date_source="feed",
            first_seen=at,
            content_hash=f"h{i}",
        ),
        tuple(topics),
    )


def store_in_order(store: Store, rows: list[ItemRow]) -> None:
    """One item at a time, indexed as it comes: documents numbered in arrival order."""
    for r in rows:
        put(store, [r])
        index_pending(store.engine)


@pytest.mark.parametrize("first_slice", [25, 1])
def test_best_first_ranks_the_newest_matches_only(
    store: Store, monkeypatch: pytest.MonkeyPatch, first_slice: int
) -> None:
    # PostgreSQL gathers the newest matches in slices of docids: one slice, or several
    monkeypatch.setattr(search_store, "FIRST_SLICE", first_slice)
    # the oldest items match best (the word in the title); the newest only in the text
    rows = [row(i, "opvang in Budel", "opvang") for i in range(4)]
    rows += [row(i, f"bericht {i}", "iets over opvang") for i in range(4, 10)]
    store_in_order(store, rows)
    everything = search_ids(store.engine, parse_query("opvang"), limit=None)
    assert {h.item_id for h in everything} == {r.item.id for r in rows}
    assert [h.item_id for h in everything][:4] == ["w03", "w02", "w01", "w00"]  # ties: newest

    monkeypatch.setattr(search_store, "RANKED_NEWEST", 5)
    top = search_ids(store.engine, parse_query("opvang"), limit=3)
    # the five newest matches are ranked (all equal): newest first
    assert [h.item_id for h in top] == ["w09", "w08", "w07"]
    # asking for more than the window ranks as many as asked for: the seven newest
    seven = search_ids(store.engine, parse_query("opvang"), limit=7)
    assert [h.item_id for h in seven] == ["w03", "w09", "w08", "w07", "w06", "w05", "w04"]
    wide = search_ids(store.engine, parse_query("opvang"), limit=10)
    assert [h.item_id for h in wide][:4] == ["w03", "w02", "w01", "w00"]
    # a filter beside the words: the window is of the matches of the whole query
    filtered = search_ids(store.engine, parse_query("opvang -bericht"), limit=2)
    assert [h.item_id for h in filtered] == ["w03", "w02"]


def test_topic_and_source_filters_follow_labels_after_indexing(store: Store) -> None:
    rows = [
        row(
            i, f"bericht {i}", "opvang", source=f"bron-{i % 2}", topics=("migratie",) * (i % 3 == 0)
        )
        for i in range(9)
    ]
    store_in_order(store, rows)

    def found(query: str, filters: SearchFilters | None = None) -> set[str]:
        filters = filters or SearchFilters()
        return {
            h.item_id for h in search_ids(store.engine, parse_query(query), filters, limit=None)
        }

    assert found("topic:migratie opvang") == {"w00", "w03", "w06"}
    assert found("opvang", SearchFilters(topics=("migratie",))) == {"w00", "w03", "w06"}
    store.set_label("w00", "migratie", False)
    store.set_label("w01", "migratie", True)
    store.set_label("w02", "integratie", True)
    assert found("topic:migratie opvang") == {"w01", "w03", "w06"}
    assert found("topic:migratie OR topic:integratie") == {"w01", "w02", "w03", "w06"}
    assert found("opvang -topic:migratie") == {"w00", "w02", "w04", "w05", "w07", "w08"}
    assert store.clear_label("w00", "migratie")
    assert found("opvang", SearchFilters(topics=("migratie", "x"))) == {"w00", "w01", "w03", "w06"}
    assert found("source:bron-1 opvang") == {"w01", "w03", "w05", "w07"}
    assert found("topic:migratie", SearchFilters(sources=("bron-0",))) == {"w00", "w06"}
    # a value with quotes, a backslash or spaces (the web form's fields) is a value like any
    # other, never a syntax error
    for odd in ("o'k\\x", "a b", "'", "\\", "a|b", "!x"):
        assert found("opvang", SearchFilters(sources=(odd,))) == set()
        assert found("opvang", SearchFilters(topics=(odd, "migratie"))) == {
            "w00",
            "w01",
            "w03",
            "w06",
        }


@pytest.mark.parametrize("span", [10_000, 2])
def test_since_finds_every_match_whatever_order_the_documents_came_in(
    store: Store, monkeypatch: pytest.MonkeyPatch, span: int
) -> None:
    from feedwatch.edges.store.search import MonitorSpec, matching_ids

    monkeypatch.setattr(search_store, "FLOOR_SPAN", span)
    # indexed in this order, dated out of order: an archive read late, a date in the future
    hours = [5, 30, 2, 41, 1, 60, 33, 3, 29, 200]
    rows = [row(i, f"bericht {i}", "opvang", topics=("migratie",) * (i % 2)) for i in range(10)]
    rows = [
        ItemRow(
            replace(r.item, published=T0 + timedelta(hours=h), first_seen=T0 + timedelta(hours=h)),
            r.topics,
        )
        for r, h in zip(rows, hours, strict=True)
    ]
    store_in_order(store, rows)
    since = T0 + timedelta(hours=29)
    recent = {r.item.id for r, h in zip(rows, hours, strict=True) if h >= 29}
    for sort in ("rank", "date"):
        hits = search_ids(
            store.engine, parse_query("opvang"), SearchFilters(since=since), sort=sort
        )
        assert {h.item_id for h in hits} == recent
    dated = search_ids(store.engine, parse_query("opvang"), SearchFilters(since=since), sort="date")
    assert [h.item_id for h in dated] == ["w09", "w05", "w03", "w06", "w01", "w08"]
    spec = MonitorSpec("m", parse_query("bericht"), topics=("migratie",))
    assert matching_ids(store.engine, spec, SearchFilters(since=since)) == [
        "w09",
        "w05",
        "w03",
        "w01",
    ]
    assert matching_ids(
        store.engine, MonitorSpec("t", None, topics=("migratie",)), SearchFilters(since=since)
    ) == ["w09", "w05", "w03", "w01"]
    later = SearchFilters(since=T0 + timedelta(hours=500))
    assert search_ids(store.engine, parse_query("opvang"), later) == []
    assert matching_ids(store.engine, spec, later) == []
