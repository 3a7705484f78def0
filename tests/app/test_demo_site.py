"""The offline demo mirror: every feed in demo/site parses cleanly, every HTML listing yields
dated items, demo/feeds.yaml points at them, demo/serve.py answers with validators, 304s and
gzip, and one pass of the pipeline over the mirror gets new items from every source."""

from __future__ import annotations

import calendar
import errno
import gzip
import http.client
import importlib.util
import io
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import feedparser
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "demo"
SITE = DEMO / "site"
API = SITE / "api"  # the open-data API mirrors of the connector sources (#17)
API_FILES = sorted(p for p in API.rglob("*") if p.is_file())
SITE_FILES = sorted(p for p in SITE.rglob("*") if p.is_file() and not p.is_relative_to(API))
CONNECTOR_KINDS = {"tweedekamer", "officielebekendmakingen", "rechtspraak", "woo", "cbs"}
HTML_FILES = [p for p in SITE_FILES if p.suffix == ".html"]
SITEMAP_FILES = [
    p
    for p in SITE_FILES
    if p.suffix == ".xml" and re.search(rb"<(urlset|sitemapindex)\b", p.read_bytes()[:600])
]
FEED_FILES = [p for p in SITE_FILES if p.suffix in (".xml", ".json") and p not in SITEMAP_FILES]
FEED_KINDS = {"rss", "atom", "json"}

ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
JSONFEED_11 = "https://jsonfeed.org/version/1.1"

# The demo's data window: items from the weeks before 2026-11-22, never in the future.
WINDOW_START = datetime(2026, 10, 1, tzinfo=UTC)
WINDOW_END = datetime(2026, 11, 22, tzinfo=UTC)


def _load_serve() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_serve", DEMO / "serve.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


serve = _load_serve()


def _rel(path: Path) -> str:
    return path.relative_to(SITE).as_posix()


def _xml_items(root: ET.Element) -> tuple[str, list[ET.Element]]:
    """The feed family by root element, and its item elements counted without feedparser."""
    if root.tag == "rss":
        return "rss20", root.findall("./channel/item")
    if root.tag == f"{ATOM}feed":
        return "atom10", root.findall(f"./{ATOM}entry")
    if root.tag == f"{RDF}RDF":
        return "rss10", root.findall(f"./{RSS1}item")
    raise AssertionError(f"unexpected root element {root.tag}")


def _parsed_dates(path: Path) -> list[datetime | None]:
    """Each entry's date (published, else updated) as aware UTC, None when it has none."""
    data = path.read_bytes()
    if path.suffix == ".json":
        items = json.loads(data)["items"]
        return [
            datetime.fromisoformat(i["date_published"]).astimezone(UTC)
            if "date_published" in i
            else None
            for i in items
        ]
    out: list[datetime | None] = []
    for entry in feedparser.parse(io.BytesIO(data)).entries:
        st = entry.get("published_parsed") or entry.get("updated_parsed")
        out.append(datetime.fromtimestamp(calendar.timegm(st), UTC) if st else None)
    return out


def test_site_has_the_planned_sources() -> None:
    assert 8 <= len(FEED_FILES) <= 11
    assert len(SITEMAP_FILES) == 3
    assert sum(p.stat().st_size for p in SITE_FILES) < 400_000
    assert set(SITE_FILES) == set(FEED_FILES) | set(SITEMAP_FILES) | set(HTML_FILES) | {
        SITE / "robots.txt"
    }
    families = set()
    for path in FEED_FILES:
        if path.suffix == ".json":
            families.add("json")
        else:
            families.add(_xml_items(ET.parse(path).getroot())[0])
    assert families == {"rss20", "rss10", "atom10", "json"}


@pytest.mark.parametrize("path", [p for p in FEED_FILES if p.suffix != ".json"], ids=_rel)
def test_xml_feed_parses_cleanly(path: Path) -> None:
    data = path.read_bytes()
    family, elements = _xml_items(ET.fromstring(data))
    parsed = feedparser.parse(io.BytesIO(data))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == family
    assert len(parsed.entries) == len(elements)
    assert 10 <= len(parsed.entries) <= 30
    ids = [e.get("id") or e.get("link") for e in parsed.entries]
    assert len(set(ids)) == len(ids), "entry identities must be unique within a feed"
    for entry in parsed.entries:
        assert entry.get("title", "").strip()
        assert entry.get("link", "").startswith("https://")


