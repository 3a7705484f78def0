"""In-process figures for the pieces: parse-only, classification and digest rendering speeds.

    python bench/pieces.py CORPUS_DIR --runs 5     # prints one JSON object on its last line

Parse-only reads every feed of the corpus from memory (no HTTP, no storage) three ways:
feedwatch's parse_feed (the lxml fast path, feedparser for the rest), the same with the fast
path switched off (feedparser with sanitising off), and feedparser with its defaults (what
reader and the baseline pay). Classification scores normalised items (title + summary) with the
shipped topics; the digest builds and renders 10,000 stored-like items (Markdown and e-mail).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BASE = "http://127.0.0.1:8000"


def timed(fn: Callable[[], int], runs: int) -> dict[str, Any]:
    """Median/min/max seconds and items/s of `runs` calls of fn (which returns an item count)."""
    secs: list[float] = []
    n = 0
    for _ in range(runs):
        started = time.perf_counter()
        n = fn()
        secs.append(time.perf_counter() - started)
    rates = [n / s for s in secs]
    return {
        "items": n,
        "seconds": [statistics.median(secs), min(secs), max(secs)],
        "rate": [statistics.median(rates), min(rates), max(rates)],
    }


def load_feeds(root: Path) -> list[tuple[str, bytes, str]]:
    out = []
    for path in sorted((root / "feeds").iterdir()):
        ctype = "application/atom+xml" if path.suffix == ".atom" else "application/rss+xml"
        out.append(("/feeds/" + path.name, path.read_bytes(), ctype))
    return out


def parse_figures(feeds: list[tuple[str, bytes, str]], runs: int) -> dict[str, Any]:
    import feedparser

    from feedwatch.core.extract import fastfeed
    from feedwatch.core.extract.feeds import parse_feed

    def feedwatch_parse(subset: list[tuple[str, bytes, str]]) -> int:
        return sum(
            len(parse_feed("k", body, {"content-type": ct}, BASE + p, NOW).items)
            for p, body, ct in subset
        )

    def no_fast_path() -> int:
        original = fastfeed.parse_common
        fastfeed.parse_common = lambda *_a: None  # type: ignore[assignment]
        try:
            return feedwatch_parse(slow_subset)
        finally:
            fastfeed.parse_common = original

    def feedparser_defaults() -> int:
        return sum(len(feedparser.parse(io.BytesIO(body)).entries) for _p, body, _c in slow_subset)

    slow_subset = feeds[:60]  # feedparser is slow: a part of the corpus is enough
    return {
        "feedwatch (lxml fast path)": timed(lambda: feedwatch_parse(feeds), runs),
        "feedwatch, fast path off (feedparser, sanitising off)": timed(no_fast_path, runs),
        "feedparser defaults": timed(feedparser_defaults, runs),
    }


def corpus_items(feeds: list[tuple[str, bytes, str]]) -> list[Any]:
    from feedwatch.core.extract.feeds import parse_feed
    from feedwatch.core.normalise import normalise

    items = []
    for i, (p, body, ct) in enumerate(feeds):
        for raw in parse_feed(f"s{i:04d}", body, {"content-type": ct}, BASE + p, NOW).items:
            item = normalise(f"s{i:04d}", raw, NOW, base_url=BASE + p)
            if item is not None:
                items.append(item)
    return items


def classify_figures(items: list[Any], runs: int) -> dict[str, Any]:
    from feedwatch.app.pipeline import make_classifier

    classifier, _version = make_classifier(None)
    assert classifier is not None
    sample = items[:5000]

    def run() -> int:
        for item in sample:
            classifier(item)
        return len(sample)

    return timed(run, runs)


@dataclass(frozen=True, slots=True)
class Row:
    item: Any
    topics: tuple[str, ...]


def digest_figures(items: list[Any], runs: int) -> dict[str, Any]:
    from feedwatch.app.pipeline import make_classifier
    from feedwatch.config.digests import DigestProfile
    from feedwatch.core.digest import build_digest, period_for, render_email, render_markdown

    classifier, _version = make_classifier(None)
    assert classifier is not None
    picked = (items * (10_000 // len(items) + 1))[:10_000] if items else []
    rows = []
    for n, item in enumerate(picked):
        topics = tuple(s.topic for s in classifier(item) if s.assigned) or ("migratie",)
        rows.append(Row(item=item.__class__(**{**_fields(item), "id": f"{n:020d}"}), topics=topics))
    profile = DigestProfile(name="bench", title="Benchmark")
    period = period_for(date(2026, 11, 20))

    def build() -> Any:
        return build_digest(rows, [], period, profile)

    def markdown() -> int:
        render_markdown(build())
        return len(rows)

    def email() -> int:
        render_email(build())
        return len(rows)

    return {
        "build_digest + render_markdown": timed(markdown, runs),
        "build_digest + render_email": timed(email, runs),
    }


def _fields(item: Any) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__dataclass_fields__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    feeds = load_feeds(args.root)
    out: dict[str, Any] = {"parse": parse_figures(feeds, args.runs)}
    items = corpus_items(feeds)
    out["classify"] = classify_figures(items, args.runs)
    out["digest"] = digest_figures(items, args.runs)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
