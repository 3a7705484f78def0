"""HTML, sitemap and auto sources through run_fetch against a real local server, on SQLite and
PostgreSQL: pagination, article enrichment, robots.txt, sitemaps and a never-seen listing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from httpserver import TestServer

from feedwatch.app.pipeline import run_fetch
from feedwatch.config.sources import Config, NetworkConfig
from feedwatch.edges.http.robots import RobotsCache
from feedwatch.edges.store import ItemQuery, Store
from feedwatch.types import Item, Source

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SERVED = "Sun, 22 Nov 2026 08:59:00 GMT"  # the Date header our routes send
AMS = ZoneInfo("Europe/Amsterdam")

pytestmark = pytest.mark.anyio


def clock() -> datetime:
    return NOW


def config(*sources: Source) -> Config:
    return Config(
        path=None,
        sources=sources,
        network=NetworkConfig(
            allow_private=True,
            host_delay=0.0,
            deadline=5.0,
            connect_timeout=2.0,
            read_timeout=2.0,
            max_body=256 * 1024,
        ),
    )


def html_source(key: str, url: str, *, max_pages: int = 1, kind: str = "html") -> Source:
    return Source(key=key, name=key, url=url, kind=kind, max_pages=max_pages)  # type: ignore[arg-type]


def page(body: str, title: str = "Nieuws") -> str:
    return (
        f"<!DOCTYPE html><html lang='nl'><head><meta charset='utf-8'><title>{title}</title>"
        f"</head><body><header><nav><a href='/'>Home</a> <a href='/over'>Over ons</a></nav>"
        f"</header><main>{body}</main><footer><a href='/privacy'>Privacy</a></footer></body></html>"
    )


def card(href: str, title: str, date: str | None = None, summary: str | None = None) -> str:
    d = f"<span class='datum'>{date}</span>" if date else ""
    s = f"<p>{summary}</p>" if summary else ""
    return f"<div class='kaart'><h3><a href='{href}'>{title}</a></h3>{d}{s}</div>"


def items_of(store: Store, key: str) -> dict[str, Item]:
    return {
        r.item.url.rsplit("/", 1)[-1]: r.item for r in store.iter_items(ItemQuery(sources=(key,)))
    }


def local_day(value: datetime | None) -> str | None:
    return value.astimezone(AMS).date().isoformat() if value is not None else None


# ------------------------------------------------------------------------------ pagination


async def test_pagination_follows_next_pages_on_the_first_fetch_only(
    store: Store, http_server: TestServer
) -> None:
    def listing(n: int, nxt: str | None) -> str:
        cards = "".join(
            card(
                f"/nieuws/p{n}-{i}.html",
                f"Bericht {i} op pagina {n} over opvang",
                f"{10 + i} november 2026",
                f"Korte samenvatting van bericht {i} op pagina {n}.",
            )
            for i in range(3)
        )
        pager = f"<nav class='pager'><a rel='next' href='{nxt}'>Volgende</a></nav>" if nxt else ""
        return page(cards + pager)

    http_server.route("/lijst.html", listing(1, "/lijst-2.html"))
    http_server.route("/lijst-2.html", listing(2, "/lijst-3.html"))
    http_server.route("/lijst-3.html", listing(3, None))
    cfg = config(html_source("p", http_server.url("/lijst.html"), max_pages=2))
    first = await run_fetch(cfg, store, every=True, clock=clock)
    assert (first.outcomes[0].outcome, first.outcomes[0].new) == ("ok", 6)
    assert http_server.hits("/lijst-2.html") == 1
    assert http_server.hits("/lijst-3.html") == 0  # max_pages = 2
    assert {k.split("-")[0] for k in items_of(store, "p")} == {"p1", "p2"}
    second = await run_fetch(cfg, store, every=True, clock=clock)
    assert second.outcomes[0].unchanged == 3
    assert http_server.hits("/lijst.html") == 2
    assert http_server.hits("/lijst-2.html") == 1  # not on later fetches


# ------------------------------------------------------------------------------ enrichment


def article(title: str, *, head: str = "", below_title: str = "") -> str:
    return (
        f"<!DOCTYPE html><html lang='nl'><head><meta charset='utf-8'><title>{title}</title>{head}"
        f"</head><body><nav><a href='/'>Home</a></nav><main><article><h1>{title}</h1>"
        f"{below_title}<p>Dit is de eerste alinea van het artikel, lang genoeg voor een samenvatting"
        f" van het bericht.</p></article></main></body></html>"
    )


def enrichment_site(http_server: TestServer) -> None:
    jsonld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": "Een",
            "datePublished": "2026-11-18T10:00:00+01:00",
        }
    )
    http_server.route(
        "/a/1.html",
        article(
            "Nieuwe opvanglocatie geopend",
            head=f"<script type='application/ld+json'>{jsonld}</script>",
        ),
        headers={"Date": SERVED},
    )
    http_server.route(
        "/a/2.html",
        article(
            "Wachttijden in het aanmeldcentrum",
            below_title="<p class='datum'>Gepubliceerd op 12 november 2026</p>",
        ),
        headers={"Date": SERVED},
    )
    http_server.route(
        "/a/3.html",
        article("Veelgestelde vragen over de procedure"),
        headers={"Date": SERVED, "Last-Modified": "Tue, 10 Nov 2026 08:00:00 GMT"},
    )
    for n in (4, 5):  # one Last-Modified for two pages: a deploy stamp, not a date
        http_server.route(
            f"/a/{n}.html",
            article(f"Achtergrondpagina {n} over asiel"),
            headers={"Date": SERVED, "Last-Modified": "Mon, 16 Nov 2026 12:00:00 GMT"},
        )
    http_server.route(
        "/a/6.html",
        article("Pagina die net is gegenereerd"),
        headers={"Date": SERVED, "Last-Modified": "Sun, 22 Nov 2026 08:58:30 GMT"},
    )
    cards = "".join(
        card(f"/a/{n}.html", f"Bericht nummer {n} over de asielopvang") for n in range(1, 7)
    )
    http_server.route("/overzicht.html", page(cards))


async def test_enrichment_takes_dates_and_summaries_from_article_pages(
    store: Store, http_server: TestServer
) -> None:
    enrichment_site(http_server)
    cfg = config(html_source("e", http_server.url("/overzicht.html")))
    result = await run_fetch(cfg, store, every=True, clock=clock)
    assert (result.outcomes[0].outcome, result.outcomes[0].new) == ("ok", 6)
    got = items_of(store, "e")
    assert (local_day(got["1.html"].published), got["1.html"].date_source) == (
        "2026-11-18",
        "page-meta",
    )
    assert (local_day(got["2.html"].published), got["2.html"].date_source) == (
        "2026-11-12",
        "page-text",
    )
    assert got["3.html"].date_source == "http-last-modified"
    assert got["3.html"].published == datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
    for n in (4, 5, 6):  # shared or just-served Last-Modified: not trusted
        assert (got[f"{n}.html"].published, got[f"{n}.html"].date_source) == (None, "first-seen")
    assert all(i.summary.startswith("Dit is de eerste alinea") for i in got.values())
    # titles stay the listing's, and the hash is the listing version's
    assert got["1.html"].title == "Bericht nummer 1 over de asielopvang"


async def test_enrichment_is_not_repeated_on_the_next_run(
    store: Store, http_server: TestServer
) -> None:
    enrichment_site(http_server)
    cfg = config(html_source("e", http_server.url("/overzicht.html")))
    await run_fetch(cfg, store, every=True, clock=clock)
    again = await run_fetch(cfg, store, every=True, clock=clock)
    o = again.outcomes[0]
    assert (o.new, o.updated, o.unchanged) == (0, 0, 6)
    assert all(http_server.hits(f"/a/{n}.html") == 1 for n in range(1, 7))
    assert items_of(store, "e")["1.html"].date_source == "page-meta"  # kept


async def test_changed_listing_item_is_enriched_again(
    store: Store, http_server: TestServer
) -> None:
    enrichment_site(http_server)
    cfg = config(html_source("e", http_server.url("/overzicht.html")))
    await run_fetch(cfg, store, every=True, clock=clock)
    cards = "".join(
        card(
            f"/a/{n}.html",
            f"Bericht nummer {n} over de asielopvang" + (" (bijgewerkt)" if n == 1 else ""),
        )
        for n in range(1, 7)
    )
    http_server.route("/overzicht.html", page(cards))
    again = await run_fetch(cfg, store, every=True, clock=clock)
    assert (again.outcomes[0].updated, again.outcomes[0].unchanged) == (1, 5)
    assert http_server.hits("/a/1.html") == 2 and http_server.hits("/a/2.html") == 1
    assert items_of(store, "e")["1.html"].date_source == "page-meta"


async def test_enrichment_is_capped_per_source_per_run(
    store: Store, http_server: TestServer
) -> None:
    enrichment_site(http_server)
    cfg = config(html_source("e", http_server.url("/overzicht.html")))
    result = await run_fetch(cfg, store, every=True, clock=clock, enrich_limit=2)
    assert sum(http_server.hits(f"/a/{n}.html") for n in range(1, 7)) == 2
    assert any("4 items not enriched" in w for w in result.outcomes[0].warnings)
    got = items_of(store, "e")
    assert sum(i.date_source != "first-seen" for i in got.values()) == 2


async def test_dated_listing_with_summaries_fetches_no_article(
    store: Store, http_server: TestServer
) -> None:
    cards = "".join(
        card(
            f"/b/{i}.html",
            f"Gemeente opent nieuwe locatie {i}",
            f"{i + 1} november 2026",
            "Een samenvatting van het bericht in de lijst.",
        )
        for i in range(4)
    )
    http_server.route("/b.html", page(cards))
    cfg = config(html_source("b", http_server.url("/b.html")))
    await run_fetch(cfg, store, every=True, clock=clock)
    assert sum(http_server.hits(f"/b/{i}.html") for i in range(4)) == 0
    assert {i.date_source for i in items_of(store, "b").values()} == {"listing"}


# --------------------------------------------------------------------------------- robots


async def test_robots_disallowed_listing_is_an_error_and_not_fetched(
    store: Store, http_server: TestServer
) -> None:
    http_server.route("/robots.txt", "User-agent: *\nDisallow: /prive/\n")
    http_server.route("/prive/lijst.html", page(card("/x.html", "Iets", "1 november 2026")))
    rss = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item><title>Feed"
        "</title><link>https://bron.example.nl/1</link><guid>g1</guid></item></channel></rss>"
    )
    http_server.route("/prive/feed.xml", rss)
    cfg = config(
        html_source("h", http_server.url("/prive/lijst.html")),
        Source(key="f", name="f", url=http_server.url("/prive/feed.xml"), kind="rss"),
    )
    result = await run_fetch(cfg, store, every=True, clock=clock)
    by_key = {o.key: o for o in result.outcomes}
    assert by_key["h"].outcome == "error"
    assert "robots.txt" in (by_key["h"].error or "") and "disallows" in (by_key["h"].error or "")
    assert http_server.hits("/prive/lijst.html") == 0
    assert (by_key["f"].outcome, by_key["f"].new) == ("ok", 1)  # feeds are not subject to robots
    assert store.source_states(["h"])["h"].last_error == by_key["h"].error
    assert store.fetch_log("h")[0]["error_kind"] == "robots"


async def test_robots_disallowed_article_is_skipped_with_a_warning(
    store: Store, http_server: TestServer
) -> None:
    http_server.route("/robots.txt", "User-agent: feedwatch\nDisallow: /concept/\n")
    http_server.route("/concept/1.html", article("Concept"))
    http_server.route("/open/2.html", article("Open"), headers={"Date": SERVED})
    http_server.route(
        "/l.html",
        page(
            card("/concept/1.html", "Een concept dat nog geheim is")
            + card("/open/2.html", "Een openbaar bericht over opvang")
            + card("/open/3.html", "Nog een openbaar bericht over opvang")
        ),
    )
    result = await run_fetch(
        config(html_source("r", http_server.url("/l.html"))), store, every=True, clock=clock
    )
    assert http_server.hits("/concept/1.html") == 0
    assert http_server.hits("/open/2.html") == 1
    assert any("disallows" in w and "/concept/1.html" in w for w in result.outcomes[0].warnings)


async def test_robots_is_fetched_once_per_host_and_cached_until_it_expires(
    store: Store, http_server: TestServer
) -> None:
    http_server.route("/robots.txt", "User-agent: *\nAllow: /\n")
    for n in (1, 2):
        http_server.route(
            f"/l{n}.html",
            page(
                "".join(
                    card(
                        f"/x{n}-{i}.html",
                        f"Bericht {i} van lijst {n} over opvang",
                        f"{i + 3} november 2026",
                        "Samenvatting die lang genoeg is.",
                    )
                    for i in range(3)
                )
            ),
        )
    cfg = config(
        html_source("l1", http_server.url("/l1.html")),
        html_source("l2", http_server.url("/l2.html")),
    )
    t = [0.0]
    cache = RobotsCache(ttl=100.0, clock=lambda: t[0])
    await run_fetch(cfg, store, every=True, clock=clock, robots=cache)
    assert http_server.hits("/robots.txt") == 1
    t[0] = 50.0
    await run_fetch(cfg, store, every=True, clock=clock, robots=cache)
    assert http_server.hits("/robots.txt") == 1
    t[0] = 150.0
    await run_fetch(cfg, store, every=True, clock=clock, robots=cache)
    assert http_server.hits("/robots.txt") == 2


@pytest.mark.parametrize(
    ("status", "allowed"), [(404, True), (410, True), (503, False), (500, False)]
)
async def test_robots_status_rules(
    store: Store, http_server: TestServer, status: int, allowed: bool
) -> None:
    http_server.route("/robots.txt", "kapot", status=status)
    http_server.route(
        "/l.html",
        page(
            "".join(
                card(
                    f"/y{i}.html",
                    f"Bericht {i} over de opvang van asielzoekers",
                    f"{i + 3} november 2026",
                    "Samenvatting die lang genoeg is.",
                )
                for i in range(3)
            )
        ),
    )
    result = await run_fetch(
        config(html_source("s", http_server.url("/l.html"))), store, every=True, clock=clock
    )
    assert (result.outcomes[0].outcome == "ok") is allowed
    assert http_server.hits("/l.html") == (1 if allowed else 0)
    if not allowed:
        assert "could not be read" in (result.outcomes[0].error or "")


# -------------------------------------------------------------------------------- sitemaps


def sitemap_site(http_server: TestServer) -> None:
    base = http_server.url("")
    news = "".join(
        f"<url><loc>{base}nieuws/{i}.html</loc><news:news><news:publication><news:name>X"
        f"</news:name><news:language>nl</news:language></news:publication>"
        f"<news:publication_date>2026-11-{10 + i}T09:00:00+01:00</news:publication_date>"
        f"<news:title>Nieuwsbericht {i} over migratie</news:title></news:news></url>"
        for i in range(3)
    )
    http_server.route(
        "/news-sitemap.xml",
        "<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9' "
        f"xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>{news}</urlset>",
    )
    pages = "".join(
        f"<url><loc>{base}doc/{i}.html</loc><lastmod>2026-11-0{i + 1}</lastmod></url>"
        for i in range(2)
    )
    http_server.route(
        "/docs-sitemap.xml",
        f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{pages}</urlset>",
    )
    http_server.route(
        "/sitemap.xml",
        "<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        f"<sitemap><loc>{base}news-sitemap.xml</loc><lastmod>2026-11-20</lastmod></sitemap>"
        f"<sitemap><loc>{base}docs-sitemap.xml</loc></sitemap></sitemapindex>",
    )
    for i in range(3):
        http_server.route(f"/nieuws/{i}.html", article(f"Nieuws {i}"), headers={"Date": SERVED})
    for i in range(2):
        http_server.route(
            f"/doc/{i}.html",
            article(
                f"Document {i} over inburgering",
                head=f"<meta property='article:published_time' content='2026-10-2{i}T10:00:00+02:00'>",
            ),
            headers={"Date": SERVED},
        )


async def test_sitemap_index_gives_items_with_dates_titles_and_enrichment(
    store: Store, http_server: TestServer
) -> None:
    sitemap_site(http_server)
    cfg = config(html_source("sm", http_server.url("/sitemap.xml"), kind="sitemap"))
    result = await run_fetch(cfg, store, every=True, clock=clock)
    assert (result.outcomes[0].outcome, result.outcomes[0].new) == ("ok", 5)
    got = {
        r.item.url.split("/", 3)[-1]: r.item for r in store.iter_items(ItemQuery(sources=("sm",)))
    }
    assert got["nieuws/1.html"].title == "Nieuwsbericht 1 over migratie"
    assert (local_day(got["nieuws/1.html"].published), got["nieuws/1.html"].date_source) == (
        "2026-11-11",
        "feed",
    )
    doc = got["doc/1.html"]
    assert (doc.title, local_day(doc.published), doc.date_source) == (
        "Document 1 over inburgering",
        "2026-10-21",
        "page-meta",
    )
    assert doc.summary.startswith("Dit is de eerste alinea")
    again = await run_fetch(cfg, store, every=True, clock=clock)
    assert (again.outcomes[0].new, again.outcomes[0].updated) == (0, 0)
    assert http_server.hits("/doc/1.html") == 1


async def test_robots_disallowed_sitemap_is_not_fetched(
    store: Store, http_server: TestServer
) -> None:
    sitemap_site(http_server)
    http_server.route("/robots.txt", "User-agent: feedwatch\nDisallow: /sitemap.xml\n")
    cfg = config(html_source("sm", http_server.url("/sitemap.xml"), kind="sitemap"))
    result = await run_fetch(cfg, store, every=True, clock=clock)
    assert result.outcomes[0].outcome == "error" and http_server.hits("/sitemap.xml") == 0


# -------------------------------------------------------------------- never-seen listings


NEVER_SEEN = """
<div class="blog-overview">
  <div class="row">
    <div class="col"><div class="tile">
      <img src="/img/1.jpg" alt="">
      <div class="tile-body"><small class="tile-meta">Nieuws · <time datetime="2026-11-19T14:05:00+01:00">19 nov</time></small>
      <h4 class="tile-heading"><a href="/actueel/raad-stemt-in-met-opvang">Raad stemt in met nieuwe opvanglocatie</a></h4>
      <p class="tile-text">De gemeenteraad koos na een lang debat voor de locatie aan de rand van het dorp.</p></div>
    </div></div>
    <div class="col"><div class="tile">
      <div class="tile-body"><small class="tile-meta">Nieuws · vr 13 november 2026</small>
      <h4 class="tile-heading"><a href="/actueel/inloopavond-statushouders">Inloopavond voor statushouders en buren</a></h4>
      <p class="tile-text">Nieuwe inwoners en buurtbewoners maken kennis bij koffie en soep.</p></div>
    </div></div>
    <div class="col"><div class="tile">
      <div class="tile-body"><small class="tile-meta">Persbericht · 3 nov. 2026, 16.30 uur</small>
      <h4 class="tile-heading"><a href="/actueel/taalles-voor-nieuwkomers">Taalles voor nieuwkomers uitgebreid</a></h4>
      <p class="tile-text">De bibliotheek biedt vanaf januari drie extra lesavonden.</p></div>
    </div></div>
  </div>