@pytest.mark.parametrize("path", [p for p in FEED_FILES if p.suffix == ".json"], ids=_rel)
def test_json_feed_is_valid(path: Path) -> None:
    feed = json.loads(path.read_bytes())
    assert feed["version"] == JSONFEED_11
    assert feed["title"] and feed["home_page_url"].startswith("https://")
    items = feed["items"]
    assert 10 <= len(items) <= 30
    assert len({i["id"] for i in items}) == len(items)
    for item in items:
        assert isinstance(item["id"], str) and item["id"]
        assert item["url"].startswith("https://")
        assert item["title"].strip()
        assert item.get("content_html") or item.get("content_text")
        for key in ("date_published", "date_modified"):
            if key in item:
                assert datetime.fromisoformat(item[key]).tzinfo is not None


def test_dates_lie_in_the_past_window_and_exactly_one_entry_is_undated() -> None:
    undated: list[str] = []
    for path in FEED_FILES:
        dates = _parsed_dates(path)
        undated += [_rel(path)] * dates.count(None)
        for when in dates:
            if when is not None:
                assert WINDOW_START <= when < WINDOW_END, f"{_rel(path)}: {when}"
    assert len(undated) == 1, undated


def test_mirror_carries_the_awkward_cases() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in FEED_FILES)
    assert "utm_source=rss" in text
    assert all(ch in text for ch in "ëéï")
    assert "&lt;p&gt;" in text and "<![CDATA[<p>" in text  # escaped and CDATA HTML
    assert re.search(r'<guid isPermaLink="false">', text)
    assert re.search(r"ECLI:NL:RVS:2026:\d+, Raad van State, \d\d-\d\d-2026, \d+/1/V\d", text)


# ------------------------------------------------------------------------ demo/feeds.yaml

SOURCE_KEYS = {
    "key",
    "name",
    "organisation",
    "url",
    "kind",
    "interval",
    "enabled",
    "keep",
    "selectors",
    "max_pages",
    # connector sources (#17)
    "since",
    "dossiers",
    "creators",
    "subjects",
    "publishers",
    "table",
    "pause",
    "domain",
}


