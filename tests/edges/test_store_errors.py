"""Every public method of the Store turns a database failure into one StorageError line that
says what was being done and on which database (reader's test_errors_locked rule): a locked
SQLite database, a read-only one, an unreachable server. The public methods are enumerated, so
a new one without a case here fails the test."""

from __future__ import annotations

import inspect
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from feedwatch.app.pipeline import decided
from feedwatch.edges.store import ItemQuery, Store
from feedwatch.edges.store.views import PageQuery
from feedwatch.errors import StorageError
from feedwatch.types import Item, Source, SourceUpdate, TopicScore

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SRC = Source(key="s", name="S", url="http://127.0.0.1/feed.xml", kind="rss")
ITEM = Item(
    id="item-1",
    source="s",
    url="https://bron.example.nl/1",
    title="Opvang van asielzoekers",
    summary="Het COA opent een azc.",
    published=NOW - timedelta(hours=1),
    date_source="feed",
    first_seen=NOW,
    content_hash="h1",
)
NOT_STORE_CALLS = {"close", "head_revision", "storage_error"}  # no database involved


def _update(items: tuple[Item, ...] = (ITEM,)) -> SourceUpdate:
    return SourceUpdate(
        key="s", started_at=NOW, duration=0.1, outcome="ok", url=SRC.url, items=items
    )


def _classify(item: Item) -> list[TopicScore]:
    return [TopicScore("migratie", 2.0, 1.0, ("asiel",), True)]


def _seed(url: str) -> None:
    """A source, a stored item with a human label, a digest, a worker and a lease."""
    with Store(url) as store:
        store.sync_sources([SRC], NOW)
        store.apply(decided(store, [_update()])[0])
        store.set_label("item-1", "integratie", True)
        store.create_digest(
            profile="p",
            period="2026-11-22",
            since=NOW - timedelta(days=1),
            until=NOW,
            item_ids=["item-1"],
            health=[],
            now=NOW,
        )
        store.heartbeat("w1", "host", 1, NOW, NOW, {})
        store.sync_sources([replace(SRC, key="t", url="http://127.0.0.1/t.xml")], NOW)
        store.claim_due(NOW, "w1", keys=["t"])
        store.claim("test", "k", NOW, holder="h1")
        store.optimize()  # the WAL checkpointed into the file


