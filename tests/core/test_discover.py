"""Feed discovery on pages, the common-path list and sniffing what a body is."""

from __future__ import annotations

import pytest

from feedwatch.core.extract.discover import (
    COMMON_FEED_PATHS,
    DiscoveredFeed,
    common_feed_urls,
    discover_feeds,
    sniff_kind,
)

PAGE = b"""<!doctype html><html><head>
<link rel="alternate" type="application/rss+xml" title="Reacties op alles" href="/comments/feed/">
<link rel="alternate" type="application/rss+xml" title="Nieuws" href="/feed/">
<link rel="alternate" type="application/atom+xml" href="https://cdn.example.org/atom.xml">
<link rel="alternate" type="application/feed+json" title="JSON" href="feed.json">
<link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/12">
<link rel="alternate" hreflang="en" href="/en/">
<link rel="stylesheet" type="text/css" href="/style.css">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
</head><body>
<a href="/feed/">RSS</a>
<a href="/nieuws/rss.xml">Abonneer op het nieuws</a>
<a href="https://www.site.example/actueel?format=atom">Atom-feed van actueel</a>
<a href="/nieuws/feestdagen">Feestdagen</a>
<a href="mailto:feed@site.example">feed</a>
</body></html>"""


def test_discover_alternates_then_links_comments_last() -> None:
    got = discover_feeds(PAGE, "https://www.site.example/nieuws/")
    assert got == [
        DiscoveredFeed("https://www.site.example/feed/", "rss", "Nieuws"),
        DiscoveredFeed("https://cdn.example.org/atom.xml", "atom", None),
        DiscoveredFeed("https://www.site.example/nieuws/feed.json", "json", "JSON"),
        DiscoveredFeed("https://www.site.example/nieuws/rss.xml", "rss", "Abonneer op het nieuws"),
        DiscoveredFeed(
            "https://www.site.example/actueel?format=atom", "atom", "Atom-feed van actueel"
        ),
        DiscoveredFeed("https://www.site.example/comments/feed/", "rss", "Reacties op alles"),
    ]


def test_discover_on_page_without_feeds() -> None:
    body = b"<html><body><a href='/over'>Over ons</a><a href='/feestdagen'>Feest</a></body></html>"
    assert discover_feeds(body, "https://x.example/") == []
    assert discover_feeds(b"", "https://x.example/") == []


def test_common_feed_paths() -> None:
    for path in ("/feed/", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml"):
        assert path in COMMON_FEED_PATHS
    assert len(set(COMMON_FEED_PATHS)) == len(COMMON_FEED_PATHS)
    urls = common_feed_urls("https://www.site.example/nieuws/lijst?page=2")
    assert urls[0] == "https://www.site.example/feed/"
    assert all(u.startswith("https://www.site.example/") for u in urls)
    assert common_feed_urls("mailto:x@y.example") == []


RSS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<!-- gemaakt -->\n<rss version="2.0"><channel/></rss>'
)
RDF = b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
ATOM = b'\xef\xbb\xbf<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom"></feed>'
JSONFEED = b'{"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": []}'
HTML = b"<!DOCTYPE html>\n<html lang='nl'><head><title>x</title></head><body></body></html>"
UTF16_RSS = '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"></rss>'.encode("utf-16")


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (RSS, "application/rss+xml", "rss"),
        (RSS, "text/html; charset=utf-8", "rss"),  # mislabelled by the server: body wins
        (RDF, "application/xml", "rss"),
        (ATOM, "text/xml", "atom"),
        (ATOM, None, "atom"),
        (JSONFEED, "application/json", "json"),
        (JSONFEED, "text/plain", "json"),
        (HTML, "text/html", "html"),
        (HTML, "application/octet-stream", "html"),
        (b"<html><body>geen doctype</body></html>", None, "html"),
        (UTF16_RSS, None, "rss"),
        (b'{"data": []}', "application/json", None),  # JSON, but not a JSON Feed
        (b"", "application/atom+xml", "atom"),
        (b"", "text/html", "html"),
        (b"", None, None),
        (b"\x00\x01\x02", "application/octet-stream", None),
        (b"plain words", "text/plain", None),
    ],
)
def test_sniff_kind(body: bytes, content_type: str | None, kind: str | None) -> None:
    assert sniff_kind(body, content_type) == kind
