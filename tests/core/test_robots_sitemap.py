"""robots.txt rules (RFC 9309 matching over urllib.robotparser), sitemap parsing, and the
Last-Modified trust rule; all pure."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from feedwatch.core.decide import trusted_last_modified
from feedwatch.core.extract import Extracted, extract, resolve_kind
from feedwatch.core.extract.sitemap import newest_first, parse_sitemap, sitemap_items
from feedwatch.edges.http.robots import is_allowed, parse_robots, robots_url
from feedwatch.types import FetchResult, Source

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

ROBOTS = """\
# comment
User-agent: *
Disallow: /

User-agent: FeedWatch
Disallow: /nieuws/
Allow: /nieuws/openbaar
Disallow: /*?pagina=
Disallow: /*.pdf$
"""


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/", True),  # our group, not the "*" one
        ("/nieuws/geheim", False),
        ("/nieuws/openbaar-bericht", True),  # the longer Allow wins
        ("/lijst?pagina=2", False),  # * wildcard
        ("/lijst?sort=datum", True),
        ("/stukken/brief.pdf", False),  # $ anchors the end
        ("/stukken/brief.pdf.html", True),
    ],
)
def test_our_group_with_longest_match_and_wildcards(path: str, allowed: bool) -> None:
    assert is_allowed(parse_robots(ROBOTS), f"https://bron.example.nl{path}") is allowed


def test_other_agents_group_and_empty_file() -> None:
    star = parse_robots("User-agent: *\nDisallow: /intern/\n")
    assert not is_allowed(star, "https://a.example.nl/intern/x")
    assert is_allowed(star, "https://a.example.nl/extern/x")
    assert is_allowed(parse_robots(""), "https://a.example.nl/alles")
    other = parse_robots("User-agent: googlebot\nDisallow: /\n")
    assert is_allowed(other, "https://a.example.nl/x")


def test_robots_url_is_per_origin() -> None:
    assert (
        robots_url("https://WWW.Example.nl:8443/a/b?c=1")
        == "https://www.example.nl:8443/robots.txt"
    )
    assert robots_url("ftp://example.nl/x") is None


# ---------------------------------------------------------------------------------- sitemaps

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://bron.example.nl/oud</loc><lastmod>2026-10-01</lastmod></url>
  <url><loc> https://bron.example.nl/nieuw </loc><lastmod>2026-11-20T10:00:00+01:00</lastmod></url>
  <url><loc>https://bron.example.nl/zonder-datum</loc></url>
  <url><loc>https://bron.example.nl/nieuws</loc>
    <news:news><news:publication><news:name>Bron</news:name><news:language>nl</news:language>
    </news:publication><news:publication_date>2026-11-18</news:publication_date>
    <news:title>Kabinet  presenteert spreidingsplan</news:title></news:news></url>
  <url><loc>javascript:alert(1)</loc></url>
  <url><loc>https://bron.example.nl/oud</loc></url>
</urlset>"""


def test_urlset_with_lastmod_and_google_news() -> None:
    sm = parse_sitemap(URLSET, now=NOW)
    assert sm.kind == "urlset"
    assert [e.url for e in sm.entries] == [
        "https://bron.example.nl/oud",
        "https://bron.example.nl/nieuw",
        "https://bron.example.nl/zonder-datum",
        "https://bron.example.nl/nieuws",
    ]
    assert sm.entries[1].lastmod == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    news = sm.entries[3]
    assert (news.title, news.lang) == ("Kabinet presenteert spreidingsplan", "nl")
    assert news.published == datetime(2026, 11, 17, 23, 0, tzinfo=UTC)  # Amsterdam midnight
    assert [e.url.rsplit("/", 1)[-1] for e in newest_first(sm.entries)] == [
        "nieuw",
        "nieuws",
        "oud",
        "zonder-datum",
    ]
    items = sitemap_items(list(sm.entries), 2)
    assert [(i.link, i.date_source) for i in items] == [
        ("https://bron.example.nl/nieuw", None),  # lastmod is never a publication date
        ("https://bron.example.nl/nieuws", "feed"),
    ]
    assert items[0].published is None and items[1].title == "Kabinet presenteert spreidingsplan"


def test_sitemap_index_and_gzip() -> None:
    index = (
        b"<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        b"<sitemap><loc>https://bron.example.nl/s1.xml</loc><lastmod>2026-11-01</lastmod></sitemap>"
        b"<sitemap><loc>https://bron.example.nl/s2.xml.gz</loc></sitemap></sitemapindex>"
    )
    sm = parse_sitemap(gzip.compress(index), now=NOW)
    assert sm.kind == "index"
    assert sm.entries[0].lastmod == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    assert [e.url for e in sm.entries] == [
        "https://bron.example.nl/s1.xml",
        "https://bron.example.nl/s2.xml.gz",
    ]


def test_entities_are_not_expanded_and_nothing_is_fetched() -> None:
    evil = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY ext SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://bron.example.nl/&b;</loc></url><url><loc>&ext;</loc></url>
<url><loc>https://bron.example.nl/gewoon</loc></url></urlset>"""
    sm = parse_sitemap(evil, now=NOW)
    urls = [e.url for e in sm.entries]
    assert urls == ["https://bron.example.nl/", "https://bron.example.nl/gewoon"]
    assert not any("aaaa" in u or "root:" in u for u in urls)


@pytest.mark.parametrize(
    "body", [b"", b"<html><body>geen sitemap</body></html>", b"<urlset><url>", b"\x1f\x8bkapot"]
)
def test_not_a_sitemap_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_sitemap(body, now=NOW)


def test_extract_dispatches_sitemaps_and_auto_sniffs_them() -> None:
    source = Source(key="s", name="s", url="https://bron.example.nl/sitemap.xml", kind="auto")
    result = FetchResult(
        "s", source.url, source.url, 200, {"content-type": "application/xml"}, URLSET
    )
    assert resolve_kind(source, result) == "sitemap"
    got = extract(source, result, NOW)
    assert isinstance(got, Extracted) and len(got.items) == 4


# --------------------------------------------------------------------- Last-Modified trust


def _res(
    url: str, last_modified: str | None, date: str = "Sun, 22 Nov 2026 08:59:00 GMT"
) -> FetchResult:
    headers = {"date": date}
    if last_modified:
        headers["last-modified"] = last_modified
    return FetchResult("k", url, url, 200, headers, b"")


def test_last_modified_is_trusted_only_when_it_looks_like_the_page_s_own() -> None:
    listing = _res("l", "Wed, 11 Nov 2026 10:00:00 GMT")
    responses = {
        "unique": _res("unique", "Tue, 10 Nov 2026 08:00:00 GMT"),
        "shared-1": _res("s1", "Mon, 16 Nov 2026 12:00:00 GMT"),
        "shared-2": _res("s2", "Mon, 16 Nov 2026 12:00:00 GMT"),
        "just-served": _res("j", "Sun, 22 Nov 2026 08:55:00 GMT"),
        "as-listing": _res("a", "Wed, 11 Nov 2026 10:00:00 GMT"),
        "future": _res("f", "Mon, 23 Nov 2026 08:00:00 GMT"),
        "garbage": _res("g", "gisteren"),
        "none": _res("n", None),
        "ancient": _res("o", "Thu, 01 Jan 1970 00:00:00 GMT"),
    }
    assert trusted_last_modified(responses, NOW, listing=listing) == {
        "unique": datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
    }


@pytest.mark.parametrize(
    "codec", ["euc_kr", "euc-jp", "iso-2022-jp", "macintosh", "ks_c_5601-1987", "x-no-such"]
)
def test_sitemap_with_an_odd_encoding_name_never_raises_lookup_error(codec: str) -> None:
    body = (
        f'<?xml version="1.0" encoding="{codec}"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://x.example/a</loc></url></urlset>"
    ).encode("ascii")
    try:
        smap = parse_sitemap(body, now=NOW)
    except ValueError:
        return  # a clear "not well-formed" is fine; a LookupError is not
    assert [e.url for e in smap.entries] == ["https://x.example/a"]


def test_sitemap_declared_latin1_with_utf8_bytes_keeps_its_urls() -> None:
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        "<url><loc>https://x.example/caf%C3%A9</loc><news:news><news:title>Café open</news:title>"
        "<news:publication_date>2026-11-20T10:00:00Z</news:publication_date></news:news></url>"
        "</urlset>"
    ).encode()
    smap = parse_sitemap(body, now=NOW)
    assert smap.entries[0].title == "Café open"