</div>
<aside class="sidebar"><h2>Populair</h2><ul><li><a href="/actueel/archief">Archief</a></li></ul></aside>
"""


async def test_never_seen_listing_without_selectors_gets_its_items_and_dates(
    store: Store, http_server: TestServer
) -> None:
    http_server.route("/gemeente/nieuws", page(NEVER_SEEN), content_type="text/html; charset=utf-8")
    cfg = config(html_source("g", http_server.url("/gemeente/nieuws"), kind="auto"))
    result = await run_fetch(cfg, store, every=True, clock=clock)
    assert (result.outcomes[0].outcome, result.outcomes[0].new) == ("ok", 3)
    got = items_of(store, "g")
    assert got["raad-stemt-in-met-opvang"].published == datetime(2026, 11, 19, 13, 5, tzinfo=UTC)
    assert got["inloopavond-statushouders"].published == datetime(2026, 11, 12, 23, 0, tzinfo=UTC)
    assert got["taalles-voor-nieuwkomers"].published == datetime(2026, 11, 3, 15, 30, tzinfo=UTC)
    assert {i.date_source for i in got.values()} == {"listing"}
    assert got["taalles-voor-nieuwkomers"].title == "Taalles voor nieuwkomers uitgebreid"
    assert sum(http_server.hits(f"/actueel/{k}") for k in got) == 0  # dated, with summaries
