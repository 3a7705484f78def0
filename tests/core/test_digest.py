"""The pure digest core: periods, escaping, grouping, health, rendering (golden files), profiles."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import (
    DATA,
    HEALTH,
    PROFILE,
    TITLES,
    assert_inert_html,
    make_digest,
    make_rows,
)
from markdown_it import MarkdownIt

from feedwatch.config.digests import DigestProfile, load_digests, parse_digests
from feedwatch.core.digest import (
    HealthNote,
    SourceFacts,
    assess_health,
    build_digest,
    group_near_duplicates,
    header_value,
    md_escape,
    period_for,
    render_email,
    render_markdown,
    safe_url,
)
from feedwatch.edges.store import ItemRow
from feedwatch.errors import ConfigError
from feedwatch.types import Item

ROOT = Path(__file__).resolve().parents[2]


def golden(name: str, text: str) -> None:
    path = DATA / name
    if os.environ.get("FEEDWATCH_REGEN_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"differs from {path}"


# ----------------------------------------------------------------------------- periods


def test_period_is_the_amsterdam_calendar_day() -> None:
    p = period_for(date(2026, 6, 1))
    assert p.start == datetime(2026, 5, 31, 22, 0, tzinfo=UTC)
    assert p.end == datetime(2026, 6, 1, 22, 0, tzinfo=UTC)
    winter = period_for(date(2026, 12, 1), "Europe/Amsterdam")
    assert winter.start == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


def test_periods_on_dst_days_are_23_and_25_hours_and_touch() -> None:
    spring = period_for(date(2026, 3, 29))
    autumn = period_for(date(2026, 10, 25))
    assert spring.end - spring.start == timedelta(hours=23)
    assert autumn.end - autumn.start == timedelta(hours=25)
    assert period_for(date(2026, 3, 28)).end == spring.start
    assert period_for(date(2026, 10, 26)).start == autumn.end


# ---------------------------------------------------------------------------- escaping


@pytest.mark.parametrize(
    "text",
    [
        "[klik](javascript:alert(1))",
        "**vet** _schuin_ `code` ~~door~~",
        "# kop | cel | <b>html</b> <!-- commentaar -->",
        "![beeld](https://tracker.example/p.gif)",
        "regel\r\n\r\n# tweede\n- lijst",
        "&lt;script&gt; &amp; &#58;",
        "\\[al ge-escaped\\]",
    ],
)
def test_md_escape_leaves_only_text(text: str) -> None:
    html = MarkdownIt("commonmark").enable("table").render(f"- {md_escape(text)}")
    assert html.count("<li>") == 1
    inner = re.sub(r"^<ul>\n<li>|</li>\n</ul>\n$", "", html)
    assert "<" not in inner.replace("&lt;", ""), inner
    assert "\n" not in md_escape(text)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.org/a?b=c", True),
        ("http://example.org", True),
        ("HTTPS://EXAMPLE.ORG/x", True),
        ("javascript:alert(1)", False),
        (" JaVaScRiPt:alert(5)", False),
        ("data:text/html;base64,AAAA", False),
        ("ftp://example.org/file", False),
        ("https://exa mple.org/", False),
        ("https://example.org/\r\nX: y", False),
        ("//example.org/relative", False),
        ("https:///nohost", False),
        ("", False),
    ],
)
def test_safe_url_allows_only_http_and_https(url: str, ok: bool) -> None:
    assert (safe_url(url) is not None) is ok


def test_header_value_strips_line_breaks_and_controls() -> None:
    value = header_value("Kop\r\nBcc: x@example.org\x00\x1b[31m" + "a" * 400)
    assert "\r" not in value and "\n" not in value and "\x00" not in value and "\x1b" not in value
    assert len(value) <= 200 and value.startswith("Kop Bcc: x@example.org")


# ------------------------------------------------------------------------ near-duplicates


def test_the_same_story_from_three_sources_is_one_group() -> None:
    groups = group_near_duplicates(make_rows(hostile=False))
    ids = sorted(sorted(r.item.id for r in g) for g in groups)
    assert ids == [["a1", "a2", "a3"], ["b1"], ["b2"]]


def test_same_canonical_url_groups_and_different_titles_do_not() -> None:
    base = make_rows(hostile=False)[3]  # b1
    same_url = ItemRow(
        item=Item(**{**_item_dict(base.item), "id": "x", "source": "rijk", "title": "Anders"}),
        topics=("integratie",),
    )
    other = ItemRow(
        item=Item(
            **{
                **_item_dict(base.item),
                "id": "y",
                "url": "https://example.org/y",
                "title": "Meer statushouders volgen zwemles",
            }
        ),
        topics=("integratie",),
    )
    groups = group_near_duplicates([base, same_url, other])
    assert sorted(len(g) for g in groups) == [1, 2]


def _item_dict(item: Item) -> dict[str, Any]:
    return {f: getattr(item, f) for f in item.__slots__}  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- building


def test_build_digest_places_each_story_once_and_counts_per_topic() -> None:
    d = make_digest()
    placed = [e.item_ids for s in d.sections for e in s.entries]
    assert sorted(i for ids in placed for i in ids) == ["a1", "a2", "a3", "b1", "b2"]
    assert d.total == 3
    story = next(e for s in d.sections for e in s.entries if "a1" in e.item_ids)
    assert [s.key for s in story.sources] == ["rijk", "gemeente", "krant"]
    assert story.published == datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    assert story.topics == ("asielzoekerscentrum", "migratie")
    assert {t: n for t, _title, n in d.counts} == {
        "migratie": 2,
        "integratie": 1,
        "asielzoekerscentrum": 1,
        "veiligelanders": 1,
    }
    # the story is placed under the first of its topics in the profile's order
    assert [s.topic for s in d.sections] == ["migratie", "integratie"]


def test_sections_are_newest_first() -> None:
    rows = make_rows(hostile=True)
    d = build_digest(rows, (), period_for(date(2026, 11, 22)), DigestProfile(name="p"))
    for section in d.sections:
        whens = [e.when for e in section.entries]
        assert whens == sorted(whens, reverse=True)


def test_markdown_digest_matches_golden_file() -> None:
    golden("digest.md", render_markdown(make_digest()))


def test_empty_digest_says_so() -> None:
    d = build_digest([], (), period_for(date(2026, 11, 22)), PROFILE, topic_titles=TITLES)
    text = render_markdown(d)
    golden("empty.md", text)
    assert "Geen nieuwe berichten." in text and "Alle bronnen werkten normaal." in text
    subject, plain, _html = render_email(d)
    assert subject == "asiel en migratie: geen nieuwe berichten"
    assert "Geen nieuwe berichten." in plain


def test_english_profile() -> None:
    profile = DigestProfile(name="en", language="en", topics=("migratie",))
    d = build_digest(make_rows(False), HEALTH, period_for(date(2026, 11, 22)), profile)
    text = render_markdown(d)
    assert "Daily digest en — Sunday 22 November 2026" in text
    assert "date unknown \\(first seen" in text and "**20 Nov 2026**" in text


# ------------------------------------------------------------------------ hostile input


def test_hostile_markdown_is_inert_and_matches_golden_file() -> None:
    text = render_markdown(make_digest(hostile=True))
    golden("hostile.md", text)
    html = MarkdownIt("commonmark").enable("table").render(text)
    links = assert_inert_html(html)
    assert links == ["https://example.org/ngo/opvang?x=1&y=%3C2%3E"]
    # our own structure is intact: one heading per section, no heading from a summary
    assert re.findall(r"<h2>(.*?)</h2>", html) == [
        "Migratie (1)",
        "Integratie (1)",
        "Asielzoekerscentra (1)",
        "Veilige landen (1)",
        "Bronnen",
    ]
    assert "Nep-kop" in text and "<h1>Nep-kop" not in html


def test_hostile_email_parts_are_inert() -> None:
    subject, text, html = render_email(make_digest(hostile=True))
    assert "\r" not in subject and "\n" not in subject
    links = assert_inert_html(html)
    assert set(links) == {"https://example.org/ngo/opvang?x=1&y=%3C2%3E"}
    assert "&lt;script&gt;" in html  # the title's tag is shown as text
    assert "javascript" not in html.lower().replace("[klik hier](javascript:alert(1))", "")
    assert "Bcc: slachtoffer@example.org" in text  # as text on one line
    assert not any(line.startswith("Bcc:") for line in text.splitlines())


def test_html_digest_keeps_inline_styles_and_links() -> None:
    _subject, _text, html = render_email(make_digest())
    assert html.startswith("<!DOCTYPE html>")
    assert 'style="' in html and "<style" not in html  # inline CSS only
    links = assert_inert_html(html)
    assert "https://example.org/rijk/nieuws/nieuw-aanmeldcentrum" in links
    assert "https://example.org/gemeente/kabinet-opent-aanmeldcentrum" in links
    assert "datum onbekend" in html


# --------------------------------------------------------------------------------- health

NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=1)


def test_failing_source_is_reported_in_plain_words() -> None:
    facts = SourceFacts(
        key="krant",
        name="Testkrant",
        kind="rss",
        errors=(
            (NOW - timedelta(hours=2), "no complete answer within the 30 s deadline", "timeout"),
        ),
        consecutive_errors=4,
        last_error="no complete answer within the 30 s deadline",
        last_error_kind="timeout",
        first_failure_at=NOW - timedelta(days=2),
    )
    (note,) = assess_health([facts], SINCE, NOW)
    assert note.kind == "failing"
    assert "1 mislukte poging sinds het vorige overzicht" in note.detail
    assert "faalt al 4 keer op rij" in note.detail
    assert "de website antwoordde niet op tijd" in note.detail


def test_recovered_source_is_still_reported_once() -> None:
    facts = SourceFacts(
        key="k", name="K", kind="rss", errors=((NOW, "HTTP 503", "http"), (NOW, "HTTP 503", "http"))
    )
    (note,) = assess_health([facts], SINCE, NOW)
    assert "2 mislukte pogingen" in note.detail and "werkt inmiddels weer" in note.detail


def _dates(every: timedelta, n: int, last: datetime) -> tuple[datetime, ...]:
    return tuple(last - every * i for i in range(n))


def test_quiet_source_is_judged_against_its_usual_gap() -> None:
    daily_quiet = SourceFacts(
        "a", "A", "rss", item_dates=_dates(timedelta(days=1), 10, NOW - timedelta(days=5))
    )
    daily_fine = SourceFacts(
        "b", "B", "rss", item_dates=_dates(timedelta(days=1), 10, NOW - timedelta(days=2))
    )
    monthly = SourceFacts(
        "c", "C", "rss", item_dates=_dates(timedelta(days=30), 10, NOW - timedelta(days=40))
    )
    few = SourceFacts(
        "d", "D", "rss", item_dates=_dates(timedelta(days=1), 3, NOW - timedelta(days=50))
    )
    notes = assess_health([daily_quiet, daily_fine, monthly, few], SINCE, NOW)
    assert [(n.source, n.kind) for n in notes] == [("a", "quiet")]
    assert "al 5 dagen geen nieuw bericht (gewoonlijk om de 24 uur)" in notes[0].detail


def test_html_source_that_suddenly_finds_nothing() -> None:
    broke = SourceFacts("h", "H", "html", reads=(0, 12, 12))
    never = SourceFacts("n", "N", "html", reads=(0, 0))
    feed = SourceFacts("f", "F", "rss", reads=(0, 12))
    notes = assess_health([broke, never, feed], SINCE, NOW)
    assert [(n.source, n.kind) for n in notes] == [("h", "empty")]
    assert "eerder 12" in notes[0].detail


def test_disabled_sources_are_not_reported() -> None:
    facts = SourceFacts("x", "X", "rss", enabled=False, consecutive_errors=9, last_error="e")
    assert assess_health([facts], SINCE, NOW) == ()


def test_health_notes_round_trip_through_json() -> None:
    for note in HEALTH:
        assert HealthNote.from_json(note.to_json()) == note


# -------------------------------------------------------------------------------- profiles


def test_shipped_digest_profiles_load() -> None:
    for path in (ROOT / "config" / "digests.yaml", ROOT / "demo" / "digests.yaml"):
        cfg = load_digests(path, required=True)
        assert cfg.profiles and all(p.markdown for p in cfg.profiles)
    demo = load_digests(ROOT / "demo" / "digests.yaml")
    assert all(p.email is None for p in demo.profiles)  # the demo stays offline


def test_profile_with_email_and_smtp() -> None:
    cfg = parse_digests(
        """
