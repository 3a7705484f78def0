"""The throughput changes keep their promises: batched writes, worker processes, kept connections."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from httpserver import TestServer

from feedwatch.app.pipeline import make_classifier, run_fetch, write_update, write_updates
from feedwatch.app.workers import ProcessPool
from feedwatch.config.sources import Config, NetworkConfig
from feedwatch.core.decide import process
from feedwatch.edges.http.fetch import FetchSettings, HostLimiter, fetch, make_client
from feedwatch.edges.http.netpolicy import AddressPolicy, PolicyNetworkBackend
from feedwatch.edges.store import ItemQuery, SourceUpdate, Store
from feedwatch.errors import StorageError
from feedwatch.types import FetchResult, Source, SourceState

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def rss(n: int, prefix: str = "") -> bytes:
    items = "".join(
        f"<item><title>{prefix}Asielzoekers in azc {i}</title>"
        f"<link>https://bron.example.nl/{prefix}{i}</link><description>De gemeente en het COA "
        f"openen opvang nummer {i}.</description>"
        f"<pubDate>Fri, {20 - i:02d} Nov 2026 10:00:00 +0100</pubDate></item>"
        for i in range(n)
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
        f"{items}</channel></rss>"
    ).encode()


def source(key: str, url: str = "http://127.0.0.1/x.xml") -> Source:
    return Source(key=key, name=key, url=url, kind="rss")


def update_for(key: str, body: bytes) -> SourceUpdate:
    src = source(key)
    result = FetchResult(
        source_key=key, url=src.url, final_url=src.url, status=200, body=body, fetched_at=NOW
    )
    classifier, version = make_classifier(None)
    return process(
        src,
        SourceState(key=key, url=src.url),
        result,
        NOW,
        classifier=classifier,
        classifier_version=version,
    )


def test_apply_many_writes_like_apply_one_commit(tmp_path: Any) -> None:
    one = Store(f"sqlite:///{tmp_path / 'one.db'}")
    many = Store(f"sqlite:///{tmp_path / 'many.db'}")
    srcs = [source("a"), source("b")]
    updates = [update_for("a", rss(3, "a")), update_for("b", rss(2, "b"))]
    for st in (one, many):
        st.sync_sources(srcs, NOW)
    expected = [write_update(one, u) for u in updates]
    assert write_updates(many, updates) == expected
    rows = lambda st: sorted(  # noqa: E731
        (r.item.id, r.item.title, r.topics) for r in st.iter_items(ItemQuery())
    )
    assert rows(many) == rows(one) and len(rows(many)) == 5
    assert [r["new"] for r in many.fetch_log()] == [r["new"] for r in one.fetch_log()]


def _feed(entries: list[tuple[str | None, str, str]]) -> bytes:
    """RSS with (guid, link, title) entries, dated a day apart."""
    guid = '<guid isPermaLink="false">{}</guid>'
    items = "".join(
        f"<item>{guid.format(g) if g else ''}<title>{t}</title>"
        f"<link>{link}</link><description>{t}: het COA opent een azc.</description>"
        f"<pubDate>Fri, {20 - i:02d} Nov 2026 10:00:00 +0100</pubDate></item>"
        for i, (g, link, t) in enumerate(entries)
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
        f"{items}</channel></rss>"
    ).encode()


def _update(key: str, state: SourceState, **result: Any) -> SourceUpdate:
    src = source(key)
    classifier, version = make_classifier(None)
    fields: dict[str, Any] = {"status": 200, "fetched_at": NOW} | result
    fetched = FetchResult(source_key=key, url=src.url, final_url=src.url, **fields)
    return process(src, state, fetched, NOW, classifier=classifier, classifier_version=version)


def _dump(st: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row as the database holds it (raw SQL: the stored text of a date, not its value)."""
    from feedwatch.edges.store.models import fetches, item_topics, items, sources

    out = {}
    with st.engine.connect() as conn:
        for table in (items, item_topics, sources, fetches):
            cols = ", ".join(
                sorted(c.name for c in table.c if c.name != "id" or table is not fetches)
            )
            rows = conn.exec_driver_sql(f"SELECT {cols} FROM {table.name}").all()
            out[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return out


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_batch_writes_what_one_source_at_a_time_writes(
    kind: str, tmp_path: Any, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New, changed and unchanged items, a guid that changed for the same URL, an error, a 304,
    a move and a source with no classifier: apply_many leaves the database apply() leaves.
    On SQLite apply() goes through SQLAlchemy's executemany, apply_many through the driver's
    (FAST_SQLITE_INSERTS): the same rows either way."""
    import feedwatch.edges.store.base as store_module
    from feedwatch.errors import FetchError

    def url(name: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / name}"
        return str(request.getfixturevalue("postgres").new_database())

    one, many = Store(url("one.db")), Store(url("many.db"))
    keys = ["a", "b", "c", "d", "e"]
    link = "https://bron.example.nl/"
    rounds: list[dict[str, dict[str, Any]]] = [
        {
            "a": {"body": _feed([(None, link + "a1", "Azc open"), (None, link + "a2", "Twee")])},
            "b": {"body": _feed([("g1", link + "b1", "Een"), ("g2", link + "b2", "Twee")])},
            "c": {"status": 500, "error": FetchError("c", "HTTP 500", kind="http")},
            "d": {"body": _feed([(None, link + "d1", "Een"), (None, link + "d1", "Dubbel")])},
            "e": {"status": 304},
        },
        {
            "a": {"body": _feed([(None, link + "a1", "Azc dicht"), (None, link + "a3", "Drie")])},
            "b": {"body": _feed([("g1-new", link + "b1", "Een"), ("g2", link + "b2", "Anders")])},
            "c": {"body": _feed([(None, link + "c1", "Terug")])},
            "d": {"status": 304, "permanent_redirect": "http://127.0.0.1/nieuw.xml"},
            "e": {"body": _feed([(None, link + "a1", "Zelfde link, andere bron")])},
        },
    ]
    for st in (one, many):
        st.sync_sources([source(k) for k in keys], NOW)
    try:
        for results in rounds:
            states = one.source_states()
            updates = [_update(k, states[k], **results[k]) for k in keys]
            monkeypatch.setattr(store_module, "FAST_SQLITE_INSERTS", False)
            expected = [write_update(one, u) for u in updates]
            monkeypatch.setattr(store_module, "FAST_SQLITE_INSERTS", True)
            assert write_updates(many, updates) == expected
        assert _dump(many) == _dump(one)
        last = {k: many.fetch_log(k)[0] for k in keys}  # the newest row first
        assert (last["a"]["new"], last["a"]["updated"], last["a"]["unchanged"]) == (1, 1, 0)
        assert (last["b"]["new"], last["b"]["updated"], last["b"]["unchanged"]) == (0, 1, 1)
        assert many.source_states()["d"].url == "http://127.0.0.1/nieuw.xml"
    finally:
        one.close()
        many.close()


def test_apply_many_falls_back_to_one_transaction_per_source(tmp_path: Any) -> None:
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    store.sync_sources([source("a")], NOW)  # "ghost" is not a known source: its write fails
    results = write_updates(store, [update_for("a", rss(2)), update_for("ghost", rss(1, "g"))])
    assert isinstance(results[1], StorageError) and "ghost" in str(results[1])
    assert not isinstance(results[0], StorageError) and results[0].new == 2
    assert store.count_items() == 2  # a's write survived ghost's failure
    assert [r["source"] for r in store.fetch_log()] == ["a"]


def test_a_worker_process_gives_the_same_update_as_inline() -> None:
    src = source("w")
    result = FetchResult(
        source_key="w", url=src.url, final_url=src.url, status=200, body=rss(4), fetched_at=NOW
    )
    state = SourceState(key="w", url=src.url)
    inline = update_for("w", rss(4))
    with ProcessPool(1) as pool:
        import asyncio

        remote = asyncio.run(pool.process(src, state, result, NOW))
        assert pool.classifier_version == make_classifier(None)[1]
    assert remote == inline
    assert any(s.assigned for scores in remote.scores.values() for s in scores)


@pytest.mark.anyio
async def test_run_fetch_with_worker_processes_stores_the_same(
    tmp_path: Any, http_server: TestServer
) -> None:
    for name in ("a", "b", "c"):
        http_server.route(f"/{name}.xml", body=rss(5, name), etag=f'"{name}"')
    cfg = Config(
        path=None,
        sources=tuple(source(n, http_server.url(f"/{n}.xml")) for n in ("a", "b", "c")),
        network=NetworkConfig(allow_private=True, host_delay=0.0),
    )
    classifier, version = make_classifier(None)
    stored = []
    with ProcessPool(1) as pool:
        for offload in (None, pool.process):
            store = Store(f"sqlite:///{tmp_path / f'{offload is None}.db'}")
            result = await run_fetch(
                cfg,
                store,
                every=True,
                classifier=classifier,
                classifier_version=version,
                offload=offload,
                clock=lambda: NOW,
            )
            assert [o.new for o in result.outcomes] == [5, 5, 5]
            stored.append(sorted((r.item.id, r.topics) for r in store.iter_items(ItemQuery())))
            store.close()
    assert stored[0] == stored[1]


@pytest.mark.anyio
async def test_a_304_keeps_its_connection(
    http_server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    http_server.route("/f.xml", body=rss(1), etag='"v1"')
    connects = 0
    original = PolicyNetworkBackend.connect_tcp

    async def counting(self: PolicyNetworkBackend, *args: Any, **kwargs: Any) -> Any:
        nonlocal connects
        connects += 1
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(PolicyNetworkBackend, "connect_tcp", counting)
    settings = FetchSettings(policy=AddressPolicy.from_setting(True), host_delay=0.0)
    limiter = HostLimiter.from_settings(settings)
    async with make_client(settings) as client:
        statuses = []
        for _ in range(4):
            r = await fetch(
                client,
                "k",
                http_server.url("/f.xml"),
                etag='"v1"',
                settings=settings,
                limiter=limiter,
            )
            statuses.append(r.status)
    assert statuses == [304] * 4
    assert connects == 1


def _state_updates(prefix: str) -> list[SourceUpdate]:
    later = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    return [
        SourceUpdate(  # a 304: validators kept
            key=f"{prefix}1",
            started_at=later,
            duration=0.1,
            outcome="not-modified",
            url="http://127.0.0.1/x.xml",
            http_status=304,
            next_check_at=later,
        ),
        SourceUpdate(  # a skipped byte-identical body: validators and digest replaced
            key=f"{prefix}2",
            started_at=later,
            duration=0.2,
            outcome="ok",
            url="http://127.0.0.1/x.xml",
            http_status=200,
            bytes=1234,
            etag='"e2"',
            last_modified=None,
            set_validators=True,
            next_check_at=later,
            body_hash="d" * 64,
            same_body_items=7,
        ),
        SourceUpdate(  # an error: written the usual way inside the same batch
            key=f"{prefix}3",
            started_at=later,
            duration=0.3,
            outcome="error",
            url="http://127.0.0.1/x.xml",
            error="HTTP 500",
            error_kind="http",
            next_check_at=later,
        ),
    ]


def test_state_only_writes_in_a_batch_match_one_by_one(store: Store) -> None:
    from sqlalchemy import event

    store.sync_sources([source(f"{p}{n}") for p in "ab" for n in (1, 2, 3)], NOW)
    first = [update_for(f"{p}{n}", rss(2, f"{p}{n}")) for p in "ab" for n in (1, 2, 3)]
    for upd in first:
        write_update(store, upd)
    commits = 0

    def count(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    one_by_one = [write_update(store, u) for u in _state_updates("a")]
    event.listen(store.engine, "commit", count)
    batched = write_updates(store, _state_updates("b"))
    event.remove(store.engine, "commit", count)
    assert commits == 1
    assert [replace_key(o) for o in batched] == [replace_key(o) for o in one_by_one]
    states = store.source_states()
    for n in (1, 2, 3):
        assert replace_key(states[f"b{n}"]) == replace_key(states[f"a{n}"])
    assert store.body_hashes(["a2", "b2"]) == {"a2": ("d" * 64, 7), "b2": ("d" * 64, 7)}
    logs = {r["source"]: r for r in store.fetch_log(limit=20) if r["started_at"].hour == 10}
    for n in (1, 2, 3):
        a, b = dict(logs[f"a{n}"]), dict(logs[f"b{n}"])
        for row in (a, b):
            row.pop("id"), row.pop("source")
        assert a == b


def replace_key(value: Any) -> Any:
    from dataclasses import replace as dc_replace

    return dc_replace(value, key="")


def test_items_and_scores_pickle_by_value_with_every_field() -> None:
    """Worker processes send items and scores back pickled: every field must survive."""
    import pickle
    from dataclasses import fields

    from feedwatch.types import Item, TopicScore

    item = Item(
        id="i",
        source="s",
        url="https://x.example/1",
        title="t",
        summary="sum",
        published=NOW,
        date_source="listing",
        first_seen=NOW,
        updated=NOW,
        author="a",
        lang="nl",
        guid="g",
        content_hash="h",
    )
    score = TopicScore("migratie", 2.5, 3.0, ("asiel (title) +3.0",), True)
    for value in (item, score):
        back = pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == value
        defaults = type(value)(*[None] * len(fields(value)))  # type: ignore[arg-type]
        assert all(getattr(value, f.name) != getattr(defaults, f.name) for f in fields(value))


def test_fetch_adds_a_worker_process_for_a_large_pass_on_two_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from feedwatch.cli import fetch as cli_module

    monkeypatch.setattr(cli_module, "usable_cores", lambda: 2)
    assert cli_module.auto_processes(cli_module.AUTO_POOL_SOURCES) == 2
    assert cli_module.auto_processes(cli_module.AUTO_POOL_SOURCES - 1) == 1
    monkeypatch.setattr(cli_module, "usable_cores", lambda: 1)
    assert cli_module.auto_processes(1000) == 1


def test_count_due_counts_due_and_unstored_sources(store: Store) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from feedwatch.edges.store.models import sources

    srcs = [source("due"), source("later"), source("off")]
    store.sync_sources(srcs, NOW)
    with store.engine.begin() as conn:
        conn.execute(
            update(sources)
            .where(sources.c.key == "later")
            .values(next_check_at=NOW + timedelta(hours=1))
        )
        conn.execute(update(sources).where(sources.c.key == "off").values(enabled=False))
    assert store.count_due(NOW, ["due", "later", "off", "new"]) == 2  # "due" and "new"
    assert store.count_due(NOW + timedelta(hours=2), ["due", "later"]) == 2
