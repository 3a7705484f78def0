"""The web interface's pure parts: Amsterdam weeks and days, languages, chart geometry, the
small security helpers."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from feedwatch.app.web.charts import bar_chart, sparkline
from feedwatch.app.web.dossier_list import DossierCounts, lookup
from feedwatch.app.web.i18n import (
    MESSAGES,
    Messages,
    day_start,
    fmt_datetime,
    parse_day,
    pick_lang,
    week_start,
    weeks_back,
    why_line,
)
from feedwatch.app.web.security import is_loopback, safe_next, session_secret, token_matches
from feedwatch.core.classify import classify_text
from feedwatch.edges.store.entities import EntityCount


def test_weeks_are_amsterdam_weeks_across_the_clock_change() -> None:
    now = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # a Wednesday
    weeks = weeks_back(now, 3)
    assert [w[0] for w in weeks] == [
        datetime(2026, 10, 18, 22, 0, tzinfo=UTC),  # Monday 19 October, summer time
        datetime(2026, 10, 25, 23, 0, tzinfo=UTC),  # Monday 26 October, winter time
        datetime(2026, 11, 1, 23, 0, tzinfo=UTC),
    ]
    assert all(a[1] == b[0] for a, b in zip(weeks, weeks[1:], strict=False))
    assert weeks[0][1] - weeks[0][0] == timedelta(hours=169)  # the week with the extra hour
    assert weeks[-1][0] <= now < weeks[-1][1]
    assert week_start(now) == weeks[-1][0]


def test_days_are_amsterdam_days() -> None:
    late = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)  # already 5 December in Amsterdam
    assert day_start(late) == datetime(2026, 12, 4, 23, 0, tzinfo=UTC)
    assert parse_day("2026-07-01") == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    assert parse_day("2026-07-01", end=True) == datetime(2026, 7, 1, 22, 0, tzinfo=UTC)
    assert parse_day("") is None
    with pytest.raises(ValueError):
        parse_day("gisteren")
    assert fmt_datetime(late, "nl") == "5 dec 2026 00:30"
    assert fmt_datetime(late, "en") == "5 Dec 2026 00:30"
    assert fmt_datetime(None, "nl", "nooit") == "nooit"
    # a day without a time (stored as 00:00 UTC, or given as local midnight) shows no time
    assert fmt_datetime(datetime(2026, 11, 6, tzinfo=UTC), "nl") == "6 nov 2026"
    assert fmt_datetime(datetime(2026, 7, 1, tzinfo=UTC), "en") == "1 Jul 2026"
    assert fmt_datetime(datetime(2026, 6, 30, 22, 0, tzinfo=UTC), "nl") == "1 jul 2026"
    assert fmt_datetime(datetime(2026, 11, 6, 0, 0, 1, tzinfo=UTC), "nl") == "6 nov 2026 01:00"
    assert fmt_datetime(datetime(2026, 11, 5, 23, 0, 0, 5, tzinfo=UTC), "nl") == "6 nov 2026 00:00"


def test_language_choice() -> None:
    assert pick_lang(None, None, None) == "nl"
    assert pick_lang(None, None, "en-US,en;q=0.9") == "en"
    assert pick_lang(None, None, "fr-FR, nl-BE;q=0.8") == "nl"
    assert pick_lang(None, "en", "nl") == "en"
    assert pick_lang("nl", "en", "en") == "nl"
    assert pick_lang("xx", None, None) == "nl"


def test_both_languages_have_every_word() -> None:
    assert MESSAGES["nl"].keys() == MESSAGES["en"].keys()
    t = Messages("en")
    assert t.overview == "Overview"
    assert t("label_add", topic="Migratie") == "Add to Migratie"
    assert Messages("de").lang == "nl"


def test_bars_scale_to_the_highest_week() -> None:
    chart = bar_chart([0, 5, 10, 1], ["a", "b", "c", "d"], width=40, height=20)
    assert chart.peak == 10 and chart.total == 16
    heights = [b.height for b in chart.bars]
    assert heights == [0.0, 10.0, 20.0, 2.0]
    assert [b.x for b in chart.bars] == [0.0, 10.0, 20.0, 30.0]
    assert all(b.y + b.height == 20 for b in chart.bars)
    tiny = bar_chart([1000, 1], ["a", "b"], height=20)
    assert tiny.bars[1].height == 1.0  # a week with an item never disappears
    empty = bar_chart([0, 0], ["a", "b"])
    assert all(b.height == 0 for b in empty.bars)


def test_sparkline_points() -> None:
    line = sparkline([0, 2, 4], width=12, height=6)
    assert line.points == "1.0,5.0 6.0,3.0 11.0,1.0"
    assert line.last == (11.0, 1.0)
    assert sparkline([]).points == ""
    assert sparkline([3]).points == "1.0,1.0"


def test_security_helpers() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("[::1]")
    assert is_loopback("localhost") and is_loopback("127.0.1.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert not is_loopback("example.org")
    assert safe_next("/items/x?y=1") == "/items/x?y=1"
    for bad in ("https://evil.example/", "//evil.example", "/\\evil.example", "", None, "/a\nb"):
        assert safe_next(bad) == "/"
    assert session_secret("t" * 20) == session_secret("t" * 20)
    assert session_secret(None) != session_secret(None)
    assert token_matches("secret", "secret") and not token_matches("secret", "other")
    assert not token_matches("", None)


class _Counting:
    """A store's entity_counts that answers a new number each call and records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str | None, datetime | None]] = []
        self.gate = threading.Event()
        self.gate.set()

    def entity_counts(
        self, *, kind: str | None = None, since: datetime | None = None, limit: int = 50
    ) -> list[EntityCount]:
        self.gate.wait(5)
        self.calls.append((kind, since))
        return [EntityCount("kamerstuk:36704", len(self.calls), 1, None, None)]


