"""References become links to their official pages; nothing else from a source becomes markup (#17)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from builders import assert_inert_html, make_digest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from feedwatch.core.digest import render_html, render_markdown
from feedwatch.core.links import linkify_html, linkify_md, plain_line

OFFICIAL = re.compile(
    r"https://(zoek\.officielebekendmakingen\.nl|uitspraken\.rechtspraak\.nl|wetten\.overheid\.nl"
    r"|eur-lex\.europa\.eu)/"
)
CITING = (
    "Zie Kamerstuk 36704, nr. 3, ECLI:NL:RVS:2026:7012 en artikel 29 Vw (BWBR0011823); "
    "Stcrt. 2026, 30123; <script>alert(1)</script> [x](javascript:alert(1)) *nadruk*"
)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def test_markdown_links_each_reference_to_its_official_page() -> None:
    md = linkify_md(CITING)
    rendered = MarkdownIt("commonmark").render(md)
    links = assert_inert_html(rendered)
    assert links == [
        "https://zoek.officielebekendmakingen.nl/kst-36704-3.html",
        "https://uitspraken.rechtspraak.nl/details?id=ECLI:NL:RVS:2026:7012",
        "https://wetten.overheid.nl/BWBR0011823",
        "https://zoek.officielebekendmakingen.nl/stcrt-2026-30123.html",
    ]
    assert "<em>" not in rendered and "&lt;script&gt;" in rendered


def test_html_links_each_reference_and_escapes_the_rest() -> None:
    out = linkify_html(CITING)
    links = assert_inert_html(out)
    assert [bool(OFFICIAL.match(u)) for u in links] == [True] * 4
    assert "&lt;script&gt;" in out and "<script" not in out


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_html_of_any_text_is_that_text_with_only_official_links(text: str) -> None:
    out = linkify_html(text)
    parser = _Text()
    parser.feed(out)
    parser.close()
    assert set(parser.tags) <= {"a"}
    for href in assert_inert_html(out):
        assert OFFICIAL.match(href)
    assert html.unescape("".join(parser.parts)) == plain_line(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_markdown_of_any_text_renders_no_markup_but_official_links(text: str) -> None:
    rendered = MarkdownIt("commonmark").render(linkify_md(text))
    for href in assert_inert_html(rendered):
        assert OFFICIAL.match(href)
    parser = _Text()
    parser.feed(rendered)
    assert set(parser.tags) <= {"p", "a"}


def test_digest_markdown_and_html_link_references_in_summaries() -> None:
    from dataclasses import replace

    d = make_digest()
    section = d.sections[0]
    entry = replace(section.entries[0], summary=CITING)
    d = replace(
        d, sections=(replace(section, entries=(entry, *section.entries[1:])),) + d.sections[1:]
    )
    md = render_markdown(d)
    assert "[36704, nr. 3](https://zoek.officielebekendmakingen.nl/kst-36704-3.html)" in md
    page = render_html(d)
    links = assert_inert_html(page)
    assert "https://uitspraken.rechtspraak.nl/details?id=ECLI:NL:RVS:2026:7012" in links
    assert "<script>alert" not in page
