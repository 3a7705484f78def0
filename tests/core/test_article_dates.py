"""Article publication dates on pages written for feedwatch (tests/data/articles), one failure
class each: feedwatch must find every expected date, never invent one, and do at least as well
as htmldate alone on the same pages. Speed is measured by bench/article_dates.py, not here."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from htmldate import find_date

from feedwatch import article_date
from feedwatch.core.extract.article import extract_article

DATA = Path(__file__).parents[1] / "data" / "articles"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load(
    (DATA / "expected.yaml").read_text(encoding="utf-8")
)
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
AMS = ZoneInfo("Europe/Amsterdam")


def _body(name: str) -> bytes:
    return (DATA / f"{name}.html").read_bytes()


def _right(found: datetime | date | None, want: object) -> bool:
    if want is None:
        return found is None
    if found is None:
        return False
    day = want if isinstance(want, date) else date.fromisoformat(str(want))
    if isinstance(found, datetime):
        return day in (found.astimezone(UTC).date(), found.astimezone(AMS).date())
    return found == day


def test_the_corpus_covers_the_classes_and_languages() -> None:
    assert len(EXPECTED) >= 40
    assert {e["lang"] for e in EXPECTED.values()} >= {"nl", "en", "de", "fr"}
    assert sum(e["date"] is None for e in EXPECTED.values()) >= 2
    for name in EXPECTED:
        assert (DATA / f"{name}.html").exists(), name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_page_gets_its_date(name: str) -> None:
    exp = EXPECTED[name]
    info = extract_article(_body(name), exp["url"], now=NOW, headers=exp.get("headers"))
    assert _right(info.published, exp["date"]), (name, info.published, exp["why"])
    if info.published is not None:
        assert info.date_source in ("page-meta", "page-text")
        assert info.published.tzinfo is not None and info.published.utcoffset().total_seconds() == 0


def test_accuracy_floor_and_no_worse_than_htmldate() -> None:
    ours = theirs = 0
    for name, exp in EXPECTED.items():
        body = _body(name)
        ours += _right(
            extract_article(body, exp["url"], now=NOW, headers=exp.get("headers")).published,
            exp["date"],
        )
        with warnings.catch_warnings():  # dateutil warns about zone names it does not know
            warnings.simplefilter("ignore")
            raw = find_date(body, url=exp["url"], original_date=True, max_date="2026-12-04")
        theirs += _right(date.fromisoformat(raw) if raw else None, exp["date"])
    assert ours / len(EXPECTED) >= 0.9
    assert ours >= theirs


def test_public_article_date_gives_the_provenance() -> None:
    meta = EXPECTED["nl-meta-published-time"]
    value, source = article_date(_body("nl-meta-published-time"), url=meta["url"])
    assert value == datetime(2026, 6, 30, 6, 0, tzinfo=UTC) and source == "page-meta"
    text = EXPECTED["de-text-date"]
    value, source = article_date(_body("de-text-date"), url=text["url"])
    assert value == datetime(2025, 12, 3, tzinfo=UTC) and source == "page-text"  # a day: 00:00 UTC
    assert article_date(_body("en-undated-contact"), url="https://x.example/c") == (None, None)
