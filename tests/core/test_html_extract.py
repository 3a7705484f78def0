"""HTML listing and article extraction against hand-written pages in tests/data/html/."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from feedwatch.core.extract import extract
from feedwatch.core.extract.article import extract_article
from feedwatch.core.extract.discover import discover_feeds
from feedwatch.core.extract.listing import extract_listing, validate_selectors
from feedwatch.core.extract.page import detect_encoding
from feedwatch.core.extract.paging import find_next_page
from feedwatch.types import FetchResult, Selectors, Source

DATA = Path(__file__).parents[1] / "data" / "html"
CASES = sorted(p.name for p in DATA.iterdir() if (p / "expected.yaml").exists())


def _load(name: str) -> tuple[dict[str, Any], Path]:
    folder = DATA / name
    expected = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
    return expected, folder


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _check_items(got: list[Any], expected: dict[str, Any], label: str) -> None:
    tolerated = set(expected.get("undated_or_absent", []))
    for item in got:
        if item.link in tolerated:
            assert item.published is None, f"{label}: theme link {item.link} got a date"
            assert item.date_source is None
    kept = [i for i in got if i.link not in tolerated]
    want = expected["items"]
    assert [i.link for i in kept] == [w["link"] for w in want], label
    for item, w in zip(kept, want, strict=True):
        assert item.title == w["title"], label
        assert item.published == _when(w.get("published")), f"{label}: {item.link}"
        if item.published is not None:
            assert item.published.tzinfo is not None
            assert item.published.utcoffset() is not None
            assert item.published.utcoffset().total_seconds() == 0
            assert item.date_source == "listing"
        else:
            assert item.date_source is None
        if "summary_starts" in w:
            assert item.summary is not None and item.summary.startswith(w["summary_starts"])
        assert item.link.startswith(("http://", "https://"))
    links = {i.link for i in got}
    titles = {i.title for i in got}
    for bad in expected.get("absent", []):
        assert bad not in links and bad not in titles, f"{label}: {bad} must not appear"


@pytest.mark.parametrize("name", CASES)
def test_fixture_page(name: str) -> None:
    expected, folder = _load(name)
    now = _when(expected["now"])
    assert now is not None
    url = expected["url"]
    if (folder / "listing.html").exists():
        body = (folder / "listing.html").read_bytes()
        got = extract_listing(body, url, selectors=None, now=now)
        _check_items(got, expected, f"{name} (generic)")
        for run in expected.get("selector_runs", []):
            sel = Selectors(**run["selectors"])
            got_sel = extract_listing(body, url, selectors=sel, now=now)
            _check_items(got_sel, run, f"{name} (selectors)")
        assert find_next_page(body, url) == expected.get("next_page")
        if "feeds" in expected:
            found = [[f.url, f.kind] for f in discover_feeds(body, url)]
            assert found == expected["feeds"]
    else:
        body = (folder / "article.html").read_bytes()
        info = extract_article(body, url, now=now)
        want = expected["article"]
        assert info.title == want["title"]
        assert info.published == _when(want.get("published"))
        assert info.date_source == want.get("date_source")
        assert info.lang == want.get("lang")
        if "summary_starts" in want:
            assert info.summary is not None and info.summary.startswith(want["summary_starts"])
        if want.get("published") is None:
            # an undated page must not look dated to the listing extractor either
            listed = extract_listing(body, url, selectors=None, now=now)
            assert all(item.published is None for item in listed)


def test_lees_ook_dates_never_become_the_article_date() -> None:
    expected, folder = _load("article-lees-ook")
    body = (folder / "article.html").read_bytes()
    without = body.replace(b'<div class="news-article__date">11 februari 2026</div>', b"")
    assert without != body
    info = extract_article(without, expected["url"], now=_when(expected["now"]))
    assert info.title == expected["article"]["title"]
    # With no date beside the title, a date in the article's own text may be taken (htmldate's
    # extensive search, as page-text); never one of the "Lees ook" list, header or footer.
    assert info.published is None or info.published.date() in (date(2026, 2, 5), date(2026, 2, 12))
    assert info.published is None or info.date_source == "page-text"
    for chrome in (b"Laatst bijgewerkt: 27 februari 2026", b"28-01-14", b"21-02-14", b"16-05-22"):
        assert chrome in without


def test_a_page_with_dates_only_in_its_chrome_gets_none() -> None:
    body = (
        b"<html lang='nl'><body><header class='site-header'>Laatst bijgewerkt: 27 februari 2026"
        b"</header><main><h1>Veelgestelde vragen</h1><p>Hoe lang duurt de procedure? Dat hangt"
        b" af van de situatie.</p><section class='lees-ook'><h2>Lees ook</h2><ul><li>"
        b"<a href='/a'>Ander bericht</a> 21-02-2026</li></ul></section></main>"
        b"<footer>&copy; 2026 Stichting</footer></body></html>"
    )
    info = extract_article(body, "https://x.example/faq", now=datetime(2026, 3, 1, tzinfo=UTC))
    assert info.published is None and info.date_source is None


def test_at_least_ten_fixture_pages() -> None:
    listings = [n for n in CASES if (DATA / n / "listing.html").exists()]
    articles = [n for n in CASES if (DATA / n / "article.html").exists()]
    assert len(listings) >= 8 and len(articles) >= 2


def test_windows_1252_meta_charset_only() -> None:
    expected, folder = _load("charset-windows-1252")
    body = (folder / "listing.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert b'<meta charset="windows-1252">' in body and b"Content-Type" not in body
    assert detect_encoding(body) == "windows-1252"
    got = extract_listing(body, expected["url"], selectors=None, now=_when(expected["now"]))
    text = " ".join(f"{i.title} {i.summary}" for i in got)
    assert "ë" in text and "é" in text and "\ufffd" not in text


def test_labels_that_do_not_fit_the_bytes_give_way_to_the_bytes() -> None:
    body = "<html><head><meta charset='windows-1252'></head><body>café</body></html>"
    raw = body.encode("utf-8")
    assert detect_encoding(raw, {"Content-Type": "text/html; charset=UTF-8"}) == "utf-8"
    # valid multi-byte UTF-8 under a single-byte label: the label is wrong, not the bytes
    assert detect_encoding(raw) == "utf-8"
    assert detect_encoding(body.encode("cp1252")) == "windows-1252"
    assert detect_encoding("café".encode("latin-1")) == "windows-1252"
    assert detect_encoding(b"\xef\xbb\xbfcaf\xc3\xa9") == "utf-8"


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _page(cards: str, head: str = "") -> bytes:
    return f"<html lang='nl'><head>{head}</head><body><main>{cards}</main></body></html>".encode()


def test_unsafe_links_dropped_and_entities_decoded() -> None:
    body = _page(
        "<ul>"
        "<li><a href='javascript:alert(1)'>Stemmen over &amp; tegen de wet</a> 3 februari 2026</li>"
        "<li><a href='data:text/html,x'>Brief aan de Kamer over de opvang</a> 4 februari 2026</li>"
        "<li><a href='mailto:a@b.example'>Mail de redactie over dit bericht</a> 5 februari 2026</li>"
        "<li><a href='/n/1'>Gemeente  &amp;\n provincie   zoeken plek</a> 6 februari 2026</li>"
        "<li><a href='/n/2'>Kamer stemt in met &lsquo;spreidingswet&rsquo;</a> 7 februari 2026</li>"
        "</ul>"
    )
    got = extract_listing(body, "https://x.example/nieuws", selectors=None, now=NOW)
    assert [i.link for i in got] == ["https://x.example/n/1", "https://x.example/n/2"]
    assert got[0].title == "Gemeente & provincie zoeken plek"
    assert got[1].title == "Kamer stemt in met \u2018spreidingswet\u2019"


def test_selector_item_is_the_link_itself() -> None:
    body = _page(
        "<div class='lijst'>"
        "<a class='row' href='detail?id=1'><span>Besluit over leges</span>"
        "<em>12-02-2026</em></a>"
        "<a class='row' href='detail?id=2'><span>Antwoord op vragen</span></a>"
        "<a class='row' href='javascript:void(0)'><span>Meer laden</span></a>"
        "</div>",
        head="<base href='https://y.example/docs/'>",
    )
    got = extract_listing(
        body,
        "https://x.example/lijst",
        selectors=Selectors(item="a.row", date="em"),
        now=NOW,
    )
    assert [(i.title, i.link) for i in got] == [
        ("Besluit over leges 12-02-2026", "https://y.example/docs/detail?id=1"),
        ("Antwoord op vragen", "https://y.example/docs/detail?id=2"),
    ]
    assert got[0].published == datetime(2026, 2, 11, 23, 0, tzinfo=UTC)
    assert got[1].published is None and got[1].date_source is None


def test_selector_link_only_each_link_an_item() -> None:
    body = _page(
        "<p><a href='/kamerstukken/detail?did=1'>Kamerbrief over asielinstroom</a></p>"
        "<p><a href='/kamerstukken/detail?did=2'>Kamerbrief over gezinshereniging</a></p>"
        "<p><a href='/contact'>Contact</a></p>"
    )
    sel = Selectors(link="a[href*='/kamerstukken/detail']")
    got = extract_listing(body, "https://tk.example/lijst", selectors=sel, now=NOW)
    assert [i.title for i in got] == [
        "Kamerbrief over asielinstroom",
        "Kamerbrief over gezinshereniging",
    ]


def test_invalid_selector_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="selectors.item"):
        validate_selectors(Selectors(item="article[["))
    with pytest.raises(ValueError):
        extract_listing(_page(""), "https://x.example/", selectors=Selectors(item="a[["), now=NOW)


@pytest.mark.parametrize("body", [b"", b"   ", b"\x00\x01", b"<html></html>", b"no markup at all"])
def test_empty_or_odd_bodies(body: bytes) -> None:
    assert extract_listing(body, "https://x.example/", selectors=None, now=NOW) == []
    info = extract_article(body, "https://x.example/a", now=NOW)
    assert info.published is None and info.date_source is None
    assert find_next_page(body, "https://x.example/") is None


def test_next_page_variants() -> None:
    url = "https://x.example/nieuws?page=1"
    rel = _page("<a href='?page=2' rel='next'>2</a>")
    assert find_next_page(rel, url) == "https://x.example/nieuws?page=2"
    text = _page(
        "<ul class='pager'><li><a href='?page=0'>Vorige</a></li>"
        "<li><a href='?page=2'>Volgende pagina</a></li></ul>"
    )
    assert find_next_page(text, url) == "https://x.example/nieuws?page=2"
    arrow = _page("<a href='/nieuws/p/3'>»</a>")
    assert find_next_page(arrow, url) == "https://x.example/nieuws/p/3"
    english = _page("<a href='/news/2' aria-label='Next page'><svg></svg></a>")
    assert find_next_page(english, url) == "https://x.example/news/2"
    last = _page("<a href='?page=0'>Vorige</a><a href='javascript:next()'>Volgende</a>")
    assert find_next_page(last, url) is None


# ---------------------------------------------------------------- encodings (#13 point 5)

LISTING_UTF8 = (
    "<html lang='nl'><head><meta charset='utf-8'><title>Nieuws</title></head><body><main><ul>"
    "<li><a href='/n/1'>Coëfficiënt van de opvang in Zuiderveen</a> 3 februari 2026</li>"
    "<li><a href='/n/2'>Café en buurthuis open voor nieuwkomers</a> 4 februari 2026</li>"
    "<li><a href='/n/3'>Één loket voor statushouders geopend</a> 5 februari 2026</li>"
    "</ul></main></body></html>"
)


def test_header_latin1_over_utf8_meta_and_bytes_is_read_as_utf8() -> None:
    raw = LISTING_UTF8.encode("utf-8")
    headers = {"Content-Type": "text/html; charset=ISO-8859-1"}
    assert detect_encoding(raw, headers) == "utf-8"
    got = extract_listing(raw, "https://x.example/nieuws", selectors=None, now=NOW, headers=headers)
    assert [i.title for i in got] == [
        "Coëfficiënt van de opvang in Zuiderveen",
        "Café en buurthuis open voor nieuwkomers",
        "Één loket voor statushouders geopend",
    ]


def test_consistent_legacy_labels_are_kept_when_the_bytes_fit() -> None:
    raw = LISTING_UTF8.replace("utf-8", "iso-8859-1").encode("cp1252")
    headers = {"Content-Type": "text/html; charset=iso-8859-1"}
    assert detect_encoding(raw, headers) == "windows-1252"
    got = extract_listing(raw, "https://x.example/nieuws", selectors=None, now=NOW, headers=headers)
    assert got[0].title == "Coëfficiënt van de opvang in Zuiderveen"


ODD_CODECS = ["euc_kr", "euc-jp", "iso-2022-jp", "macintosh", "ks_c_5601-1987", "x-no-such"]


@pytest.mark.parametrize("codec", ODD_CODECS)
def test_odd_codec_names_never_raise(codec: str) -> None:
    article = (
        f"<html><head><meta charset='{codec}'><title>t</title></head><body><article>"
        "<h1>Bericht over de opvang</h1><p>Gepubliceerd op 3 februari 2026</p>"
        "<p>Een tekst die lang genoeg is om als samenvatting te dienen hier.</p>"
        "</article></body></html>"
    ).encode("ascii")
    for headers in (None, {"Content-Type": f"text/html; charset={codec}"}):
        info = extract_article(article, "https://x.example/a", now=NOW, headers=headers)
        assert info.title == "Bericht over de opvang"
        assert info.published == datetime(2026, 2, 3, tzinfo=UTC)  # a day: 00:00 UTC
        listing = LISTING_UTF8.replace("utf-8", codec).encode("utf-8")
        got = extract_listing(listing, "https://x.example/n", selectors=None, now=NOW)
        assert len(got) == 3


def test_korean_page_in_euc_kr_is_decoded() -> None:
    text = "<html><head><meta charset='euc-kr'></head><body><h1>난민 보호 소식</h1></body></html>"
    info = extract_article(text.encode("euc_kr"), "https://x.example/k", now=NOW)
    assert info.title == "난민 보호 소식"


def test_the_fetch_pipeline_finds_the_items_of_a_latin1_labelled_utf8_listing() -> None:
    source = Source(key="s", name="s", url="https://x.example/nieuws", kind="html")
    headers = {"content-type": "text/html; charset=ISO-8859-1"}
    result = FetchResult("s", source.url, source.url, 200, headers, LISTING_UTF8.encode())
    got = extract(source, result, NOW)
    assert [i.title for i in got.items][0] == "Coëfficiënt van de opvang in Zuiderveen"
