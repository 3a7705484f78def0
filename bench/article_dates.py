"""Article publication dates on tests/data/articles: feedwatch before, htmldate alone, feedwatch now.

    .venv/bin/python bench/article_dates.py              # accuracy per language and pages/s
    .venv/bin/python bench/article_dates.py --old 969cf51  # also that commit's extractor (its
                                                            # whole src/, in a child process)

Each page of tests/data/articles/ was written for feedwatch with its expected publication date
beside it (expected.yaml). A page counts as right when the date found falls on the expected day
(in UTC or Amsterdam time), or when no date is expected and none is found. Speed: pages per
second of the whole enrichment step on these pages (parse + date), median of several rounds.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "articles"
AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

Finder = Callable[[bytes, str, dict[str, str]], date | datetime | None]


def load() -> list[tuple[str, bytes, dict[str, Any]]]:
    expected = yaml.safe_load((DATA / "expected.yaml").read_text(encoding="utf-8"))
    return [(name, (DATA / f"{name}.html").read_bytes(), exp) for name, exp in expected.items()]


def right(found: date | datetime | None, want: str | None) -> bool:
    if want is None:
        return found is None
    if found is None:
        return False
    day = date.fromisoformat(str(want))
    if isinstance(found, datetime):
        return day in (found.astimezone(UTC).date(), found.astimezone(AMS).date())
    return found == day


def feedwatch_now(body: bytes, url: str, headers: dict[str, str]) -> datetime | None:
    try:
        module = importlib.import_module("feedwatch.core.extract.article")
    except ImportError:  # before #12 split it, the article extractor lived in html.py
        module = importlib.import_module("feedwatch.core.extract.html")
    try:
        value: datetime | None = module.extract_article(
            body, url, now=NOW, headers=headers
        ).published
    except Exception:  # an older extractor's crash counts as "no date"
        return None
    return value


def htmldate_alone(body: bytes, url: str, headers: dict[str, str]) -> date | None:
    from htmldate import find_date

    with warnings.catch_warnings():  # dateutil warns about zone names it does not know
        warnings.simplefilter("ignore")
        found = find_date(body, url=url, original_date=True, max_date=NOW.strftime("%Y-%m-%d"))
    return date.fromisoformat(found) if found else None


def run_at(ref: str) -> None:
    """Measure the extractor of an older commit: its whole src/ tree, in a child process."""
    folder = Path(tempfile.mkdtemp(prefix="fw-old-"))
    archive = subprocess.run(
        ["git", "archive", ref, "src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    env = {**os.environ, "PYTHONPATH": str(folder / "src")}
    subprocess.run(
        [sys.executable, __file__, "--label", f"feedwatch at {ref}", "--only-feedwatch"],
        env=env,
        check=True,
    )


def measure(name: str, finder: Finder, pages: list[tuple[str, bytes, dict[str, Any]]]) -> None:
    per_lang: dict[str, list[bool]] = {}
    wrong: list[str] = []
    for page, body, exp in pages:
        ok = right(finder(body, exp["url"], exp.get("headers") or {}), exp["date"])
        per_lang.setdefault(exp["lang"], []).append(ok)
        if not ok:
            wrong.append(page)
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _page, body, exp in pages:
            finder(body, exp["url"], exp.get("headers") or {})
        rounds.append(len(pages) / (time.perf_counter() - start))
    total = [ok for oks in per_lang.values() for ok in oks]
    langs = "  ".join(f"{lang} {sum(oks)}/{len(oks)}" for lang, oks in sorted(per_lang.items()))
    print(
        f"{name:<22} {sum(total) / len(total):6.1%}  ({sum(total)}/{len(total)})  {langs}"
        f"  | {statistics.median(rounds):7.0f} pages/s"
    )
    if wrong:
        print(f"{'':<22} wrong: {', '.join(wrong)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", help="also measure the extractor of this git commit")
    parser.add_argument("--label", default="feedwatch now", help=argparse.SUPPRESS)
    parser.add_argument("--only-feedwatch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    pages = load()
    if args.only_feedwatch:
        measure(args.label, feedwatch_now, pages)
        return
    print(f"{len(pages)} pages in {DATA.relative_to(ROOT)}")
    if args.old:
        sys.stdout.flush()
        run_at(args.old)
    measure("htmldate alone", htmldate_alone, pages)
    measure(args.label, feedwatch_now, pages)


if __name__ == "__main__":
    main()