def test_dossier_counts_are_kept_and_counted_again_in_the_background() -> None:
    store = _Counting()
    counts = DossierCounts(store, ttl=0.0)  # type: ignore[arg-type]
    try:
        assert counts.get("90", "")[0].items == 1  # the first visitor waits for the count
        (kind, since) = store.calls[0]
        assert kind is None and since is not None
        assert datetime.now(UTC) - since - timedelta(days=90) < timedelta(minutes=1)
        store.gate.clear()  # the next count blocks: the stale answer is served meanwhile
        assert counts.get("90", "")[0].items == 1
        assert counts.get("90", "")[0].items == 1  # one refresh at a time, not one per visitor
        store.gate.set()
        for _ in range(500):
            if counts.get("90", "")[0].items == 2:
                break
            time.sleep(0.01)
        assert counts.get("90", "")[0].items >= 2
        counts.get("all", "ecli")
        assert ("ecli", None) in store.calls  # "all" has no since; a kind is passed on
    finally:
        counts.close()


def test_dossier_lookup_reads_what_people_type() -> None:
    assert lookup(" 36704 ") == "kamerstuk:36704"
    assert lookup("kamerstuk 36 704") == "kamerstuk:36704"
    assert lookup("ecli:nl:rvs:2026:7012") == "ecli:ECLI:NL:RVS:2026:7012"
    assert lookup("celex:32024r1347") == "celex:32024R1347"
    for bad in ("", "azc", "kamerstuk:abc", "nonsense:1"):
        with pytest.raises(ValueError):
            lookup(bad)


def test_explanations_are_framed_in_the_page_language() -> None:
    scores = classify_text(
        "Nieuw azc in Assen opent",
        "Het COA opent een asielzoekerscentrum voor 300 asielzoekers. De gemeente Assen en het "
        "COA spraken af dat de opvanglocatie tien jaar blijft. Omwonenden kregen een "
        "informatieavond. Minister spreekt over de asielprocedure en de instroom.",
    )
    lines = [line for s in scores.values() for line in s.terms]
    assert any(s.assigned for s in scores.values()) and any(not s.assigned for s in scores.values())
    assert [why_line(line, "en") for line in lines] == lines
    dutch = [why_line(line, "nl") for line in lines]
    english_frame = re.compile(
        r"^(model \S+ (not )?assigned|rules \S+ / |for: |against: |rule: )"
        r"|\(title|\(body|, body| \+ words | bias [-+]\d+\.\d+$"
    )
    assert not [line for line in dutch if english_frame.search(line)]
    assert any(line.startswith("model ") and " toegekend: " in line for line in dutch)
    assert any(line.startswith("regel: ") and "(titel" in line for line in dutch)
