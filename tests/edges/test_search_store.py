"""Full-text search on SQLite FTS5 and PostgreSQL: the same query gives the same items."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import put
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from feedwatch.app.pipeline import write_update
from feedwatch.core.search.query import QueryError, parse_query
from feedwatch.edges.store import ItemRow, SourceUpdate, Store
from feedwatch.edges.store.search import SearchFilters, index_pending, search_ids
from feedwatch.types import Item

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

DOCS = [
    (
        "a1",
        "coa",
        "Asielzoekers naar nieuwe AZC-locatie in Ter Apel",
        "Het COA opent een locatie.",
        "nl",
        ("asielzoekerscentrum",),
    ),
    (
        "a2",
        "coa",
        "Gemeente wil geen azc's meer",
        "Raad stemt tegen extra opvang van asielzoekers.",
        "nl",
        ("asielzoekerscentrum",),
    ),
    (
        "a3",
        "rijk",
        "Spreidingswet aangenomen door Eerste Kamer",
        "De spreiding van asielzoekers over gemeenten wordt wettelijk geregeld.",
        "nl",
        ("migratie",),
    ),
    (
        "a4",
        "rijk",
        "Kabinet over veilige landen van herkomst",
        "Lijst van veilige landen uitgebreid; Marokko blijft veilig.",
        "nl",
        ("veiligelanders",),
    ),
    (
        "a5",
        "ecre",
        "Asylum seekers stranded at the border",
        "ECRE reports on people seeking asylum and pushbacks.",
        "en",
        ("migratie",),
    ),
    (
        "a6",
        "ecre",
        "Safe countries of origin list expanded",
        "The list of safe countries grows; critics warn.",
        "en",
        ("veiligelanders",),
    ),
    (
        "a7",
        "rijk",
        "Café-overleg over integratie en inburgering",
        "Inburgeraars en de Participatiewet; één nieuw beleid.",
        "nl",
        ("integratie",),
    ),
    (
        "a8",
        "coa",
        "Noodopvang in sporthal gesloten",
        "Geen asielzoeker meer in de sporthal van Budel.",
        "nl",
        (),
    ),
]


def rows(docs=DOCS) -> list[ItemRow]:  # type: ignore[no-untyped-def]
    out = []
    for i, (iid, source, title, summary, lang, topics) in enumerate(docs):
        item = Item(
            id=iid,
            source=source,
            url=f"https://{source}.example/{iid}",
            title=title,
            summary=summary,
            published=T0 + timedelta(hours=i),
            date_source="feed",
            first_seen=T0 + timedelta(hours=i),
            lang=lang,
            content_hash=f"h-{iid}",
        )
        out.append(ItemRow(item=item, topics=topics))
    return out


def found(store: Store, query: str, **kw: object) -> set[str]:
    hits = search_ids(store.engine, parse_query(query), SearchFilters(**kw), limit=None)  # type: ignore[arg-type]
    return {h.item_id for h in hits}


CASES = [
    ("asielzoeker", {"a1", "a2", "a3", "a8"}),
    ("asielzoekers", {"a1", "a2", "a3", "a8"}),
    ("azc", {"a1", "a2"}),
    ("AZC-locatie", {"a1"}),
    ("cafe", {"a7"}),
    ("inburgéring", {"a7"}),
    ("asylum", {"a5"}),
    ("seeking", {"a5"}),
    ("countries", {"a6"}),
    ("veilige landen", {"a4"}),
    ("veilige OR safe", {"a4", "a6"}),
    ("azc -opvang", {"a1"}),
    ("azc NOT opvang", {"a1"}),
    ("-asielzoeker", {"a4", "a5", "a6", "a7"}),
    ("(azc OR noodopvang) sporthal", {"a8"}),
    ('"spreiding van asielzoekers"', {"a3"}),
    ('"spreiding asielzoekers"', set()),
    ("asielzoek*", {"a1", "a2", "a3", "a8"}),
    ("inburger*", {"a7"}),
    ("title:asielzoekers", {"a1"}),
    ('title:"ter apel"', {"a1"}),
    ("source:ecre", {"a5", "a6"}),
    ("asielzoeker source:coa", {"a1", "a2", "a8"}),
    ("asielzoeker OR source:ecre", {"a1", "a2", "a3", "a5", "a6", "a8"}),
    ("topic:veiligelanders", {"a4", "a6"}),
    ("-topic:veiligelanders -source:coa", {"a3", "a5", "a7"}),
    ("veilig -topic:veiligelanders", set()),
]


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[c[0] for c in CASES])
def test_queries_find_the_same_items_on_both_databases(
    store: Store, query: str, expected: set[str]
) -> None:
    put(store, rows())
    assert found(store, query) == expected


def test_filters_and_ranking(store: Store) -> None:
    put(store, rows())
    assert found(store, "asielzoeker", sources=("coa",)) == {"a1", "a2", "a8"}
    assert found(store, "asielzoeker", topics=("migratie",)) == {"a3"}
    assert found(store, "asielzoeker", since=T0 + timedelta(hours=2)) == {"a3", "a8"}
    assert found(store, "asielzoeker", until=T0 + timedelta(hours=2)) == {"a1", "a2"}
    hits = search_ids(store.engine, parse_query("asielzoekers"), limit=None)
    # a title match ranks above a match in the text only
    assert {h.item_id for h in hits[:2]} == {"a1", "a2"} or hits[0].item_id == "a1"
    by_date = search_ids(store.engine, parse_query("asielzoekers"), sort="date", limit=2)
    assert [h.item_id for h in by_date] == ["a8", "a3"]


def test_the_index_follows_changes_and_deletes(store: Store) -> None:
    put(store, rows())
    assert found(store, "budel") == {"a8"}
    changed = replace(rows()[7].item, summary="Geen asielzoeker meer in Weert.", content_hash="x")
    write_update(
        store,
        SourceUpdate(
            key="coa",
            started_at=T0 + timedelta(days=1),
            duration=0.1,
            outcome="ok",
            url="https://coa.example/f",
            items=(changed,),
        ),
    )
    assert found(store, "budel") == set()
    assert found(store, "weert") == {"a8"}
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM items WHERE id = 'a8'"))
    assert found(store, "weert") == set()
    with store.engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM search_docs")).scalar_one()
    assert n == len(DOCS) - 1


def test_the_migration_indexes_items_stored_before_it(db_url: str) -> None:
    store = Store(db_url)
    put(store, rows())
    # forget the index, as if the items were stored before migration 0006: the migrations
    # from 0006 on are taken back (0008, 0007, then 0006, which drops the index)
    from alembic import command
    from feedwatch.edges.store.base import _alembic_config

    with store.engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0005")
        assert "search_docs" not in inspect(conn).get_table_names()
    store.upgrade()
    with store.engine.connect() as conn:
        queued = conn.execute(text("SELECT count(*) FROM search_queue")).scalar_one()
    assert queued == 0
    assert index_pending(store.engine) == 0
    assert found(store, "asielzoeker") == {"a1", "a2", "a3", "a8"}
    store.close()


QUERY_PARTS = st.sampled_from(
    list('ab "()-*:')
    + ["OR ", "AND ", "NOT ", "title:", "source:", "topic:", "azc", "é", "’s", "NEAR", "^", "+"]
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.lists(QUERY_PARTS, max_size=25).map("".join) | st.text(max_size=40))
def test_any_query_is_a_query_error_or_a_result_never_a_database_error(
    store: Store, query: str
) -> None:
    put(store, rows()[:3])
    try:
        node = parse_query(query)
    except QueryError:
        return
    search_ids(store.engine, node, limit=5)


def _random_query(rnd: random.Random, vocabulary: list[str], depth: int = 0) -> str:
    """A random query of the whole language (words, phrases, prefixes, fields, OR, NOT, ())."""
    parts = []
    for _ in range(rnd.randint(1, 3)):
        kind = rnd.random()
        word = rnd.choice(vocabulary)
        if kind < 0.35:
            part = word
        elif kind < 0.45:
            part = f'"{word} {rnd.choice(vocabulary)}"'
        elif kind < 0.55:
            part = word[: max(2, len(word) // 2)] + "*"
        elif kind < 0.62:
            part = f"title:{word}"
        elif kind < 0.68:
            part = f"source:{rnd.choice(['coa', 'rijk', 'ecre'])}"
        elif kind < 0.74:
            part = f"topic:{rnd.choice(['migratie', 'veiligelanders', 'asielzoekerscentrum'])}"
        elif kind < 0.85 and depth < 2:
            part = f"({_random_query(rnd, vocabulary, depth + 1)})"
        else:
            part = word
        if rnd.random() < 0.2:
            part = rnd.choice(["-", "NOT "]) + part
        parts.append(part)
    return rnd.choice([" ", " OR ", " AND "]).join(parts)


def test_random_queries_find_the_same_items_on_sqlite_and_postgresql(
    tmp_path: Path, postgres: Any
) -> None:
    lite = Store(f"sqlite:///{tmp_path / 'lite.db'}")
    pg = Store(postgres.new_database())
    for s in (lite, pg):
        put(s, rows())
    vocabulary = sorted(
        {w for _i, _s, title, summary, _l, _t in DOCS for w in f"{title} {summary}".split()}
        | {"azc's", "AZC-locatie", "asielzoeker", "seekers", "één", "veilig"}
    )
    rnd = random.Random(16)
    compared = found = 0
    for _ in range(300):
        query = _random_query(rnd, vocabulary)
        try:
            node = parse_query(query)
        except QueryError:
            continue
        compared += 1
        got = [{h.item_id for h in search_ids(s.engine, node, limit=None)} for s in (lite, pg)]
        assert got[0] == got[1], query
        found += bool(got[0])
    assert compared > 200 and found > 50  # the comparison is not of empty sets only
    lite.close()
    pg.close()


def test_a_monitor_of_entities_matches_the_items_citing_them(store: Store) -> None:
    from feedwatch.edges.store.search import MonitorSpec, match_new, matching_ids

    put(store, rows())
    cited = replace(rows()[2].item, summary="Zie Kamerstuk 36704, nr. 3.", content_hash="y")
    write_update(
        store,
        SourceUpdate(
            key=cited.source,
            started_at=T0 + timedelta(days=1),
            duration=0.1,
            outcome="ok",
            url="https://coa.example/f",
            items=(cited,),
            entities={cited.id: ("kamerstuk:36704",)},
        ),
    )
    dossier = MonitorSpec("dossier", None, (), (), ("kamerstuk:36704", "ecli:ECLI:NL:RVS:2026:1"))
    assert matching_ids(store.engine, dossier, SearchFilters()) == [cited.id]
    other = MonitorSpec("other", None, (), (), ("kamerstuk:36855",))
    assert matching_ids(store.engine, other, SearchFilters()) == []
    # a query and entities together: both must hold
    both = MonitorSpec("both", parse_query("budel"), (), (), ("kamerstuk:36704",))
    assert matching_ids(store.engine, both, SearchFilters()) == []
    # new items citing it are matched once the monitor exists
    match_new(store.engine, [dossier], T0 + timedelta(days=2))
    later = replace(
        rows()[0].item, summary="Over 36704 opnieuw: Kamerstuk 36704.", content_hash="z"
    )
    write_update(
        store,
        SourceUpdate(
            key=later.source,
            started_at=T0 + timedelta(days=3),
            duration=0.1,
            outcome="ok",
            url="https://coa.example/f",
            items=(later,),
            entities={later.id: ("kamerstuk:36704",)},
        ),
    )
    assert match_new(store.engine, [dossier], T0 + timedelta(days=3)) == {"dossier": [later.id]}
