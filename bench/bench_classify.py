"""Benchmark: topic classification speed (items/s on one core) for items of about 1,000 chars.

Run: .venv/bin/python bench/bench_classify.py [--topics PATH] [--model PATH] [--rounds N]
Measures the rules alone and the full decision (rules + the learned model, with explanations), as
`feedwatch fetch` and `feedwatch classify` run it. Texts come from ../shared/data/topics-dev.jsonl when present (read, never copied); each item
gets a few random made-up words so the classifier's word cache sees new words as real feeds do.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import time
from collections.abc import Callable
from pathlib import Path

from feedwatch.core.classify import Classifier, load_model, load_topics

DEV = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "topics-dev.jsonl"

FALLBACK = (
    "De gemeente besluit dinsdag over de komst van een azc voor driehonderd asielzoekers. "
    "Het COA zoekt al maanden naar opvangplekken, omdat het aanmeldcentrum in Ter Apel vol is. "
    "Statushouders wachten lang op een woning en volgen intussen lessen voor hun inburgering. "
    "Asielzoekers uit veilige landen van herkomst krijgen een versnelde procedure. "
)


def corpus() -> list[tuple[str, str]]:
    if DEV.exists():
        rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
        return [(r["title"], r["text"][:1000]) for r in rows]
    return [("Nieuwe opvanglocatie voor asielzoekers", (FALLBACK * 4)[:1000])]


def noise(rng: random.Random, n: int) -> str:
    return " ".join(
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 12))) for _ in range(n)
    )


def rate(
    decide: Callable[[str, str], object], items: list[tuple[str, str]], rounds: int
) -> list[float]:
    for title, text in items:  # warm up: the word cache sees every word once, as a feed's would
        decide(title, text)
    rates: list[float] = []
    for _ in range(rounds):
        t0 = time.process_time()
        for title, text in items:
            decide(title, text)
        rates.append(len(items) / (time.process_time() - t0))
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topics", type=Path, default=None)
    ap.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    ap.add_argument("--rounds", type=int, default=7, help="timed rounds (at least 5)")
    args = ap.parse_args()
    topics = load_topics(args.topics)
    rng = random.Random(1)
    base = corpus()
    items = [(t, f"{x} {noise(rng, 8)}") for _ in range(40) for t, x in base]
    chars = sum(len(t) + len(x) for t, x in items) / len(items)
    for name, clf in (
        ("rules alone", Classifier(topics, None)),
        ("rules + model", Classifier(topics, load_model(args.model))),
    ):
        rates = rate(clf, items, max(5, args.rounds))
        print(
            f"{name}: {statistics.median(rates):,.0f} items/s median of {len(rates)} rounds of "
            f"{len(items)} items (min {min(rates):,.0f}, max {max(rates):,.0f}); items of "
            f"~{chars:.0f} chars, one core (CPU time), {len(topics.keys)} topics, "
            f"classifier {clf.version}"
        )


if __name__ == "__main__":
    main()