def _config() -> dict[str, Any]:
    data = yaml.safe_load((DEMO / "feeds.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_config_has_the_interface_shape() -> None:
    config = _config()
    assert set(config) <= {"defaults", "network", "sources", "follow"}
    assert config["network"]["allow_private"] == ["127.0.0.1/32"]
    keys = [s["key"] for s in config["sources"]]
    assert len(set(keys)) == len(keys)
    for source in config["sources"]:
        assert set(source) <= SOURCE_KEYS, source["key"]
        assert {"key", "name", "organisation", "url"} <= set(source)
        assert re.fullmatch(r"[a-z0-9-]+", source["key"])
        assert source["name"].endswith("(demo)")
        assert source.get("enabled", True) is True


def test_every_source_points_at_a_mirror_file_of_its_kind() -> None:
    referenced: set[Path] = set()
    for source in _config()["sources"]:
        url = urlsplit(source["url"])
        assert (url.scheme, url.hostname, url.port) == ("http", "127.0.0.1", serve.DEFAULT_PORT)
        path = SITE / url.path.lstrip("/")
        if source.get("kind") in CONNECTOR_KINDS:  # the mirror of an API's root
            assert path.is_relative_to(API) and (
                path.is_dir() or path.with_suffix(".xml").is_file()
            )
            continue
        assert path.is_file(), f"{source['key']}: {url.path} is not in demo/site"
        referenced.add(path)
        if source["kind"] in ("html", "auto") and path.suffix == ".html":
            continue
        if source["kind"] == "sitemap":
            assert path in SITEMAP_FILES
            continue
        if path.suffix == ".json":
            assert source["kind"] == "json"
        else:
            family = _xml_items(ET.parse(path).getroot())[0]
            assert source["kind"] == ("atom" if family == "atom10" else "rss"), source["key"]
    assert set(FEED_FILES) <= referenced, "every mirror feed is fetched by one source"


# ------------------------------------------------------------------------- demo/serve.py


@pytest.fixture
def server() -> Iterator[Any]:
    srv, thread = serve.start_server(0)
    try:
        yield srv
    finally:
        serve.stop_server(srv, thread)


def _get(
    port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp, resp.read()
    finally:
        conn.close()


def _feed_path(suffix: str) -> Path:
    return next(p for p in FEED_FILES if p.suffix == suffix)


def test_server_answers_200_then_304_for_the_etag(server: Any) -> None:
    path = _feed_path(".xml")
    url = "/" + _rel(path)
    resp, body = _get(server.port, url)
    assert resp.status == 200
    assert body == path.read_bytes()
    assert resp.getheader("Content-Length") == str(len(body))
    etag = resp.getheader("ETag")
    last_modified = resp.getheader("Last-Modified")
    assert etag and etag.startswith('"') and not etag.startswith("W/")
    assert last_modified

    resp, body = _get(server.port, url, {"If-None-Match": etag})
    assert (resp.status, body) == (304, b"")
    assert resp.getheader("ETag") == etag

    resp, body = _get(server.port, url, {"If-Modified-Since": last_modified})
    assert (resp.status, body) == (304, b"")

    # If-None-Match wins over If-Modified-Since: an old tag means a full answer.
    resp, body = _get(
        server.port, url, {"If-None-Match": '"stale"', "If-Modified-Since": last_modified}
    )
    assert resp.status == 200 and body == path.read_bytes()


def test_server_sets_the_content_type_per_format(server: Any) -> None:
    for path in FEED_FILES:
        resp, _ = _get(server.port, "/" + _rel(path), method="HEAD")
        ctype = resp.getheader("Content-Type", "")
        if path.suffix == ".json":
            assert ctype.startswith("application/feed+json")
        else:
            family = _xml_items(ET.parse(path).getroot())[0]
            expected = {"rss20": "rss", "rss10": "rdf", "atom10": "atom"}[family]
            assert ctype.startswith(f"application/{expected}+xml"), (_rel(path), ctype)


def test_server_gzips_when_accepted(server: Any) -> None:
    path = _feed_path(".json")
    url = "/" + _rel(path) + "?query=ignored"
    resp, body = _get(server.port, url, {"Accept-Encoding": "gzip, deflate"})
    assert resp.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(body) == path.read_bytes()
    etag = resp.getheader("ETag")
    assert etag
    resp, body = _get(server.port, url, {"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert (resp.status, body) == (304, b"")
    resp, body = _get(server.port, url, {"Accept-Encoding": "gzip;q=0, identity"})
    assert resp.getheader("Content-Encoding") is None and body == path.read_bytes()


def test_server_refuses_missing_files_and_paths_outside_the_site(server: Any) -> None:
    for url in ("/nope.xml", "/../serve.py", "/%2e%2e/run.py", "/politie/"):
        resp, _ = _get(server.port, url)
        assert resp.status == 404, url


def test_changed_file_gets_a_new_etag(tmp_path: Path) -> None:
    feed = tmp_path / "a.xml"
    feed.write_text("<rss version='2.0'><channel><title>x</title></channel></rss>")
    srv, thread = serve.start_server(0, tmp_path)
    try:
        first, _ = _get(srv.port, "/a.xml")
        feed.write_text("<rss version='2.0'><channel><title>yz</title></channel></rss>")
        resp, body = _get(srv.port, "/a.xml", {"If-None-Match": first.getheader("ETag", "")})
        assert resp.status == 200 and b"yz" in body
        assert resp.getheader("ETag") != first.getheader("ETag")
    finally:
        serve.stop_server(srv, thread)


def test_busy_port_raises_address_in_use(server: Any) -> None:
    with pytest.raises(OSError) as info:
        serve.start_server(server.port)
    assert info.value.errno == errno.EADDRINUSE
    assert str(server.port) in serve.port_busy_message(server.port)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", True),
        ("br, gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("*", True),
        ("br", False),
        ("", False),
        ("*, gzip;q=0", False),
    ],
)
def test_accepts_gzip(header: str, expected: bool) -> None:
    assert serve.accepts_gzip(header) is expected


def test_etag_matching_is_weak_and_takes_lists() -> None:
    assert serve.etag_matches('W/"abc"', ('"abc"',))
    assert serve.etag_matches('"x", "abc"', ('"abc"',))
    assert serve.etag_matches("*", ('"abc"',))
    assert not serve.etag_matches('"abcd"', ('"abc"',))


# ---------------------------------------------------------------- HTML listings and sitemaps


def _html_sources() -> list[dict[str, Any]]:
    return [
        s
        for s in _config()["sources"]
        if s["kind"] in ("html", "auto") and s["url"].endswith(".html")
    ]


def test_every_html_source_of_the_real_config_has_a_demo_listing() -> None:
    real = yaml.safe_load((REPO / "config" / "feeds.yaml").read_text(encoding="utf-8"))
    real_html = {s["key"] for s in real["sources"] if s.get("kind") == "html"}
    demo_keys = {s["key"] for s in _html_sources()}
    assert real_html <= demo_keys, real_html - demo_keys
    assert len(demo_keys) >= 13


@pytest.mark.parametrize("source", _html_sources(), ids=lambda s: s["key"])
def test_every_listing_yields_items_on_the_mirror(source: dict[str, Any]) -> None:
    from feedwatch.core.extract.listing import extract_listing
    from feedwatch.types import Selectors

    path = SITE / urlsplit(source["url"]).path.lstrip("/")
    sel = Selectors(**source["selectors"]) if source.get("selectors") else None
    items = extract_listing(path.read_bytes(), source["url"], selectors=sel, now=WINDOW_END)
    assert 3 <= len(items) <= 10  # at most the enrichment cap
    for item in items:
        assert item.link and urlsplit(item.link).netloc == f"127.0.0.1:{serve.DEFAULT_PORT}"
        assert item.title and len(item.title.split()) >= 2
        if item.published is not None:
            assert WINDOW_START <= item.published < WINDOW_END
        if item.published is None or not item.summary:  # enrichment will fetch this page
            target = SITE / urlsplit(item.link).path.lstrip("/")
            assert target.is_file() or target.parts[-2] == "intern", item.link


def test_mirror_pages_never_link_off_the_mirror() -> None:
    for path in HTML_FILES:
        for href in re.findall(r'href="([^"]*)"', path.read_text(encoding="utf-8")):
            assert href.startswith("/"), f"{_rel(path)}: {href}"
    for path in SITEMAP_FILES:
        for loc in re.findall(r"<loc>([^<]*)</loc>", path.read_text(encoding="utf-8")):
            assert loc.startswith(f"http://127.0.0.1:{serve.DEFAULT_PORT}/")
            assert (SITE / urlsplit(loc).path.lstrip("/")).is_file(), loc


def test_robots_txt_keeps_feedwatch_out_of_the_drafts() -> None:
    from feedwatch.edges.http.robots import is_allowed, parse_robots

    rules = parse_robots((SITE / "robots.txt").read_text(encoding="utf-8"))
    base = f"http://127.0.0.1:{serve.DEFAULT_PORT}"
    assert not is_allowed(rules, base + "/coa/intern/concept-persbericht.html")
    assert all(
        is_allowed(rules, base + "/" + _rel(p)) for p in HTML_FILES if "intern" not in p.parts
    )


def test_one_pipeline_pass_over_the_mirror_gets_items_from_every_source(tmp_path: Path) -> None:
    import asyncio

    from feedwatch.app.pipeline import run_fetch
    from feedwatch.config.sources import load_config
    from feedwatch.edges.store import ItemQuery, Store

    srv, thread = serve.start_server(0)
    try:
        text = (DEMO / "feeds.yaml").read_text(encoding="utf-8")
        moved = tmp_path / "feeds.yaml"
        moved.write_text(text.replace(f":{serve.DEFAULT_PORT}/", f":{srv.port}/"), encoding="utf-8")
        config = load_config(moved)
        store = Store(f"sqlite:///{tmp_path / 'demo.db'}")
        try:
            result = asyncio.run(run_fetch(config, store, every=True))
            assert [(o.key, o.outcome) for o in result.outcomes if o.outcome != "ok"] == []
            assert [o.key for o in result.outcomes if o.new == 0] == []
            rows = list(
                store.iter_items(ItemQuery(sources=tuple(s["key"] for s in _html_sources())))
            )
            by_source: dict[str, set[str]] = {}
            for row in rows:
                by_source.setdefault(row.item.source, set()).add(row.item.date_source)
            assert by_source["ministerie-jenv"] == {"page-meta"}
            assert by_source["tweede-kamer-brieven-am"] == {"page-text"}
            assert "first-seen" in by_source["coa-nieuws"]  # one item page shows no date
            assert by_source["vluchtelingenwerk-nieuws"] == {"listing"}
            coa = [o for o in result.outcomes if o.key == "coa-persberichten"][0]
            assert any("robots.txt" in w for w in coa.warnings)
            assert_dossier_across_sources(store, db=f"sqlite:///{tmp_path / 'demo.db'}", cfg=moved)
            again = asyncio.run(run_fetch(config, store, every=True))
            assert sum(o.new for o in again.outcomes) == 0
        finally:
            store.close()
    finally:
        serve.stop_server(srv, thread)


# -------------------------------------------------------------- open-data connectors (#17)


def assert_dossier_across_sources(store: Any, db: str, cfg: Path) -> None:
    """`feedwatch dossier kamerstuk:36704` on the demo: parliament, official publications and a
    ministry's news, in date order."""
    from click.testing import CliRunner

    from feedwatch.cli import cli

    rows = store.dossier("kamerstuk:36704")
    sources = {r.item.source for r in rows}
    assert {"tk-asieldossiers", "ob-asiel-en-migratie", "rijksoverheid-asiel-zoek"} <= sources
    assert {"officiele-bekendmakingen-aenm", "rvs-vreemdelingenrecht", "woo-asiel-en-migratie"} <= (
        sources
    )
    res = CliRunner().invoke(
        cli,
        [
            "--config",
            str(cfg),
            "--database-url",
            db,
            "dossier",
            "kamerstuk:36704",
            "--format",
            "jsonl",
        ],
    )
    assert res.exit_code == 0, res.output
    records = [json.loads(line) for line in res.output.splitlines()]
    assert [r["date"] for r in records] == sorted(r["date"] for r in records)
    assert [r["source"] for r in records] == [r.item.source for r in rows]
    news = [r for r in records if r["source"] == "rijksoverheid-asiel-zoek"]
    assert news and news[0]["doc_kind"] == "bericht"
    kinds = {r["doc_kind"] for r in records if r["source"] == "tk-asieldossiers"}
    assert {"Wetgeving", "Motie", "Amendement"} <= kinds


def test_api_mirrors_read_with_the_connectors_parsers() -> None:
    from feedwatch.core.connectors import (
        cbs,
        officielebekendmakingen,
        rechtspraak,
        tweedekamer,
        woo,
    )

    read = 0
    for path in API_FILES:
        rel = path.relative_to(API).as_posix()
        body = path.read_bytes()
        if rel.startswith("tweedekamer/"):
            coll = "Zaak" if path.name.startswith("Zaak") else "Document"
            assert tweedekamer.parse(body, "demo", "http://127.0.0.1:8765/api", coll).records
        elif rel.startswith("koop/"):
            assert len(officielebekendmakingen.parse(body, "demo", "http://x/sru").records) == 3
        elif rel.startswith("rechtspraak/uitspraken/content/"):
            assert rechtspraak.parse_meta(body, "demo")["issued"].startswith("2026-11")
        elif rel.startswith("rechtspraak/"):
            assert rechtspraak.parse(body, "demo", "http://x/zoeken?from=0&max=100").records
        elif rel.endswith("/zoek.json"):
            assert woo.parse(body, "demo", "http://x/zoek", cursor=None, publishers=()).records
        elif "/zoek/" in rel:
            assert len(woo.parse_detail(body, "demo")["file_hash"]) == 64
        elif rel.endswith("TableInfos.json"):
            assert cbs.parse_info(body, "demo")[0] == "2026-11-17T02:00:00"
        else:
            assert rel.endswith("TypedDataSet.json") and cbs.parse_rows(body, "demo", "http://x")[0]
        read += 1
    assert read == len(API_FILES) == 13


def test_server_answers_api_paths_without_a_suffix_and_by_query_value(server: Any) -> None:
    resp, body = _get(
        server.port, "/api/open-overheid/overheid/openbaarmakingen/api/v0/zoek?start=0"
    )
    assert resp.status == 200 and json.loads(body)["totaal"] == 3
    resp, body = _get(
        server.port, "/api/rechtspraak/uitspraken/content?id=ECLI:NL:RVS:2026:7012&return=META"
    )
    assert resp.status == 200 and b"ECLI:NL:RVS:2026:7012" in body
    resp, _ = _get(server.port, "/api/rechtspraak/uitspraken/content?id=../../robots")
    assert resp.status == 404
