"""topic_hours (migration 0009): the counts per topic per hour stay what counting the items
gives, through every kind of write, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from builders import put
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from feedwatch.core.search.query import parse_query
from feedwatch.edges.store import ItemQuery, ItemRow, Store
from feedwatch.edges.store.search import index_pending, search_ids
from feedwatch.types import Item, TopicScore

TOPICS = ("migratie", "integratie", "asielzoekerscentrum", "veiligelanders")
T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def items(n: int = 60, seed: int = 9) -> list[ItemRow]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        at = T0 + timedelta(minutes=rnd.randint(0, 60 * 24 * 21))
        item = Item(
            id=f"i{i:03d}",
            source=f"bron-{i % 3}",
            url=f"https://bron-{i % 3}.example/{i}",
            title=f"bericht {i}",
            summary="tekst",
            published=at if i % 4 else None,  # a quarter without a date: first seen counts
            date_source="feed" if i % 4 else "first-seen",
            first_seen=at + timedelta(minutes=rnd.randint(0, 90)),
            content_hash=f"h{i}",
        )
        out.append(ItemRow(item, tuple(t for t in TOPICS if rnd.random() < 0.4)))
    return out


def windows() -> list[tuple[datetime, datetime]]:
    """Weeks, days and single hours over the span, on whole hours."""
    out = [(T0 + timedelta(days=7 * w), T0 + timedelta(days=7 * (w + 1))) for w in range(-1, 5)]
    out += [(T0 + timedelta(days=d), T0 + timedelta(days=d + 1)) for d in range(0, 23, 2)]
    out += [(T0 + timedelta(hours=h), T0 + timedelta(hours=h + 1)) for h in range(0, 500, 7)]
    out.append((T0 - timedelta(days=400), T0 + timedelta(days=400)))
    return out


def assert_counts_match(store: Store) -> None:
    """topic_hours sums to what counting the items gives; doc_topics holds the assigned topics
    of every indexed document, as store.topics_of() decides them."""
    index_pending(store.engine)
    with store.engine.connect() as conn:
        held = set(
            conn.execute(
                text(
                    "SELECT d.item_id, t.topic FROM doc_topics t "
                    "JOIN search_docs d ON d.docid = t.docid"
                )
            ).all()
        )
        ids = list(conn.execute(text("SELECT item_id FROM search_docs")).scalars())
    assigned = {
        (r.item.id, t) for r in store.iter_items(ItemQuery(ids=tuple(ids))) for t in r.topics
    }
    assert held == assigned
    weeks = [w for w in windows() if w[1] - w[0] == timedelta(days=7)]
    assert store.topic_counts_periods(weeks) == [store.topic_counts_scan(a, b) for a, b in weeks]
    assert store.topic_counts_periods(windows()) == [
        store.topic_counts_scan(a, b) for a, b in windows()
    ]
    for since, until in windows():
        assert store.topic_counts(since, until) == store.topic_counts_scan(since, until), (
            since,
            until,
        )


def total(store: Store) -> dict[str, int]:
    return store.topic_counts(T0 - timedelta(days=400), T0 + timedelta(days=400))


def test_counts_follow_labels_rescoring_dates_and_deletes(store: Store) -> None:
    rows = items()
    put(store, rows)
    assert_counts_match(store)
    expected = {t: sum(t in r.topics for r in rows) for t in TOPICS}
    assert total(store) == {t: n for t, n in expected.items() if n}

    # labels: a human decision wins over the rule both ways, and taking it back restores it
    tagged = next(r for r in rows if "migratie" in r.topics)
    untagged = next(r for r in rows if "migratie" not in r.topics)
    store.set_label(tagged.item.id, "migratie", False)
    store.set_label(untagged.item.id, "migratie", True)
    store.set_label(untagged.item.id, "veiligelanders", True)
    assert_counts_match(store)
    assert total(store)["migratie"] == expected["migratie"]  # one off, one on
    store.set_label(untagged.item.id, "migratie", False)  # an update of the human decision
    assert total(store)["migratie"] == expected["migratie"] - 1
    assert store.clear_label(tagged.item.id, "migratie")
    assert total(store)["migratie"] == expected["migratie"]
    assert_counts_match(store)

    # re-scoring: every rule decision replaced, labels kept
    flip = random.Random(3)
    store.reclassify(
        lambda it: [TopicScore(t, 1.0, 0.5, assigned=flip.random() < 0.5) for t in TOPICS],
        "v2",
    )
    assert_counts_match(store)

    # an item's date changes (a page gives the real publication date): it moves to its hour
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE items SET published = :at WHERE id IN ('i001', 'i004', 'i010')"),
            {"at": (T0 + timedelta(days=15, hours=3)).strftime("%Y-%m-%d %H:%M:%S.%f")}
            if store.dialect == "sqlite"
            else {"at": T0 + timedelta(days=15, hours=3)},
        )
    assert_counts_match(store)

    # items deleted, alone and by their source going (the delete cascades to the topic rows)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM items WHERE id IN ('i002', 'i005')"))
    assert_counts_match(store)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM sources WHERE key = 'bron-1'"))
    assert_counts_match(store)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM item_topics WHERE item_id = 'i003'"))
    assert_counts_match(store)


def test_bounds_off_the_hour_add_the_items_of_their_part_hours(store: Store) -> None:
    put(store, items())
    for since, until in [
        (T0 + timedelta(minutes=30), T0 + timedelta(days=9, seconds=1)),
        (T0 + timedelta(hours=5, minutes=1), T0 + timedelta(hours=5, minutes=59)),
        (T0 - timedelta(minutes=1), T0 + timedelta(days=20, minutes=17)),
    ]:
        assert store.topic_counts(since, until) == store.topic_counts_scan(since, until)
    amsterdam = ZoneInfo("Europe/Amsterdam")
    since = datetime(2026, 3, 9, tzinfo=amsterdam)
    assert store.topic_counts(since, since + timedelta(days=3, minutes=7)) == (
        store.topic_counts_scan(since, since + timedelta(days=3, minutes=7))
    )
    assert store.topic_counts(since, since + timedelta(days=3))


def test_the_keys_of_a_topic_row_are_not_changed_in_place(store: Store) -> None:
    rows = items(5)
    put(store, rows)
    assigned = next(r for r in rows if r.topics)
    with pytest.raises(DBAPIError, match="not changed in place"), store.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE item_topics SET topic = 'anders' "
                "WHERE item_id = :i AND topic = :t AND origin = 'rule'"
            ),
            {"i": assigned.item.id, "t": assigned.topics[0]},
        )
    assert_counts_match(store)


def test_the_migration_counts_what_is_stored(db_url: str) -> None:
    store = Store(db_url)
    rows = items()
    put(store, rows)
    store.set_label("i000", "veiligelanders", True)
    before = total(store)
    from alembic import command
    from feedwatch.edges.store.base import _alembic_config

    with store.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0008")
        assert conn.execute(text("SELECT count(*) FROM items")).scalar_one() == 60
    store.upgrade()
    assert total(store) == before
    assert_counts_match(store)
    # the documents indexed before 0009 are found by topic: and source: (tagged by it)
    for topic in ("migratie", "veiligelanders"):
        hits = search_ids(store.engine, parse_query(f"topic:{topic}"), limit=None)
        assert {h.item_id for h in hits} == {
            r.item.id for r in store.iter_items(ItemQuery(topics=(topic,)))
        }
    hits = search_ids(store.engine, parse_query("source:bron-1 bericht"), limit=None)
    assert {h.item_id for h in hits} == {r.item.id for r in rows if r.item.source == "bron-1"}
    store.close()