# name -> (call, writes): `writes` methods must fail on a read-only database too
CASES: dict[str, tuple[Callable[[Store], Any], bool]] = {
    "apply": (lambda s: s.apply(replace(_update(), writes=())), True),
    "apply_many": (lambda s: s.apply_many([replace(_update(), writes=())]), True),
    "body_hashes": (lambda s: s.body_hashes(["s"]), False),
    "claim": (lambda s: s.claim("test", "k", NOW, holder="h2"), True),
    "claim_delivery": (lambda s: s.claim_delivery(1, "me", NOW), True),
    "claim_holder": (lambda s: s.claim_holder("test", "k"), False),
    "claim_due": (lambda s: s.claim_due(NOW + timedelta(days=9), "w2"), True),
    "classifier_version": (lambda s: s.classifier_version("item-1"), False),
    "clear_label": (lambda s: s.clear_label("item-1", "integratie"), True),
    "dead_holders": (lambda s: s.dead_holders(["h1"]), False),
    "count_due": (lambda s: s.count_due(NOW, ["s"]), False),
    "count_failing": (lambda s: s.count_failing(), False),
    "count_items": (lambda s: s.count_items(), False),
    "count_to_rescore": (lambda s: s.count_to_rescore("v9"), False),
    "create_digest": (
        lambda s: s.create_digest(
            profile="q", period="2026-11-23", since=NOW, until=NOW, item_ids=[], health=[], now=NOW
        ),
        True,
    ),
    "digest_rows": (lambda s: s.digest_rows(_record(s)), False),
    "digest_window": (lambda s: s.digest_window("p", "2026-11-23", NOW, NOW, NOW), False),
    "due_sources": (lambda s: s.due_sources(NOW), False),
    "fetch_log": (lambda s: s.fetch_log(), False),
    "find_item": (lambda s: s.find_item("item-1"), False),
    "get_digest": (lambda s: s.get_digest("p", "2026-11-22"), False),
    "heartbeat": (lambda s: s.heartbeat("w9", "host", 2, NOW, NOW, {}), True),
    "iter_items": (lambda s: list(s.iter_items(ItemQuery(topics=("migratie",)))), False),
    "last_digests": (lambda s: s.last_digests(), False),
    "mark_sent": (lambda s: s.mark_sent(1, NOW), True),
    "near_misses": (lambda s: s.near_misses("migratie"), False),
    "manual_labels": (lambda s: s.manual_labels(), False),
    "connector_cursor": (lambda s: s.connector_cursor("s"), False),
    "item_entities": (lambda s: s.item_entities(["item-1"]), False),
    "entity_item_ids": (lambda s: s.entity_item_ids("kamerstuk:36704"), False),
    "items_with_entities": (lambda s: s.items_with_entities(["kamerstuk:36704"]), False),
    "dossier": (lambda s: s.dossier("kamerstuk:36704"), False),
    "entity_counts": (lambda s: s.entity_counts(), False),
    "new_items": (lambda s: s.new_items(NOW - timedelta(days=1), NOW + timedelta(days=1)), False),
    "next_due_at": (lambda s: s.next_due_at(), False),
    "optimize": (lambda s: s.optimize(), False),
    "pending_digests": (lambda s: s.pending_digests("p"), False),
    "prune_holders": (lambda s: s.prune_holders(), False),
    "prune_fetch_log": (lambda s: s.prune_fetch_log(NOW + timedelta(days=1)), True),
    "reclassify": (lambda s: s.reclassify(_classify, "v9"), True),
    "record_failure": (lambda s: s.record_failure(1, "smtp down"), True),
    "register_holder": (lambda s: s.register_holder("h3"), True),
    "release": (lambda s: s.release(None, "w1"), True),
    "release_claim": (lambda s: s.release_claim("test", "k", "h1"), True),
    "set_label": (lambda s: s.set_label("item-1", "migratie", False), True),
    "source_facts": (lambda s: s.source_facts(NOW - timedelta(days=1), NOW), False),
    "source_reports": (lambda s: s.source_reports(), False),
    "source_states": (lambda s: s.source_states(), False),
    "stored_items": (lambda s: s.stored_items("s", ["item-1"], [ITEM.url]), False),
    "stored_items_many": (lambda s: s.stored_items_many([("s", ["item-1"], [])]), False),
    "sync_sources": (lambda s: s.sync_sources([replace(SRC, key="u")], NOW), True),
    "topic_rows": (lambda s: s.topic_rows("item-1"), False),
    "upgrade": (lambda s: s.upgrade(), False),
    "worker_rows": (lambda s: s.worker_rows(), False),
    "worker_stopped": (lambda s: s.worker_stopped("w1", NOW), True),
    # the web's reads (edges/store/views.py, #18)
    "ping": (lambda s: s.ping(), False),
    "item_page": (lambda s: s.item_page(PageQuery(topic="migratie")), False),
    "page_row": (lambda s: s.page_row("item-1"), False),
    "topic_counts": (lambda s: s.topic_counts(NOW - timedelta(days=7), NOW), False),
    "topic_counts_scan": (lambda s: s.topic_counts_scan(NOW - timedelta(days=7), NOW), False),
    "dossier_index": (lambda s: s.dossier_index("kamerstuk:36704"), False),
    "recent_dates_of": (lambda s: s.recent_dates_of(["bron"]), False),
    "topic_counts_periods": (
        lambda s: s.topic_counts_periods([(NOW - timedelta(days=7), NOW)]),
        False,
    ),
    "source_counts": (lambda s: s.source_counts(NOW - timedelta(days=7), NOW), False),
    "count_items_total": (lambda s: s.count_items_total(NOW - timedelta(days=7), NOW), False),
    "items_per_source": (lambda s: s.items_per_source(), False),
    "source_views": (lambda s: s.source_views(), False),
    "failing_streak": (lambda s: s.failing_streak("s", 3), False),
    "recent_dates": (lambda s: s.recent_dates("s"), False),
    "recent_reads": (lambda s: s.recent_reads("s"), False),
}


