"""The store on SQLite and on a real PostgreSQL: idempotent, atomic, migrations match the models."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import StatementError

from feedwatch.app.pipeline import write_update
from feedwatch.core.normalise import normalise
from feedwatch.edges.store import ItemQuery, SourceUpdate, Store
from feedwatch.edges.store.models import fetches, items, metadata, sources
from feedwatch.errors import StorageError
from feedwatch.types import Item, RawItem, Source, TopicScore

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SRC = Source(key="bron", name="Bron", url="https://bron.example.nl/feed.xml", kind="rss")


def make_items(n: int, *, prefix: str = "Bericht", now: datetime = NOW) -> tuple[Item, ...]:
    out = []
    for i in range(n):
        raw = RawItem(
            title=f"{prefix} {i}",
            link=f"https://bron.example.nl/nieuws/{i}",
            guid=f"g-{i}",
            summary=f"Samenvatting {i}",
            published=now - timedelta(hours=i),
            date_source="feed",
        )
        item = normalise("bron", raw, now)
        assert item is not None
        out.append(item)
    return tuple(out)


def upd(its: tuple[Item, ...], **kw: object) -> SourceUpdate:
    base = SourceUpdate(
        key="bron",
        started_at=NOW,
        duration=0.1,
        outcome="ok",
        url=SRC.url,
        http_status=200,
        items=its,
        set_validators=True,
        etag='"v1"',
        next_check_at=NOW + timedelta(hours=1),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_apply_is_idempotent(store: Store) -> None:
    store.sync_sources([SRC], NOW)
    first = write_update(store, upd(make_items(5)))
    assert (first.new, first.updated, first.unchanged) == (5, 0, 0)
    again = write_update(store, upd(make_items(5)))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 5)
    assert store.count_items() == 5
    log = store.fetch_log("bron")
    assert len(log) == 2 and log[0]["unchanged"] == 5 and log[1]["new"] == 5


def test_changed_item_is_updated_in_place(store: Store) -> None:
    store.sync_sources([SRC], NOW)
    write_update(store, upd(make_items(3)))
    changed = list(make_items(3))
    changed[1] = replace(changed[1], title="Bericht 1 (gewijzigd)", content_hash="other")
    out = write_update(store, upd(tuple(changed)))
    assert (out.new, out.updated, out.unchanged) == (0, 1, 2)
    rows = list(store.iter_items(ItemQuery(ids=(changed[1].id,))))
    assert rows[0].item.title == "Bericht 1 (gewijzigd)"
    assert store.count_items() == 3


def test_guid_change_for_the_same_url_is_the_same_item(store: Store) -> None:
    store.sync_sources([SRC], NOW)
    write_update(store, upd(make_items(2)))
    moved = tuple(
        normalise(
            "bron",
            RawItem(
                title=i.title,
                link=i.url,
                guid=f"new-{n}",
                summary=i.summary,
                published=i.published,
                date_source="feed",
            ),
            NOW,
        )
        for n, i in enumerate(make_items(2))
    )
    out = write_update(store, upd(moved))  # type: ignore[arg-type]
    assert out.new == 0 and store.count_items() == 2


def test_items_newest_first_and_filters(store: Store) -> None:
    store.sync_sources([SRC], NOW)
    write_update(store, upd(make_items(4)))
    rows = list(store.iter_items())
    assert [r.item.title for r in rows] == ["Bericht 0", "Bericht 1", "Bericht 2", "Bericht 3"]
    assert rows[0].item.published == NOW and rows[0].item.published.tzinfo is not None
    since = list(store.iter_items(ItemQuery(since=NOW - timedelta(hours=1, minutes=30))))
    assert len(since) == 2
    assert len(list(store.iter_items(ItemQuery(limit=1)))) == 1
    assert list(store.iter_items(ItemQuery(sources=("other",)))) == []


def test_topic_scores_and_filter(store: Store) -> None:
    store.sync_sources([SRC], NOW)
    its = make_items(2)
    scores = {
        its[0].id: (
            TopicScore("migratie", 3.0, 2.0, ("asiel +3",), True),
            TopicScore("integratie", 1.0, 2.0, ("taal +1",), False),
        ),
        its[1].id: (TopicScore("migratie", 0.0, 2.0, (), False),),
    }
    write_update(store, upd(its, scores=scores, classifier_version="v1"))
    rows = {r.item.id: r for r in store.iter_items()}
    assert rows[its[0].id].topics == ("migratie",)
    assert rows[its[0].id].scores == {"migratie": 3.0, "integratie": 1.0}
    assert rows[its[1].id].topics == ()
    only = list(store.iter_items(ItemQuery(topics=("migratie",))))
    assert [r.item.id for r in only] == [its[0].id]


def test_a_failed_apply_leaves_nothing_behind(store: Store) -> None:
    store.sync_sources([SRC], NOW)
    bad = list(make_items(3))
    bad[2] = replace(bad[2], first_seen=datetime(2026, 11, 22, 9, 0))  # naive: refused mid-way
    with pytest.raises(StorageError, match="naive datetime refused"):
        write_update(store, upd(tuple(bad)))
    assert store.count_items() == 0
    assert store.fetch_log("bron") == []
    assert store.source_states()["bron"].etag is None


def test_error_counts_and_validators(store: Store) -> None:
    store.sync_sources([SRC], NOW)
    write_update(store, upd(make_items(1)))
    assert store.source_states()["bron"].etag == '"v1"'
    for n in (1, 2):
        write_update(
            store,
            upd(
                (),
                outcome="error",
                error="HTTP 503 Service Unavailable",
                http_status=503,
                set_validators=False,
            ),
        )
        state = store.source_states()["bron"]
        assert state.consecutive_errors == n and state.last_error == "HTTP 503 Service Unavailable"
        assert state.etag == '"v1"'  # an error keeps the validators
    write_update(store, upd((), outcome="not-modified", http_status=304, set_validators=False))
    state = store.source_states()["bron"]
    assert state.consecutive_errors == 0 and state.last_error is None


def test_permanent_redirect_and_gone(store: Store) -> None:
    store.sync_sources([SRC], NOW)
    write_update(store, upd((), new_url="https://nieuw.example.nl/feed.xml"))
    assert store.source_states()["bron"].url == "https://nieuw.example.nl/feed.xml"
    write_update(store, upd((), outcome="error", error="HTTP 410 Gone", disable_reason="410 Gone"))
    report = {r.key: r for r in store.source_reports()}["bron"]
    assert report.enabled is False and report.disabled_reason == "410 Gone"
    assert store.due_sources(NOW + timedelta(days=30)) == []
    # the config still lists it: it stays disabled, with its reason, until its URL changes
    store.sync_sources([SRC], NOW)
    assert {r.key: r for r in store.source_reports()}["bron"].enabled is False
    store.sync_sources([replace(SRC, url="https://elders.example.nl/feed.xml")], NOW)
    report = {r.key: r for r in store.source_reports()}["bron"]
    assert report.enabled is True and report.url == "https://elders.example.nl/feed.xml"


def test_sync_sources_disables_removed_sources_and_keeps_their_items(store: Store) -> None:
    other = replace(SRC, key="ander", url="https://ander.example.nl/")
    store.sync_sources([SRC, other], NOW)
    write_update(store, upd(make_items(2)))
    store.sync_sources([other], NOW)
    reports = {r.key: r for r in store.source_reports()}
    assert reports["bron"].enabled is False and reports["bron"].in_config is False
    assert reports["bron"].item_count == 2
    assert [s.key for s in store.due_sources(NOW)] == ["ander"]


def test_due_sources(store: Store) -> None:
    store.sync_sources([SRC], NOW)
    assert [s.key for s in store.due_sources(NOW)] == ["bron"]  # never fetched: due
    write_update(store, upd(()))  # next check in an hour
    assert store.due_sources(NOW) == []
    assert [s.key for s in store.due_sources(NOW + timedelta(hours=1))] == ["bron"]


def test_naive_datetimes_are_refused(store: Store) -> None:
    with (
        pytest.raises(StatementError, match="naive datetime refused"),
        store.engine.begin() as conn,
    ):
        conn.execute(
            sources.insert().values(
                key="x",
                name="x",
                organisation="",
                kind="rss",
                config_url="u",
                url="u",
                enabled=True,
                in_config=True,
                interval_seconds=60,
                consecutive_errors=0,
                created_at=datetime(2026, 1, 1),
            )
        )


def test_migrations_match_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = Store(db_url)  # upgrades the empty database to head
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    assert diff == []


def test_sqlite_file_is_created_upgraded_and_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sub" / "feedwatch.db"
    store = Store(f"sqlite:///{path}")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert (
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            == Store.head_revision()
        )
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    store.close()
    assert path.exists()


def test_postgres_schema_behind_head_asks_for_db_upgrade(postgres) -> None:  # type: ignore[no-untyped-def]
    url = postgres.new_database()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num varchar(32) primary key)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0000')"))
    engine.dispose()
    with pytest.raises(StorageError, match="feedwatch db upgrade"):
        Store(url)


def test_bulk_insert_counts(store: Store) -> None:
    store.sync_sources([SRC], NOW)
    out = write_update(store, upd(make_items(1200)))
    assert out.new == 1200
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(items)).scalar() == 1200
        assert conn.execute(select(func.count()).select_from(fetches)).scalar() == 1


def test_claims_lease_and_expire(store: Store) -> None:
    many = [replace(SRC, key=f"s{i:02d}", url=f"https://bron.example.nl/{i}") for i in range(5)]
    store.sync_sources(many, NOW)
    a = store.claim_due(NOW, "worker-a", lease=timedelta(minutes=5), limit=3)
    b = store.claim_due(NOW, "worker-b", lease=timedelta(minutes=5), limit=10)
    assert [s.key for s in a] == ["s00", "s01", "s02"]
    assert [s.key for s in b] == ["s03", "s04"]
    assert store.claim_due(NOW, "worker-c") == []
    # worker-a finishes one source; the lease of the others expires (worker-a died)
    write_update(store, replace(upd(()), key="s00"))
    later = NOW + timedelta(minutes=6)
    c = store.claim_due(later, "worker-c")
    assert {s.key for s in c} == {"s01", "s02", "s03", "s04"}
    store.release(["s01", "s02"], "worker-c")
    assert {s.key for s in store.claim_due(later, "worker-d")} == {"s01", "s02"}


def test_typical_gap_is_learned(store: Store) -> None:
    store.sync_sources([SRC], NOW)
    its = tuple(
        replace(i, published=NOW - timedelta(hours=6 * n)) for n, i in enumerate(make_items(6))
    )
    write_update(store, upd(its))
    assert store.source_states()["bron"].typical_gap == 6 * 3600


def test_schema_revision_constant_is_alembics_head() -> None:
    from feedwatch.edges.store import SCHEMA_REVISION

    assert Store.head_revision() == SCHEMA_REVISION