smtp: {host: 127.0.0.1, port: 2525, security: none, retries: 1, retry_delay: 1s}
profiles:
  - name: team
    topics: [migratie]
    empty: skip
    outputs:
      markdown: false
      email: {to: [a@example.org], from: "fw <fw@example.org>", subject: "{title} {count}"}
""",
        Path("digests.yaml"),
    )
    (p,) = cfg.profiles
    assert p.email is not None and p.email.to == ("a@example.org",) and not p.markdown
    assert cfg.smtp is not None and cfg.smtp.port == 2525 and cfg.smtp.retry_delay == 1.0


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("profiles:\n  - name: a\n    schedule: 'elke dag'\n", 3, "cron expression"),
        ("profiles:\n  - name: a\n    colour: red\n", 3, "unknown key"),
        ("profiles:\n  - name: A b\n", 2, "lower-case"),
        ("profiles:\n  - name: a\n  - name: a\n", 3, "duplicate profile"),
        (
            "profiles:\n  - name: a\n    outputs:\n      email: {to: [x@example.org]}\n",
            4,
            "needs an 'smtp:' section",
        ),
        (
            "smtp: {host: h}\nprofiles:\n  - name: a\n    outputs:\n      email:\n        to: ['x@example.org\\r\\nBcc: y@example.org']\n",
            6,
            "e-mail address",
        ),
        (
            "smtp: {host: h}\nprofiles:\n  - name: a\n    outputs:\n      email:\n        to: [x@example.org]\n        subject: '{x.__class__}'\n",
            7,
            "unknown placeholder",
        ),
    ],
)
def test_profile_errors_name_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_digests(text, Path("digests.yaml"))
    assert info.value.line == line, str(info.value)
    assert words in str(info.value)


def test_every_error_kind_is_worded_in_dutch_and_english() -> None:
    """refused-address, dns, robots and internal once fell through to raw English (#12)."""
    from typing import get_args

    from feedwatch.core.digest import ERROR_KINDS
    from feedwatch.errors import FetchErrorKind
    from feedwatch.types import ErrorKind

    assert set(get_args(FetchErrorKind)) < set(ERROR_KINDS) == set(get_args(ErrorKind))
    raw = "raw technical message"
    for kind in ERROR_KINDS:
        facts = SourceFacts(
            "k", "K", "rss", consecutive_errors=1, last_error=raw, last_error_kind=kind
        )
        (nl,) = assess_health([facts], SINCE, NOW, lang="nl")
        (en,) = assess_health([facts], SINCE, NOW, lang="en")
        nl_words = nl.detail.split("laatste fout: ")[1].split(f" ({raw})")[0]
        en_words = en.detail.split("last error: ")[1].split(f" ({raw})")[0]
        assert nl_words and en_words and nl_words != en_words, kind
        assert raw not in nl_words, kind
    (note,) = assess_health(
        [SourceFacts("k", "K", "rss", consecutive_errors=1, last_error=raw, last_error_kind="dns")],
        SINCE,
        NOW,
    )
    assert "de naam van de website bestaat niet (DNS)" in note.detail


def test_quiet_uses_the_typical_gap_of_polling() -> None:
    """One rule for how often a source publishes: distinct dates, as schedule.typical_gap."""
    from feedwatch.core.schedule import typical_gap

    # ten items on five distinct days: the polling gap is a day, and so is the digest's
    dates = tuple(d for d in _dates(timedelta(days=1), 5, NOW - timedelta(days=6)) for _ in (0, 1))
    assert typical_gap(dates) == 86400.0
    (note,) = assess_health([SourceFacts("a", "A", "rss", item_dates=dates)], SINCE, NOW)
    assert note.kind == "quiet" and "gewoonlijk om de 24 uur" in note.detail
