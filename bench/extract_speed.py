"""Extraction speed, printed (not asserted): feed parsing and the fast path's answer rate, date
parsing, listing extraction and article dates (enrichment) in pages/s.

    .venv/bin/python bench/extract_speed.py                 # the code of this worktree
    git archive 969cf51 src | tar -x -C /tmp/old && \\
        PYTHONPATH=/tmp/old/src .venv/bin/python bench/extract_speed.py   # an older commit

Every figure is the median of --rounds rounds. The feed corpus is bench/corpus.py's (the
realistic mix by default, --plain for the one before #14); article pages are
tests/data/articles padded with 150 KB of navigation and footer, the size of a real page.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from corpus import build_corpus  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DATE_STRINGS = [
    "8 september 2022", "3 okt. 2025", "do 19 nov 2026", "19-11-2026 | 14:05", "2026-11-19",
    "Gepubliceerd op 12 maart 2024", "gisteren om 10.15 uur", "2 dagen geleden",
    "Thursday, November 19, 2026", "19/11/2026", "nieuws", "3 mei 2021 14:30",
]  # fmt: skip
FEED_DATES = [
    "Thu, 19 Nov 2026 14:02:11 +0000", "Thu, 19 Nov 2026 15:02:11 CET", "2026-11-19T14:02:11Z",
    "2026-11-19T15:02:11+01:00", "Thu, 19 Nov 2026 10:00:00 +01:00", "Sat, Dec 16 2023 02:02 PM",
]  # fmt: skip


def _median(fn: Callable[[], float], rounds: int) -> float:
    return statistics.median(fn() for _ in range(rounds))


def _module(*names: str) -> Any:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError(names)


def feeds_figures(rounds: int, plain: bool, n: int) -> None:
    from feedwatch.core.extract import fastfeed, feeds

    corpus = build_corpus(n, seed=8, realistic=not plain)
    docs = [(d.path, d.body, {"content-type": d.content_type}) for d in corpus.feeds()]
    answered = 0
    for path, body, headers in docs:
        url = "http://127.0.0.1:8765" + path
        lower = {**headers, "content-location": url}
        safe = feeds._safe_xml(body)
        answered += fastfeed.parse_common(safe, lower, url) is not None

    def one_round() -> float:
        items = 0
        start = time.perf_counter()
        for path, body, headers in docs:
            items += len(
                feeds.parse_feed("b", body, headers, "http://127.0.0.1:8765" + path, NOW).items
            )
        return items / (time.perf_counter() - start)

    kind = "plain" if plain else "realistic"
    print(
        f"feeds ({kind}, {len(docs)}): fast path answers {answered}/{len(docs)} "
        f"({answered / len(docs):.0%}); parse_feed {_median(one_round, rounds):,.0f} items/s"
    )


def date_figures(rounds: int) -> None:
    dates = _module("feedwatch.core.extract.dates")
    feeds = _module("feedwatch.core.extract.feeds")

    def page_dates() -> float:
        start = time.perf_counter()
        for _ in range(50):
            for s in DATE_STRINGS:
                dates.parse_date(s, now=NOW)
        return (time.perf_counter() - start) / (50 * len(DATE_STRINGS)) * 1e6

    def feed_dates() -> float:
        start = time.perf_counter()
        for _ in range(200):
            for s in FEED_DATES:
                feeds.parse_feed_date(s, NOW)
        return (time.perf_counter() - start) / (200 * len(FEED_DATES)) * 1e6

    print(
        f"dates: parse_date {_median(page_dates, rounds):.1f} µs/call; "
        f"parse_feed_date {_median(feed_dates, rounds):.1f} µs/call"
    )


def listing_figures(rounds: int) -> None:
    listing = _module("feedwatch.core.extract.listing", "feedwatch.core.extract.html")
    card = (
        "<div class='col'><article class='card'><a href='/nieuws/{n}'>"
        "<h3>Bericht nummer {n} over de opvang van asielzoekers</h3></a>"
        "<p class='meta'>{d} februari 2026</p><p>{filler}</p></article></div>"
    )
    filler = "Een lange inleidende tekst over het beleid en de uitvoering. " * 160
    cards = "".join(card.format(n=n, d=n % 27 + 1, filler=filler) for n in range(20))
    nav = "".join(f"<li><a href='/thema/{n}'>Thema {n}</a></li>" for n in range(60))
    body = (
        f"<html lang='nl'><body><nav><ul>{nav}</ul></nav><main><div class='grid'>{cards}"
        "</div></main></body></html>"
    ).encode()

    def one() -> float:
        start = time.perf_counter()
        for _ in range(3):
            listing.extract_listing(body, "https://x.example/nieuws", selectors=None, now=NOW)
        return (time.perf_counter() - start) / 3 * 1000

    print(
        f"listing: extract_listing on a {len(body) // 1024} KB page {_median(one, rounds):.1f} ms"
    )


def article_figures(rounds: int) -> None:
    article = _module("feedwatch.core.extract.article", "feedwatch.core.extract.html")
    data = ROOT / "tests" / "data" / "articles"
    expected = yaml.safe_load((data / "expected.yaml").read_text(encoding="utf-8"))
    pad = "".join(
        f"<li><a href='/onderwerp/{k}'>Onderwerp {k} over wonen, werk en welzijn</a></li>"
        for k in range(1600)
    )
    pages = []
    for name, exp in expected.items():
        raw = (data / f"{name}.html").read_bytes()
        big = raw.replace(b"<body", b"<body data-x='1'", 1)
        at = big.find(b">", big.find(b"<body")) + 1
        chrome = f"<nav class='menu'><ul>{pad}</ul></nav>".encode()
        pages.append(
            (big[:at] + chrome + big[at:] + f"<footer><ul>{pad}</ul></footer>".encode(), exp)
        )
    size = statistics.median(len(p) for p, _ in pages) / 1024

    def one() -> float:
        start = time.perf_counter()
        for body, exp in pages:
            article.extract_article(body, exp["url"], now=NOW, headers=exp.get("headers"))
        return len(pages) / (time.perf_counter() - start)

    print(
        f"article dates (enrichment): {_median(one, rounds):.0f} pages/s "
        f"on {len(pages)} pages of ~{size:.0f} KB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument(
        "--only", choices=["feeds", "dates", "listing", "articles"], action="append"
    )
    args = parser.parse_args()
    import feedwatch

    print(f"feedwatch from {Path(feedwatch.__file__).parent}")
    only = set(args.only or ["feeds", "dates", "listing", "articles"])
    if "feeds" in only:
        feeds_figures(args.rounds, plain=False, n=args.feeds)
        feeds_figures(args.rounds, plain=True, n=args.feeds)
    if "dates" in only:
        date_figures(args.rounds)
    if "listing" in only:
        listing_figures(args.rounds)
    if "articles" in only:
        article_figures(args.rounds)


if __name__ == "__main__":
    main()
