"""A byte-identical body is not read again: the source's state and its log row are still written."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from httpserver import TestServer

from feedwatch.app.pipeline import run_fetch
from feedwatch.config.sources import Config, NetworkConfig
from feedwatch.core.decide import body_digest
from feedwatch.edges.store import Store
from feedwatch.types import Source

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def rss(n: int, word: str = "Bericht") -> bytes:
    items = "".join(
        f"<item><title>{word} {i} over de opvang</title><link>https://bron.example.nl/{i}</link>"
        f"<description>Tekst {i}</description>"
        f"<pubDate>Fri, {20 - i:02d} Nov 2026 10:00:00 +0000</pubDate></item>"
        for i in range(n)
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{items}</channel></rss>"
    ).encode()


def config(*sources: Source) -> Config:
    return Config(
        path=None, sources=sources, network=NetworkConfig(allow_private=True, host_delay=0.0)
    )


def clock() -> datetime:
    return NOW


async def test_identical_body_is_skipped_but_logged(store: Store, http_server: TestServer) -> None:
    http_server.route("/a.xml", body=rss(4))  # no validators: every fetch is a 200
    cfg = config(Source(key="a", name="a", url=http_server.url("/a.xml"), kind="rss"))
    first = await run_fetch(cfg, store, every=True, clock=clock)
    assert (first.outcomes[0].outcome, first.outcomes[0].new) == ("ok", 4)
    digest, n = store.body_hashes(["a"])["a"]
    assert n == 4 and len(digest) == 64

    later = lambda: NOW + timedelta(hours=2)  # noqa: E731
    again = await run_fetch(cfg, store, every=True, clock=later)
    o = again.outcomes[0]
    assert (o.outcome, o.http_status, o.new, o.updated, o.unchanged) == ("ok", 200, 0, 0, 4)
    assert http_server.hits("/a.xml") == 2
    log = store.fetch_log("a")
    assert [(r["outcome"], r["new"], r["unchanged"]) for r in log] == [("ok", 0, 4), ("ok", 4, 0)]
    state = store.source_states(["a"])["a"]
    assert state.next_check_at is not None and state.next_check_at > later()
    assert store.body_hashes(["a"])["a"] == (digest, 4)

    # a changed body is read again, and its digest replaces the old one
    http_server.route("/a.xml", body=rss(6))
    third = await run_fetch(cfg, store, every=True, clock=later)
    assert (third.outcomes[0].new, third.outcomes[0].unchanged) == (2, 4)
    assert store.body_hashes(["a"])["a"][0] != digest
    assert store.count_items() == 6


async def test_skip_is_not_taken_when_reading_depends_on_something_else(
    store: Store, http_server: TestServer
) -> None:
    http_server.route("/a.xml", body=rss(3))
    source = Source(key="a", name="a", url=http_server.url("/a.xml"), kind="rss")
    await run_fetch(config(source), store, every=True, clock=clock, classifier_version="v1")
    # new topic rules: the same body is read again (and scored by the new rules' items)
    again = await run_fetch(config(source), store, every=True, clock=clock, classifier_version="v2")
    assert again.outcomes[0].unchanged == 3
    assert store.body_hashes(["a"])["a"][0] == body_digest(source, rss(3), "v2")
    assert body_digest(source, rss(3), "v2") != body_digest(
        replace(source, keep="topical"), rss(3), "v2"
    )
    # a new URL in the config forgets the digest
    http_server.route("/b.xml", body=rss(3))
    moved = replace(source, url=http_server.url("/b.xml"))
    store.sync_sources([moved], NOW)
    assert store.body_hashes(["a"]) == {}


async def test_a_body_that_failed_to_parse_is_never_skipped(
    store: Store, http_server: TestServer
) -> None:
    http_server.route("/a.xml", body=b"<rss version='2.0'><channel><item><title>kapot")
    cfg = config(Source(key="a", name="a", url=http_server.url("/a.xml"), kind="rss"))
    for _ in range(2):
        result = await run_fetch(cfg, store, every=True, clock=clock)
        assert result.outcomes[0].outcome == "error"
    assert store.body_hashes(["a"]) == {}


async def test_sitemaps_are_always_read(store: Store, http_server: TestServer) -> None:
    smap = (
        "<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        "<url><loc>https://bron.example.nl/nieuws/1</loc><lastmod>2026-11-20</lastmod></url>"
        "</urlset>"
    )
    http_server.route("/robots.txt", body="User-agent: *\nAllow: /\n")
    http_server.route("/sitemap.xml", body=smap)
    cfg = config(Source(key="s", name="s", url=http_server.url("/sitemap.xml"), kind="sitemap"))
    for _ in range(2):
        await run_fetch(cfg, store, every=True, clock=clock, enrich_limit=0)
    assert store.body_hashes(["s"]) == {}