def _record(store: Store) -> Any:
    from feedwatch.types import DigestRecord

    return DigestRecord(1, "p", "2026-11-22", NOW, NOW, "pending", NOW, None, 0, None, 1, (), None)


def _raised(call: Callable[[Store], Any], store: Store) -> StorageError | None:
    try:
        got = call(store)
    except StorageError as exc:
        return exc
    if isinstance(got, list) and got and isinstance(got[0], StorageError):
        return got[0]  # apply_many returns each source's failure in its place
    return None


def test_every_public_method_has_a_case() -> None:
    public = {
        name
        for name, value in inspect.getmembers(Store)
        if not name.startswith("_") and callable(value)
    }
    assert public - NOT_STORE_CALLS == set(CASES)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("errors") / "seeded.db"
    _seed(f"sqlite:///{path}")
    return path


@pytest.fixture
def copy(seeded: Path, tmp_path: Path) -> Path:
    path = tmp_path / "fw.db"
    path.write_bytes(seeded.read_bytes())
    return path


@pytest.fixture
def locked(copy: Path) -> Iterator[Store]:
    """A store whose database another connection holds with an exclusive lock."""
    store = Store(f"sqlite:///{copy}", timeout=0.05)
    store.engine.dispose()  # the lock below needs no other connection open
    locker = sqlite3.connect(copy, isolation_level=None)
    locker.execute("PRAGMA locking_mode=EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    locker.execute("UPDATE sources SET name = name")
    try:
        yield store
    finally:
        locker.execute("ROLLBACK")
        locker.close()
        store.close()


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_locked_database_gives_one_storage_error_line(locked: Store, name: str) -> None:
    call, _writes = CASES[name]
    error = _raised(call, locked)
    assert error is not None, f"{name} did not fail on a locked database"
    message = str(error)
    assert "\n" not in message and "database is locked" in message
    assert "fw.db" in message  # names the database


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_read_only_database_fails_writes_with_one_line(copy: Path, name: str) -> None:
    store = Store(f"sqlite:///file:{copy}?mode=ro&uri=true", timeout=0.05)
    call, writes = CASES[name]
    try:
        error = _raised(call, store)  # anything but StorageError escapes and fails the test
    finally:
        store.close()
    if writes:
        assert error is not None, f"{name} wrote to a read-only database"
        assert "\n" not in str(error) and "readonly" in str(error) and "fw.db" in str(error)
    else:
        assert error is None, f"{name} failed on a read-only database: {error}"


def test_an_unreachable_server_is_one_line() -> None:
    with pytest.raises(StorageError) as info:
        Store("postgresql://feedwatch:secret@127.0.0.1:9/feedwatch")
    message = str(info.value)
    assert "\n" not in message and "127.0.0.1:9" in message and "secret" not in message


def test_fetch_on_a_read_only_database_prints_one_line(copy: Path, tmp_path: Path) -> None:
    """`feedwatch fetch` on a read-only SQLite file: one line naming the database, exit 1."""
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "sources:\n  - key: s\n    name: S\n    url: http://127.0.0.1:9/feed.xml\n",
        encoding="utf-8",
    )
    copy.chmod(0o444)  # read-only for everyone but root; the URI makes it so for root as well
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDWATCH_")}
    url = f"sqlite:///file:{copy}?mode=ro&uri=true"
    out = subprocess.run(
        [sys.executable, "-m", "feedwatch", "--config", str(config), "--database-url", url]
        + ["fetch", "--all"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    assert out.returncode == 1, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert lines[0].startswith("error: ") and str(copy) in lines[0] and "readonly" in lines[0]
