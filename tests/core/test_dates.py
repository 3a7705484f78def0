"""Dutch and English date parsing: a table of real-world strings, rejections, properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedwatch.core.extract.dates import (
    find_date_matches,
    find_dates,
    parse_date,
    parse_date_match,
    parse_feed_date,
    parse_iso_datetime,
)

AMS = ZoneInfo("Europe/Amsterdam")
# Sunday 1 March 2026, 13:00 in Amsterdam (CET)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def ams(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """Amsterdam wall time -> UTC, as the parser must compute it."""
    return datetime(y, m, d, hh, mm, tzinfo=AMS).astimezone(UTC)


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=UTC)


TABLE: list[tuple[str, datetime | None]] = [
    # Dutch long dates, as on the Amnesty and VluchtelingenWerk pages
    ("8 september 2022", ams(2022, 9, 8)),
    ("11 februari 2026", ams(2026, 2, 11)),
    ("30 juni 2022", ams(2022, 6, 30)),
    ("5 oktober 2022", ams(2022, 10, 5)),
    ("1 januari 2024", ams(2024, 1, 1)),
    ("12 maart 2024", ams(2024, 3, 12)),
    ("Gepubliceerd op 12 maart 2024", ams(2024, 3, 12)),
    ("17 augustus 2023", ams(2023, 8, 17)),
    ("3 mei 2021", ams(2021, 5, 3)),
    ("04 juli 2019", ams(2019, 7, 4)),
    ("  9   november\u00a02020 ", ams(2020, 11, 9)),
    ("1 DECEMBER 2025", ams(2025, 12, 1)),
    # abbreviations, with and without dot
    ("3 okt. 2025", ams(2025, 10, 3)),
    ("3 okt 2025", ams(2025, 10, 3)),
    ("13 nov 2020", ams(2020, 11, 13)),
    ("23 okt 2020", ams(2020, 10, 23)),
    ("7 mrt 2025", ams(2025, 3, 7)),
    ("7 mrt. 2025", ams(2025, 3, 7)),
    ("19 aug. 2024", ams(2024, 8, 19)),
    ("2 sept. 2024", ams(2024, 9, 2)),
    ("2 sep 2024", ams(2024, 9, 2)),
    ("14 feb. 2026", ams(2026, 2, 14)),
    # weekdays, short and long, which must fit the date
    ("vr 3 oktober 2025", ams(2025, 10, 3)),
    ("vrijdag 3 oktober 2025", ams(2025, 10, 3)),
    ("donderdag 8 september 2022", ams(2022, 9, 8)),
    ("do, 08 okt 2020 14:05:00 +0200", utc(2020, 10, 8, 12, 5)),
    ("za 28 februari 2026", ams(2026, 2, 28)),
    # numeric day-first
    ("28-01-14", ams(2014, 1, 28)),
    ("21-02-14", ams(2014, 2, 21)),
    ("16-05-22", ams(2022, 5, 16)),
    ("28-01-2014", ams(2014, 1, 28)),
    ("21-03-2015", ams(2015, 3, 21)),
    ("11/02/2026", ams(2026, 2, 11)),
    ("11.02.2026", ams(2026, 2, 11)),
    ("1-2-2026", ams(2026, 2, 1)),
    ("15-01-2024", ams(2024, 1, 15)),
    ("31-12-99", ams(1999, 12, 31)),
    ("2026/02/11", ams(2026, 2, 11)),
    # ISO 8601
    ("2026-02-11", ams(2026, 2, 11)),
    ("2026-02-11T14:05:00+01:00", utc(2026, 2, 11, 13, 5)),
    ("2026-02-11T13:05:00Z", utc(2026, 2, 11, 13, 5)),
    ("2026-02-11T13:05:00.123Z", utc(2026, 2, 11, 13, 5)),
    ("2026-02-11T14:05", ams(2026, 2, 11, 14, 5)),
    ("2026-02-11 14:05:30", ams(2026, 2, 11, 14, 5) + timedelta(seconds=30)),
    ("2025-07-01T00:00:00+0200", utc(2025, 6, 30, 22, 0)),
    # RFC 822 (feeds, HTTP), named zones read correctly
    ("Wed, 11 Feb 2026 13:05:00 GMT", utc(2026, 2, 11, 13, 5)),
    ("Fri, 03 Jul 2026 15:34:00 GMT", None),  # after NOW + 1 day
    ("Fri, 03 Jul 2025 15:34:00 +0000", None),  # 3 July 2025 was a Thursday
    ("Thu, 03 Jul 2025 15:34:00 +0000", utc(2025, 7, 3, 15, 34)),
    ("Thu, 03 Jul 2025 17:34:00 CEST", utc(2025, 7, 3, 15, 34)),
    ("Tue, 10 Feb 2026 09:00:00 CET", utc(2026, 2, 10, 8, 0)),
    # English
    ("8 September 2022", ams(2022, 9, 8)),
    ("September 8, 2022", ams(2022, 9, 8)),
    ("Sep 8, 2022", ams(2022, 9, 8)),
    ("Sept. 8, 2022", ams(2022, 9, 8)),
    ("Thursday, September 8, 2022", ams(2022, 9, 8)),
    ("January 20, 2026 2:05 pm", ams(2026, 1, 20, 14, 5)),
    ("17 January 2024", ams(2024, 1, 17)),
    ("March 3rd, 2025", ams(2025, 3, 3)),
    # times
    ("8 september 2022 14:05", ams(2022, 9, 8, 14, 5)),
    ("8 september 2022, 14:05", ams(2022, 9, 8, 14, 5)),
    ("8 september 2022 om 14:05", ams(2022, 9, 8, 14, 5)),
    ("8 september 2022 om 14.05 uur", ams(2022, 9, 8, 14, 5)),
    ("17-03-2018 | 18:30", ams(2018, 3, 17, 18, 30)),
    ("Nieuwsbericht | 17-03-2018 | 18:30", ams(2018, 3, 17, 18, 30)),
    ("11.02.2026 09.30 uur", ams(2026, 2, 11, 9, 30)),
    # relative to NOW (Sunday 1 March 2026 13:00 Amsterdam)
    ("vandaag", ams(2026, 3, 1)),
    ("Vandaag, 09:15", ams(2026, 3, 1, 9, 15)),
    ("gisteren", ams(2026, 2, 28)),
    ("gisteren om 14:05", ams(2026, 2, 28, 14, 5)),
    ("eergisteren", ams(2026, 2, 27)),
    ("2 dagen geleden", ams(2026, 2, 27)),
    ("1 dag geleden", ams(2026, 2, 28)),
    ("3 uur geleden", utc(2026, 3, 1, 9, 0)),
    ("een uur geleden", utc(2026, 3, 1, 11, 0)),
    ("15 minuten geleden", utc(2026, 3, 1, 11, 45)),
    ("1 week geleden", ams(2026, 2, 22)),
    ("2 weken geleden", ams(2026, 2, 15)),
    ("yesterday", ams(2026, 2, 28)),
    ("today", ams(2026, 3, 1)),
    ("2 days ago", ams(2026, 2, 27)),
    ("an hour ago", utc(2026, 3, 1, 11, 0)),
    ("Posted 5 hours ago", utc(2026, 3, 1, 7, 0)),
    # DST: the night clocks went forward (29 March 2026) and back (26 October 2025)
    ("28 maart 2026 12:00", None),  # after NOW + 1 day
    ("30 maart 2025 01:30", utc(2025, 3, 30, 0, 30)),
    ("30 maart 2025 02:30", None),  # skipped hour: does not exist
    ("30 maart 2025 03:30", utc(2025, 3, 30, 1, 30)),
    ("26 oktober 2025 01:30", utc(2025, 10, 25, 23, 30)),
    ("26 oktober 2025 02:30", None),  # happened twice: ambiguous
    ("26 oktober 2025 03:30", utc(2025, 10, 26, 2, 30)),
    ("1 juli 2025", utc(2025, 6, 30, 22, 0)),  # summer: UTC+2
    ("1 januari 2025", utc(2024, 12, 31, 23, 0)),  # winter: UTC+1
    # rejections: impossible
    ("31 februari 2024", None),
    ("30 februari 2024", None),
    ("29 februari 2023", None),
    ("13-13-2020", None),
    ("12-13-2020", None),
    ("00-01-2020", None),
    ("32 januari 2020", None),
    ("2026-13-01", None),
    ("2026-02-30", None),
    ("8 september 2022 25:00", None),
    ("8 september 2022 14:61", None),
    ("vr 4 oktober 2025", None),  # 4 October 2025 was a Saturday
    # rejections: out of range
    ("1 januari 1990", None),
    ("31 december 1994", None),
    ("3 maart 2026", None),  # two days after NOW
    ("2 maart 2026 11:00", ams(2026, 3, 2, 11, 0)),  # within a day of NOW
    ("2030-01-01", None),
    # rejections: ambiguous or not a date
    ("maandag", None),
    ("maandag 14:05", None),
    ("september 2022", None),
    ("8 september", None),
    ("2022", None),
    ("14:05", None),
    ("Asieltrends januari 2026", None),
    ("8 september 2022 en 9 september 2022", None),
    ("28-01-14 en 21-02-14", None),
    ("1/2/3", None),
    ("06-12-34-56-78", None),
    ("2026D08112", None),
    ("Kamerstuk 36 123 nr. 4", None),
    ("geen datum bekend", None),
    ("", None),
    ("   ", None),
    ("Lees meer over vluchtelingen wereldwijd", None),
    ("Geplaatst op 12 maart 2024 door de redactie", None),
]


def test_table_is_big_enough() -> None:
    assert len(TABLE) >= 60
    assert sum(1 for _, want in TABLE if want is None) >= 20


@pytest.mark.parametrize(("text", "want"), TABLE, ids=[t or "<empty>" for t, _ in TABLE])
def test_date_table(text: str, want: datetime | None) -> None:
    got = parse_date(text, now=NOW)
    assert got == want
    if got is not None:
        assert got.tzinfo is not None and got.utcoffset() == timedelta(0)


def test_two_digit_year_picks_the_century_not_in_the_future() -> None:
    assert parse_date("28-01-14", now=NOW) == ams(2014, 1, 28)
    assert parse_date("01-03-26", now=NOW) == ams(2026, 3, 1)
    # 2 March 2026 is within a day of NOW, 5 March 2026 is not: 1926 is then before 1995
    assert parse_date("02-03-26", now=NOW) == ams(2026, 3, 2)
    assert parse_date("05-03-26", now=NOW) is None
    assert parse_date("05-03-98", now=NOW) == ams(1998, 3, 5)
    assert parse_date("05-03-94", now=NOW) is None


def test_now_may_be_any_aware_zone_or_naive_utc() -> None:
    local_now = NOW.astimezone(AMS)
    naive_utc = NOW.replace(tzinfo=None)
    for now in (NOW, local_now, naive_utc):
        assert parse_date("gisteren", now=now) == ams(2026, 2, 28)


def test_relative_days_follow_the_amsterdam_calendar_day() -> None:
    # 23:30 UTC on 28 Feb is already 1 March in Amsterdam
    late = datetime(2026, 2, 28, 23, 30, tzinfo=UTC)
    assert parse_date("vandaag", now=late) == ams(2026, 3, 1)
    assert parse_date("gisteren", now=late) == ams(2026, 2, 28)


def test_custom_timezone() -> None:
    london = ZoneInfo("Europe/London")
    assert parse_date("1 juli 2025 12:00", now=NOW, tz=london) == utc(2025, 7, 1, 11, 0)


def test_parse_date_match_reports_the_text() -> None:
    m = parse_date_match("Gepubliceerd op vr 3 okt. 2025 om 14.05 uur", now=NOW)
    assert m is not None
    assert m.text == "vr 3 okt. 2025 om 14.05 uur"
    assert m.kind == "long" and m.has_time
    assert m.value == ams(2025, 10, 3, 14, 5)


def test_find_dates_in_running_text() -> None:
    text = (
        "Lees ook: 28-01-14 Organisaties vragen een verbod. 21-02-14 Nog veel werk. "
        "16-05-22 Rechter oordeelt. Op 12 februari 2026 om 10:00 is er een gesprek; "
        "vandaag is het koud, 12.000 mensen, versie 1.2.3, bel 06-12345678."
    )
    got = find_dates(text, now=NOW)
    assert [t for _, t in got] == ["28-01-14", "21-02-14", "16-05-22", "12 februari 2026 om 10:00"]
    assert [v for v, _ in got] == [
        ams(2014, 1, 28),
        ams(2014, 2, 21),
        ams(2022, 5, 16),
        ams(2026, 2, 12, 10, 0),
    ]
    # "vandaag" counts in running text only when asked for
    with_words = find_date_matches(text, now=NOW, relative_words=True)
    assert any(m.text == "vandaag" for m in with_words)


def test_find_dates_skips_impossible_ones_without_splitting_them() -> None:
    got = find_dates("van 31-02-2024 tot 1-03-2024", now=NOW)
    assert got == [(ams(2024, 3, 1), "1-03-2024")]


def test_parse_iso_datetime_for_machine_values() -> None:
    assert parse_iso_datetime("2026-02-11T14:05:00+01:00", now=NOW) == utc(2026, 2, 11, 13, 5)
    assert parse_iso_datetime("2026-02-11", now=NOW) == ams(2026, 2, 11)
    assert parse_iso_datetime("Wed, 11 Feb 2026 13:05:00 GMT", now=NOW) == utc(2026, 2, 11, 13, 5)
    assert parse_iso_datetime("2026-02-30T10:00:00Z", now=NOW) is None
    assert parse_iso_datetime("", now=NOW) is None


# ---------------------------------------------------------------- properties

NL_MONTHS = [
    "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
    "oktober", "november", "december",
]  # fmt: skip
NL_ABBR = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
NL_DAYS = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"]
NL_DAYS_SHORT = ["ma", "di", "wo", "do", "vr", "za", "zo"]
EN_MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip

STYLES = {
    "nl-long": lambda d: f"{d.day} {NL_MONTHS[d.month - 1]} {d.year}",
    "nl-abbr": lambda d: f"{d.day} {NL_ABBR[d.month - 1]}. {d.year}",
    "nl-abbr-nodot": lambda d: f"{d.day} {NL_ABBR[d.month - 1]} {d.year}",
    "nl-weekday": lambda d: f"{NL_DAYS[d.weekday()]} {d.day} {NL_MONTHS[d.month - 1]} {d.year}",
    "nl-weekday-short": lambda d: (
        f"{NL_DAYS_SHORT[d.weekday()]} {d.day} {NL_ABBR[d.month - 1]} {d.year}"
    ),
    "nl-time": lambda d: f"{d.day} {NL_MONTHS[d.month - 1]} {d.year} om {d:%H.%M} uur",
    "dd-mm-yyyy": lambda d: f"{d:%d-%m-%Y}",
    "dd-mm-yy": lambda d: f"{d:%d-%m-%y}",
    "dd/mm/yyyy": lambda d: f"{d:%d/%m/%Y}",
    "dd.mm.yyyy": lambda d: f"{d:%d.%m.%Y}",
    "gov-list": lambda d: f"{d:%d-%m-%Y | %H:%M}",
    "iso-date": lambda d: f"{d:%Y-%m-%d}",
    "iso-local": lambda d: f"{d:%Y-%m-%dT%H:%M:%S}",
    "en-long": lambda d: f"{d.day} {EN_MONTHS[d.month - 1]} {d.year}",
    "en-us": lambda d: f"{EN_MONTHS[d.month - 1]} {d.day}, {d.year}",
    "en-us-abbr": lambda d: f"{EN_MONTHS[d.month - 1][:3]} {d.day}, {d.year}",
}
WITH_TIME = {"nl-time", "gov-list", "iso-local"}

local_datetimes = st.datetimes(
    min_value=datetime(1995, 1, 2), max_value=NOW.replace(tzinfo=None) - timedelta(days=1)
).map(lambda d: d.replace(second=0, microsecond=0))


def _exists_once(naive: datetime) -> bool:
    a = naive.replace(tzinfo=AMS, fold=0)
    b = naive.replace(tzinfo=AMS, fold=1)
    round_trip = a.astimezone(UTC).astimezone(AMS).replace(tzinfo=None)
    return a.utcoffset() == b.utcoffset() and round_trip == naive


@settings(max_examples=300, deadline=None)
@given(naive=local_datetimes, style=st.sampled_from(sorted(STYLES)))
def test_formatted_dates_parse_back(naive: datetime, style: str) -> None:
    text = STYLES[style](naive)
    got = parse_date(text, now=NOW)
    if style in WITH_TIME:
        if not _exists_once(naive):
            assert got is None  # skipped or repeated wall time around a DST change
            return
        want = naive.replace(tzinfo=AMS).astimezone(UTC)
    else:
        want = naive.replace(hour=0, minute=0, tzinfo=AMS).astimezone(UTC)
    assert got == want, text


@settings(max_examples=200, deadline=None)
@given(aware=st.datetimes(min_value=datetime(1995, 1, 2), max_value=datetime(2026, 2, 27)))
def test_iso_with_offset_round_trips(aware: datetime) -> None:
    value = aware.replace(microsecond=0, tzinfo=UTC)
    for tz in (UTC, AMS, ZoneInfo("America/New_York")):
        assert parse_date(value.astimezone(tz).isoformat(), now=NOW) == value


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=200))
def test_never_raises_on_arbitrary_text(text: str) -> None:
    value = parse_date(text, now=NOW)
    assert value is None or (value.tzinfo is not None and value <= NOW + timedelta(days=1))
    for v, _ in find_dates(text, now=NOW):
        assert v.tzinfo is not None


_pieces = st.sampled_from(
    ["8", "31", "13", "-", "/", ".", " ", ":", "2026", "1994", "99", "februari", "okt.", "mrt",
     "vr", "om", "uur", "geleden", "gisteren", "Z", "+01:00", "T", "14", "05", "pm", ","]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(_pieces, max_size=12))
def test_never_raises_on_date_like_text(parts: list[str]) -> None:
    text = "".join(parts)
    value = parse_date(text, now=NOW)
    assert value is None or datetime(1995, 1, 1, tzinfo=UTC) <= value <= NOW + timedelta(days=1)


# ---------------------------------------------------------------- feed dates (strict rules)

FEED_TABLE: list[tuple[str, datetime | None]] = [
    # every numeric offset form
    ("Thu, 20 Nov 2026 10:00:00 +0100", utc(2026, 11, 20, 9)),
    ("Thu, 20 Nov 2026 10:00:00 +01:00", utc(2026, 11, 20, 9)),
    ("Thu, 20 Nov 2026 10:00:00 +01", utc(2026, 11, 20, 9)),
    ("Thu, 20 Nov 2026 10:00:00 GMT+0200", utc(2026, 11, 20, 8)),
    ("Thu, 20 Nov 2026 10:00:00 UTC-05:00", utc(2026, 11, 20, 15)),
    ("Thu, 20 Nov 2026 10:00:00 -01:01", utc(2026, 11, 20, 11, 1)),
    ("Thu, 20 Nov 2026 10:00:00 -0000", utc(2026, 11, 20, 10)),
    ("2026-11-20T10:00:00-01:01", utc(2026, 11, 20, 11, 1)),
    ("2026-11-20T10:00:00+0100", utc(2026, 11, 20, 9)),
    ("2026-11-20 10:00:00 +01:00", utc(2026, 11, 20, 9)),
    ("20261120T100000Z", utc(2026, 11, 20, 10)),
    # zone names with a known offset
    ("Fri, 20 Nov 2026 13:00:00 CET", utc(2026, 11, 20, 12)),
    ("Wed, 01 Jul 2026 12:00:00 CEST", utc(2026, 7, 1, 10)),
    ("Wed, 01 Jul 2026 12:00:00 MEST", utc(2026, 7, 1, 10)),
    ("Fri, 20 Nov 2026 13:00:00 MET", utc(2026, 11, 20, 12)),
    ("Fri, 20 Nov 2026 13:00:00 EST", utc(2026, 11, 20, 18)),
    ("Wed, 01 Jul 2026 13:00:00 EDT", utc(2026, 7, 1, 17)),
    ("Fri, 20 Nov 2026 13:00:00 CST", utc(2026, 11, 20, 19)),
    ("Wed, 01 Jul 2026 13:00:00 PDT", utc(2026, 7, 1, 20)),
    ("Sat, 16 Dec 2023 16:02:50CDT", utc(2023, 12, 16, 21, 2, 50)),
    # North-American letters: that region's wall time on that day
    ("Fri, 20 Nov 2026 13:00:00 ET", utc(2026, 11, 20, 18)),
    ("Wed, 01 Jul 2026 13:00:00 ET", utc(2026, 7, 1, 17)),
    ("Fri, 20 Nov 2026 13:00:00 CT", utc(2026, 11, 20, 19)),
    ("Fri, 20 Nov 2026 13:00:00 MT", utc(2026, 11, 20, 20)),
    ("Wed, 01 Jul 2026 13:00:00 PT", utc(2026, 7, 1, 20)),
    ("Fri, 20 Nov 2026 13:00:00 AT", utc(2026, 11, 20, 17)),
    ("Sun, 01 Nov 2026 01:30:00 ET", None),  # happens twice that night: no guess
    # 12-hour clocks
    ("Sat, Dec 16 2023 02:02:33 PM", utc(2023, 12, 16, 14, 2, 33)),
    ("Sat, 16 Dec 2023 12:05 AM GMT", utc(2023, 12, 16, 0, 5)),
    ("Sat, 16 Dec 2023 12:05 pm +0100", utc(2023, 12, 16, 11, 5)),
    ("Sat, 16 Dec 2023 13:05 PM", None),
    # Dutch weekday and month names
    ("do, 08 okt 2026 14:00:00 +0200", utc(2026, 10, 8, 12)),
    ("woensdag 3 mei 2023 09:30 CEST", utc(2023, 5, 3, 7, 30)),
    ("ma, 01 jan 2024", utc(2024, 1, 1)),
    # date only: UTC midnight in both forms (one rule)
    ("Thu, 20 Nov 2026", utc(2026, 11, 20)),
    ("20 Nov 2026", utc(2026, 11, 20)),
    ("2026-11-20", utc(2026, 11, 20)),
    # no zone: UTC
    ("2026-11-20 12:00:00", utc(2026, 11, 20, 12)),
    ("Thu, 20 Nov 2026 12:00:00", utc(2026, 11, 20, 12)),
    # two-digit years (RFC 2822), asctime, fractions
    ("Thu, 01 Jan 04 19:48:21 GMT", utc(2004, 1, 1, 19, 48, 21)),
    ("Sun Jan  4 16:29:06 2004", utc(2004, 1, 4, 16, 29, 6)),
    ("Sun Jan 4 16:29:06 PST 2004", utc(2004, 1, 5, 0, 29, 6)),
    ("2003-12-31T10:14:55.25Z", utc(2003, 12, 31, 10, 14, 55).replace(microsecond=250000)),
    ("Thu, 01 Jan 2004 19:48:21 -0800 (PST)", utc(2004, 1, 2, 3, 48, 21)),
    # garbage: no date, never a wrong one
    ("Sun, 16 Dec zz 12:00:00 GMT", None),
    ("2026-11-20T10:00:00+zz:00", None),
    ("Thu, 20 Nov 2026 10:00:00 +zz:00", None),
    ("2013-01-27-01", None),
    ("2024-13-45T99:99:99Z", None),
    ("Sat, 01 Jan 0001 00:00:00 +2400", None),
    ("Thu, 20 Nov 2026 10:00:00 +2400", None),
    ("Thu, 20 Nov 2026 10:00:00 XYZ", None),
    ("Thu, 20 Nov 2026 10:00:00 A", None),  # military letters: RFC 1123 says their sign is wrong
    ("Thu, 20 Nov 2026 25:00:00 GMT", None),
    ("Thu, 31 Nov 2026 10:00:00 GMT", None),
    ("0000-00-00 00:00:00", None),
    ("-62135596800", None),
    ("1700000000", None),
    ("2026-11", None),
    ("20/11/2026", None),
    ("vandaag", None),
    ("Thu, 20 Nov 2026 10:00:00 GMT and more", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "want"), FEED_TABLE)
def test_feed_date_table(text: str, want: datetime | None) -> None:
    assert parse_feed_date(text) == want


def test_feed_dates_take_no_non_strings() -> None:
    assert parse_feed_date(None) is None
    assert parse_feed_date(1700000000) is None


EN_ABBR = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
EN_WD = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _offset(d: datetime, colon: bool) -> str:
    minutes = int((d.utcoffset() or timedelta(0)).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hh, mm = divmod(abs(minutes), 60)
    return f"{sign}{hh:02d}:{mm:02d}" if colon else f"{sign}{hh:02d}{mm:02d}"


def _twelve(d: datetime) -> str:
    return f"{(d.hour % 12) or 12:02d}:{d:%M:%S} {'PM' if d.hour >= 12 else 'AM'}"


FEED_STYLES = {
    "rfc822": lambda d: (
        f"{EN_WD[d.weekday()]}, {d.day:02d} {EN_ABBR[d.month - 1]} {d:%Y %H:%M:%S} "
        + _offset(d, False)
    ),
    "rfc822-colon": lambda d: f"{d.day} {EN_ABBR[d.month - 1]} {d:%Y %H:%M:%S} " + _offset(d, True),
    "rfc822-gmt-offset": lambda d: (
        f"{d.day} {EN_ABBR[d.month - 1]} {d:%Y %H:%M:%S} GMT" + _offset(d, False)
    ),
    "rfc822-12h": lambda d: (
        f"{EN_WD[d.weekday()]}, {EN_ABBR[d.month - 1]} {d.day} {d.year} "
        + _twelve(d)
        + " "
        + _offset(d, False)
    ),
    "rfc822-dutch": lambda d: (
        f"{NL_DAYS_SHORT[d.weekday()]}, {d.day} {NL_ABBR[d.month - 1]} "
        f"{d:%Y %H:%M:%S} " + _offset(d, False)
    ),
    "rfc822-dutch-long": lambda d: (
        f"{NL_DAYS[d.weekday()]} {d.day} {NL_MONTHS[d.month - 1]} "
        f"{d:%Y %H:%M:%S} " + _offset(d, True)
    ),
    "iso": lambda d: d.isoformat(),
    "iso-space": lambda d: f"{d:%Y-%m-%d %H:%M:%S}" + _offset(d, True),
    "iso-basic": lambda d: f"{d:%Y%m%dT%H%M%S}" + _offset(d, False),
}
NAMED = {60: "CET", 120: "CEST", -300: "EST", -240: "EDT", -360: "CST", -480: "PST", 0: "GMT"}


@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=-14 * 60 + 1, max_value=14 * 60 - 1),
    st.sampled_from(sorted(FEED_STYLES)),
)
def test_feed_dates_parse_back_to_the_same_instant(
    naive: datetime, offset_minutes: int, style: str
) -> None:
    from datetime import timezone

    aware = naive.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=offset_minutes)))
    text = FEED_STYLES[style](aware)
    assert parse_feed_date(text) == aware, text


@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from(sorted(NAMED)),
)
def test_feed_dates_with_zone_names_parse_back(naive: datetime, minutes: int) -> None:
    from datetime import timezone

    aware = naive.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=minutes)))
    text = f"{EN_WD[aware.weekday()]}, {aware.day} {EN_ABBR[aware.month - 1]} " + (
        f"{aware:%Y %H:%M:%S} {NAMED[minutes]}"
    )
    assert parse_feed_date(text) == aware, text


@given(st.text(max_size=60))
def test_feed_dates_never_raise(text: str) -> None:
    value = parse_feed_date(text)
    if value is not None:
        assert value.utcoffset() == timedelta(0)
        value + timedelta(days=1)


def test_machine_dates_with_a_zone_name_glued_to_the_time() -> None:
    assert parse_iso_datetime("2023-12-16T16:02:50CDT", now=NOW) == utc(2023, 12, 16, 21, 2, 50)
    assert parse_iso_datetime("2023-12-16 16:02:50 CET", now=NOW) == utc(2023, 12, 16, 15, 2, 50)
    # in lower case a zone name is a word: "met" here is Dutch for "with", not MET
    (found,) = find_dates("Op 2024-05-03 10:00 met de raad gesproken", now=NOW)
    assert found[0] == ams(2024, 5, 3, 10, 0)
