"""Benchmark: finding references (core.entities) in items, and what it finds in real news text.

Run: .venv/bin/python bench/bench_entities.py [--rounds N] [--show]
Texts come from ../shared/data/topics-train.jsonl and topics-dev.jsonl (read, never copied):
the title and the first 600 characters of the text, as an item's title and summary. Prints the
median of N rounds in items/s and microseconds per item, the share of items citing anything,
and with --show every reference found with its context, to look for false positives by eye.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from feedwatch.core.entities import find_entities, find_matches

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def corpus() -> list[tuple[str, str, str]]:
    out = []
    for name in ("topics-train.jsonl", "topics-dev.jsonl"):
        path = SHARED / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            out.append((rec.get("title", ""), rec.get("text", "")[:600], rec.get("url", "")))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    items = corpus()
    if not items:
        raise SystemExit("no texts found under ../shared/data")
    rates = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for title, summary, url in items:
            find_entities(title, summary, url)
        rates.append(len(items) / (time.perf_counter() - start))
    rate = statistics.median(rates)
    citing = [i for i in items if find_entities(*i)]
    print(f"{len(items)} items; median of {args.rounds} rounds: {rate:,.0f} items/s, "
          f"{1e6 / rate:.1f} us per item; {len(citing)} items cite a reference")  # fmt: skip
    if args.show:
        for title, summary, url in citing:
            for text in (title, summary, url):
                for m in find_matches(text):
                    print(f"{m.entity:32} ...{text[max(0, m.start - 40) : m.end + 20]}...")


if __name__ == "__main__":
    main()
