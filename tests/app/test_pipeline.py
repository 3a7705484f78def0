"""Fetch -> extract -> store against a real HTTP server on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from httpserver import Request, TestServer

from feedwatch.app.pipeline import run_fetch
from feedwatch.cli import cli
from feedwatch.config.sources import Config, NetworkConfig
from feedwatch.core.decide import process
from feedwatch.edges.store import ItemQuery, Store
from feedwatch.types import FetchResult, Source, SourceState

DATA = Path(__file__).parents[1] / "data" / "feeds"
RSS = (DATA / "rss2.xml").read_bytes()
ATOM = (DATA / "atom.xml").read_bytes()
JSONFEED = (DATA / "jsonfeed.json").read_bytes()
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.anyio


def rss(n: int, *, title: str = "Bericht") -> bytes:
    items = "".join(
        f"<item><title>{title} {i}</title><link>https://bron.example.nl/{i}</link>"
        f"<guid isPermaLink='false'>id-{i}</guid><description>Tekst {i}</description>"
        f"<pubDate>Fri, {20 - i % 15:02d} Nov 2026 10:00:00 +0000</pubDate></item>"
        for i in range(n)
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()


def config(*sources: Source, deadline: float = 5.0) -> Config:
    return Config(
        path=None,
        sources=sources,
        network=NetworkConfig(
            allow_private=True,
            host_delay=0.0,
            deadline=deadline,
            connect_timeout=2.0,
            read_timeout=2.0,
            max_body=256 * 1024,
        ),
    )


def src(key: str, url: str, kind: str = "rss") -> Source:
    return Source(key=key, name=key, url=url, kind=kind)  # type: ignore[arg-type]


def clock() -> datetime:
    return NOW


async def test_first_fetch_stores_second_gets_304(store: Store, http_server: TestServer) -> None:
    http_server.route("/a.xml", body=RSS, etag='"a1"')
    http_server.route("/b.xml", body=ATOM, last_modified="Sat, 21 Nov 2026 08:00:00 GMT")
    http_server.route("/c.json", body=JSONFEED, etag='"c1"')
    cfg = config(
        src("a", http_server.url("/a.xml")),
        src("b", http_server.url("/b.xml"), "atom"),
        src("c", http_server.url("/c.json"), "json"),
    )
    first = await run_fetch(cfg, store, every=True, clock=clock)
    assert [(o.key, o.outcome, o.new) for o in first.outcomes] == [
        ("a", "ok", 4),
        ("b", "ok", 2),
        ("c", "ok", 2),
    ]
    assert store.count_items() == 8
    second = await run_fetch(cfg, store, every=True, clock=clock)
    assert [(o.outcome, o.http_status, o.new, o.updated) for o in second.outcomes] == [
        ("not-modified", 304, 0, 0)
    ] * 3
    assert http_server.last_headers("/a.xml")["if-none-match"] == '"a1"'
    assert (
        http_server.last_headers("/b.xml")["if-modified-since"] == "Sat, 21 Nov 2026 08:00:00 GMT"
    )
    assert store.count_items() == 8
    assert [r["outcome"] for r in store.fetch_log("a")] == ["not-modified", "ok"]


async def test_unchanged_body_without_validators_writes_nothing(
    store: Store, http_server: TestServer
) -> None:
    http_server.route("/a.xml", body=rss(5))
    cfg = config(src("a", http_server.url("/a.xml")))
    await run_fetch(cfg, store, every=True, clock=clock)
    again = await run_fetch(cfg, store, every=True, clock=clock)
    assert (again.outcomes[0].new, again.outcomes[0].updated, again.outcomes[0].unchanged) == (
        0,
        0,
        5,
    )


async def test_changed_item_is_updated_not_duplicated(
    store: Store, http_server: TestServer
) -> None:
    http_server.route("/a.xml", body=rss(3))
    cfg = config(src("a", http_server.url("/a.xml")))
    await run_fetch(cfg, store, every=True, clock=clock)
    http_server.route("/a.xml", body=rss(3).replace(b"Bericht 1<", b"Bericht 1 (bijgewerkt)<"))
    out = await run_fetch(cfg, store, every=True, clock=clock)
    assert (out.outcomes[0].new, out.outcomes[0].updated, out.outcomes[0].unchanged) == (0, 1, 2)
    titles = sorted(r.item.title for r in store.iter_items())
    assert titles == ["Bericht 0", "Bericht 1 (bijgewerkt)", "Bericht 2"]


async def test_permanent_redirect_updates_the_url(store: Store, http_server: TestServer) -> None:
    http_server.route("/old.xml", handler=lambda r: r.redirect("/new.xml", 301))
    http_server.route("/new.xml", body=rss(2))
    cfg = config(src("a", http_server.url("/old.xml")))
    out = await run_fetch(cfg, store, every=True, clock=clock)
    assert out.outcomes[0].new == 2
    assert store.source_states()["a"].url == http_server.url("/new.xml")
    http_server.reset()
    http_server.route("/new.xml", body=rss(2))
    await run_fetch(cfg, store, every=True, clock=clock)
    assert http_server.hits("/old.xml") == 0 and http_server.hits("/new.xml") == 1


async def test_temporary_redirect_keeps_the_url(store: Store, http_server: TestServer) -> None:
    http_server.route("/old.xml", handler=lambda r: r.redirect("/new.xml", 302))
    http_server.route("/new.xml", body=rss(2))
    cfg = config(src("a", http_server.url("/old.xml")))
    await run_fetch(cfg, store, every=True, clock=clock)
    assert store.source_states()["a"].url == http_server.url("/old.xml")


def _slow(r: Request) -> None:
    r.drip(rss(3), interval=1.0)


FAILURES = [
    ("dns", "http://feeds.bestaat-niet.invalid/rss", None, "dns"),
    ("refused", "http://127.0.0.1:9/rss", None, "connect"),
    ("timeout", "/slow.xml", lambda s: s.route("/slow.xml", handler=_slow), "timeout"),
    (
        "http500",
        "/500.xml",
        lambda s: s.route("/500.xml", status=500, body=b"<html>fout</html>"),
        "http",
    ),
    ("http404", "/404.xml", None, "http"),
    (
        "invalid",
        "/bad.xml",
        lambda s: s.route("/bad.xml", body=b"<rss><channel><title>x"),
        "extract",
    ),
    (
        "html",
        "/page.xml",
        lambda s: s.route("/page.xml", body=b"<!doctype html><html><body>Welkom</body></html>"),
        "extract",
    ),
    ("empty", "/empty.xml", lambda s: s.route("/empty.xml", body=b""), "extract"),
    (
        "huge",
        "/huge.xml",
        lambda s: s.route("/huge.xml", body=b"<rss>" + b" " * 400_000),
        "too-large",
    ),
]


@pytest.mark.parametrize(("key", "path", "setup", "kind"), FAILURES, ids=[f[0] for f in FAILURES])
async def test_a_failing_source_is_recorded_and_others_go_on(
    store: Store,
    http_server: TestServer,
    key: str,
    path: str,
    setup,
    kind: str,  # type: ignore[no-untyped-def]
) -> None:
    http_server.route("/good.xml", body=rss(3))
    if setup is not None:
        setup(http_server)
    url = path if path.startswith("http") else http_server.url(path)
    cfg = config(src("good", http_server.url("/good.xml")), src(key, url), deadline=2.0)
    result = await run_fetch(cfg, store, every=True, clock=clock)
    outcomes = {o.key: o for o in result.outcomes}
    assert outcomes["good"].outcome == "ok" and outcomes["good"].new == 3
    bad = outcomes[key]
    assert bad.outcome == "error" and bad.error
    assert result.exit_code == 0
    state = store.source_states()[key]
    assert state.consecutive_errors == 1 and state.last_error == bad.error
    assert state.next_check_at is not None and state.next_check_at > NOW
    log = store.fetch_log(key)
    assert len(log) == 1 and log[0]["error_kind"] == kind and log[0]["new"] == 0
    assert all(r.item.source == "good" for r in store.iter_items())


async def test_every_source_failing_exits_1(store: Store, http_server: TestServer) -> None:
    cfg = config(src("x", http_server.url("/missing.xml")))
    result = await run_fetch(cfg, store, every=True, clock=clock)
    assert result.exit_code == 1


async def test_nothing_due_exits_0(store: Store, http_server: TestServer) -> None:
    http_server.route("/a.xml", body=rss(1))
    cfg = config(src("a", http_server.url("/a.xml")))
    await run_fetch(cfg, store, clock=clock)
    result = await run_fetch(cfg, store, clock=clock)  # not due for another interval
    assert result.attempted == 0 and result.exit_code == 0
    assert http_server.hits("/a.xml") == 1


async def test_gone_disables_the_source(store: Store, http_server: TestServer) -> None:
    http_server.route("/gone.xml", status=410)
    cfg = config(src("a", http_server.url("/gone.xml")))
    await run_fetch(cfg, store, every=True, clock=clock)
    report = store.source_reports()[0]
    assert report.enabled is False and "410" in (report.disabled_reason or "")


async def test_private_addresses_refused_by_default(store: Store, http_server: TestServer) -> None:
    http_server.route("/a.xml", body=rss(1))
    cfg = Config(path=None, sources=(src("a", http_server.url("/a.xml")),), network=NetworkConfig())
    result = await run_fetch(cfg, store, every=True, clock=clock)
    assert result.outcomes[0].outcome == "error"
    assert "allow_private" in (result.outcomes[0].error or "")
    assert http_server.hits() == 0


def test_process_is_pure_and_schedules() -> None:
    source = src("a", "https://bron.example.nl/feed.xml")
    state = SourceState(key="a", url=source.url, consecutive_errors=2)
    ok = FetchResult(
        "a",
        source.url,
        source.url,
        200,
        {"etag": '"x"', "cache-control": "max-age=7200"},
        RSS,
        fetched_at=NOW,
    )
    upd = process(source, state, ok, NOW)
    assert upd.outcome == "ok" and len(upd.items) == 4 and upd.etag == '"x"' and upd.set_validators
    assert upd.next_check_at == NOW + timedelta(hours=2)  # max-age beats the 1 h interval
    assert process(source, state, ok, NOW) == upd
    gone = FetchResult("a", source.url, source.url, 304, {}, b"", fetched_at=NOW)
    assert process(source, state, gone, NOW).items == ()


def test_cli_end_to_end_three_feeds_and_a_broken_one(
    tmp_path: Path, http_server: TestServer
) -> None:
    http_server.route("/a.xml", body=RSS)
    http_server.route("/b.xml", body=ATOM)
    http_server.route("/c.json", body=JSONFEED)
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(
        "network: {allow_private: ['127.0.0.1/32'], host_delay: 0}\nsources:\n"
        + "".join(
            f"  - {{key: {k}, name: {k}, url: '{http_server.url(p)}', kind: {kind}}}\n"
            for k, p, kind in [
                ("a", "/a.xml", "rss"),
                ("b", "/b.xml", "atom"),
                ("c", "/c.json", "json"),
                ("kapot", "/bestaat-niet.xml", "rss"),
            ]
        ),
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'fw.db'}"
    runner = CliRunner()
    res = runner.invoke(cli, ["--config", str(cfg), "--database-url", db, "fetch"])
    assert res.exit_code == 0, res.output
    assert "kapot" in res.output and "HTTP 404 Not Found" in res.output
    assert "4 sources, 1 failed, 8 new items" in res.output
    res = runner.invoke(
        cli, ["--config", str(cfg), "--database-url", db, "items", "--format", "jsonl"]
    )
    assert res.exit_code == 0
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert len(rows) == 8
    fields = {
        "id",
        "source",
        "url",
        "title",
        "summary",
        "published",
        "date_source",
        "first_seen",
        "topics",
        "scores",
        "lang",
        "entities",
    }
    for row in rows:
        assert set(row) == fields
        assert row["date_source"] in ("feed", "first-seen")
        assert row["first_seen"].endswith("Z")
        assert isinstance(row["topics"], list) and isinstance(row["scores"], dict)
    undated = [r for r in rows if r["title"] == "Bericht zonder datum"][0]
    assert undated["published"] is None and undated["date_source"] == "first-seen"
    tracked = [r for r in rows if "opvanglocatie" in r["url"]][0]
    assert "utm_" not in tracked["url"]
    res = runner.invoke(
        cli, ["--config", str(cfg), "--database-url", db, "sources", "--format", "jsonl"]
    )
    states = {json.loads(line)["key"]: json.loads(line) for line in res.output.splitlines()}
    assert (
        states["kapot"]["consecutive_errors"] == 1
        and states["kapot"]["last_error"] == "HTTP 404 Not Found"
    )
    assert states["a"]["items"] == 4
    assert len(list(Store(db).iter_items(ItemQuery(sources=("c",))))) == 2


async def test_a_bug_in_one_source_is_recorded_and_the_pass_goes_on(
    store: Store, http_server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import feedwatch.app.pipeline as pipeline

    real = pipeline.fetch_source

    async def buggy(harvest, source, state):  # type: ignore[no-untyped-def]
        if source.key == "kapot":
            raise RuntimeError("a parser bug")
        return await real(harvest, source, state)

    monkeypatch.setattr(pipeline, "fetch_source", buggy)
    http_server.route("/a.xml", body=rss(2))
    http_server.route("/b.xml", body=rss(2))
    cfg = config(src("a", http_server.url("/a.xml")), src("kapot", http_server.url("/b.xml")))
    result = await run_fetch(cfg, store, every=True, clock=clock)
    outcomes = {o.key: o for o in result.outcomes}
    assert outcomes["a"].outcome == "ok" and outcomes["a"].new == 2
    assert outcomes["kapot"].outcome == "error"
    assert "internal error" in (outcomes["kapot"].error or "") and "a parser bug" in (
        outcomes["kapot"].error or ""
    )
    assert store.fetch_log("kapot")[0]["error_kind"] == "internal"
    assert store.source_states()["kapot"].consecutive_errors == 1


def test_cli_fetch_with_worker_processes_stores_the_same(
    tmp_path: Path, http_server: TestServer
) -> None:
    http_server.route("/a.xml", body=RSS)
    http_server.route("/b.xml", body=ATOM)
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(
        "network: {allow_private: ['127.0.0.1/32'], host_delay: 0}\nsources:\n"
        f"  - {{key: a, name: a, url: '{http_server.url('/a.xml')}', kind: rss}}\n"
        f"  - {{key: b, name: b, url: '{http_server.url('/b.xml')}', kind: atom}}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    rows = {}
    for n in (1, 2):
        db = f"sqlite:///{tmp_path / f'fw{n}.db'}"
        res = runner.invoke(
            cli, ["--config", str(cfg), "--database-url", db, "fetch", "--processes", str(n)]
        )
        assert res.exit_code == 0, res.output
        assert "2 sources, 0 failed, 6 new items" in res.output
        res = runner.invoke(cli, ["--database-url", db, "items", "--format", "jsonl"])
        rows[n] = sorted(
            (
                r["id"],
                r["title"],
                r["published"],
                tuple(r["topics"]),
                tuple(sorted(r["scores"].items())),
            )
            for r in map(json.loads, res.output.splitlines())
        )
    assert rows[1] == rows[2] and len(rows[1]) == 6


async def test_a_locked_database_does_not_stall_the_event_loop(
    tmp_path: Path, http_server: TestServer
) -> None:
    """Every store call of run_fetch runs in a thread: while another process holds the
    database's write lock, the loop keeps running other tasks (signals, the daemon's jobs)."""
    import asyncio
    import sqlite3
    import threading

    http_server.route("/a.xml", body=rss(2))
    path = tmp_path / "fw.db"
    store = Store(f"sqlite:///{path}", timeout=10)
    store.engine.dispose()  # the exclusive lock below needs no other connection open
    locked, release = threading.Event(), threading.Event()

    def locker() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("UPDATE alembic_version SET version_num = version_num")
        locked.set()
        release.wait(30)
        conn.execute("ROLLBACK")
        conn.close()

    holder = threading.Thread(target=locker)
    holder.start()
    assert locked.wait(10)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.ensure_future(ticker())
    run = asyncio.ensure_future(
        run_fetch(config(src("a", http_server.url("/a.xml"))), store, clock=clock)
    )
    while ticks < 20:  # the loop runs on while run_fetch waits for the lock
        await asyncio.sleep(0.01)
    assert not run.done()
    release.set()
    result = await run
    task.cancel()
    holder.join()
    assert [o.new for o in result.outcomes] == [2]
    store.close()
