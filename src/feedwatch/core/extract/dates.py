"""Date parsing: feed dates (strict) and page dates; pure (no I/O, no clock).

Feed dates (``parse_feed_date``): RFC 822 / RFC 1123 and ISO 8601 / RFC 3339 in the forms feeds
write, read by these rules and nothing else (feedparser's own date parser is never used: it turns
month 13 into next year and reads CEST as UTC, RELIABILITY.md §8). A feed date without a zone,
with or without a time, is UTC (RFC 822's "-0000", and what feed readers assume); a zone is a
numeric offset (+0100, +01:00, +01, GMT+0200, UTC-05:00) or a name with a known offset (UT,
GMT, Z, CET/CEST, MET/MEST, WET/WEST, BST, EET/EEST, the North-American EST/EDT, CST/CDT,
MST/MDT, PST/PDT, AST/ADT, and ET/CT/MT/PT/AT read as the local time of that zone on that
day). English and Dutch month and weekday names, 12-hour clocks with AM/PM. Anything else gives
None, never a guess.

Page dates (Dutch and English first; German and French month and weekday names as well, for
article pages of sources in those languages):

Every function takes the fetch time as ``now``; naive dates are read as Europe/Amsterdam wall
time and returned as aware UTC. Nothing is guessed: impossible dates (31 februari, month 13),
local times that do not exist or happen twice (DST changes), a weekday that does not fit the
date, dates before 1995 and dates more than a day after ``now`` all give ``None``.

No third-party date library is used: the handful of regular expressions below cover the shapes
seen on the sources (see ../shared/data/sources.md) at a few microseconds per string, and keep
the rejection rules in one place (dateparser guesses missing parts and costs ~1 ms a call).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from datetime import timezone as dt_timezone
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = [
    "AMSTERDAM",
    "MIN_DATE",
    "MONTHS",
    "DateMatch",
    "find_date_matches",
    "find_dates",
    "parse_date",
    "parse_date_match",
    "parse_feed_date",
    "parse_iso_datetime",
]

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# The one set of plausibility bounds (normalise.check_date uses them too): nothing before 1995
# (no source in scope published online earlier), nothing more than a day after the fetch.
MIN_DATE = datetime(1995, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)

DateKind = Literal["iso", "long", "month-first", "numeric", "relative"]

MONTHS: dict[str, int] = {
    # Dutch, full and abbreviated
    "januari": 1, "jan": 1, "februari": 2, "feb": 2, "febr": 2, "maart": 3, "mrt": 3,
    "april": 4, "apr": 4, "mei": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7,
    "augustus": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10,
    "november": 11, "nov": 11, "december": 12, "dec": 12,
    # English (and the abbreviations Dutch sites borrow)
    "january": 1, "february": 2, "march": 3, "mar": 3, "may": 5, "june": 6, "july": 7,
    "august": 8, "october": 10, "oct": 10,
    # German (article pages of German-language sources)
    "januar": 1, "jänner": 1, "jän": 1, "februar": 2, "märz": 3, "mär": 3, "maerz": 3,
    "mai": 5, "dezember": 12, "dez": 12,
    # French
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fév": 2, "mars": 3,
    "avril": 4, "avr": 4, "juin": 6, "juillet": 7, "juil": 7, "août": 8, "aout": 8,
    "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12, "decembre": 12, "déc": 12,
}  # fmt: skip

WEEKDAYS: dict[str, int] = {
    "maandag": 0, "ma": 0, "dinsdag": 1, "di": 1, "woensdag": 2, "wo": 2, "donderdag": 3,
    "do": 3, "vrijdag": 4, "vr": 4, "zaterdag": 5, "za": 5, "zondag": 6, "zo": 6,
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5,
    "sat": 5, "sunday": 6, "sun": 6,
    "montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4, "samstag": 5,
    "sonnabend": 5, "sonntag": 6,
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6,
}  # fmt: skip

# The one table of zone names with a fixed offset (minutes east of UTC), for feed and page
# dates alike (feedparser reads CET/CEST as UTC; we do not).
ZONES: dict[str, int] = {
    "gmt": 0, "ut": 0, "utc": 0, "z": 0, "cet": 60, "cest": 120, "met": 60, "mest": 120,
    "wet": 0, "west": 60, "bst": 60, "eet": 120, "eest": 180, "est": -300, "edt": -240,
    "cst": -360, "cdt": -300, "mst": -420, "mdt": -360, "pst": -480, "pdt": -420,
    "ast": -240, "adt": -180,
}  # fmt: skip
# North-American zone letters: the wall time of that region on that day (standard or summer
# time). Feed dates only: in running text "at" or "mt" are words, not zones.
REGIONAL_ZONES: dict[str, str] = {
    "et": "America/New_York", "ct": "America/Chicago", "mt": "America/Denver",
    "pt": "America/Los_Angeles", "at": "America/Halifax",
}  # fmt: skip


def _alternation(words: list[str]) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_MONTH = rf"(?P<month>{_alternation(list(MONTHS))})\.?"
_WEEKDAY = rf"(?:(?P<weekday>{_alternation(list(WEEKDAYS))})\.?,?\s+)"
_ZONE = rf"(?P<zone>[+-]\d{{2}}:?\d{{2}}|(?:{_alternation(list(ZONES))})\b)"
# A time after a date: "14:05", "14:05:09", "14.05 uur", "om 14:05", "| 18:30", ", 2:05 pm".
_TIME = (
    r"(?:\s*(?:,|\||-|–|—|/|\bom\b|\bat\b|\bum\b|\bà\b|@)?\s*"
    r"(?P<hour>\d{1,2})(?:[:.]|h(?=\d{2}))(?P<minute>\d{2})(?:[:.](?P<second>\d{2}))?(?!\d)"
    r"(?:\s*(?P<ampm>[ap]\.?m\.?)(?!\w))?"
    r"(?:\s*(?:uur|u\.?|h)(?!\w))?"
    rf"(?:\s*{_ZONE})?)?"
)
_START = r"(?<![\w.:/-])"  # no digit, letter or separator just before
_END_NUM = r"(?![\w]|[-/.:]\d)"  # no digit or letter, nor another "-12" part, just after

_ISO_RE = re.compile(
    _START + r"(?P<year>\d{4})-(?P<mon>\d{2})-(?P<day>\d{2})"
    r"(?:(?:T|\s+)(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?"
    r"(?:\s*(?P<zone>Z|[+-]\d{2}(?::?\d{2})?"
    # zone names in capitals only ("16:02:50CDT"); in lower case they are words ("met")
     + rf"|(?-i:{_alternation([z.upper() for z in ZONES if len(z) > 1])})\b))?)?" + _END_NUM,
    re.IGNORECASE,
)
_LONG_RE = re.compile(
    _START + _WEEKDAY + r"?"
    r"(?P<day>\d{1,2})(?:er|e|ste|de|st|nd|rd|th)?\.?\s+" + _MONTH + r",?\s+"
    r"(?P<year>\d{4})(?!\d)" + _TIME,
    re.IGNORECASE,
)
_MONTH_FIRST_RE = re.compile(
    _START + _WEEKDAY + r"?" + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+"
    r"(?P<year>\d{4})(?!\d)" + _TIME,
    re.IGNORECASE,
)
_NUMERIC_RE = re.compile(
    _START + _WEEKDAY + r"?"
    r"(?P<day>\d{1,2})(?P<sep>[-/.])(?P<mon>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})"
    + _END_NUM
    + _TIME,
    re.IGNORECASE,
)
_YMD_RE = re.compile(
    _START + r"(?P<year>\d{4})(?P<sep>[/.])(?P<mon>\d{1,2})(?P=sep)(?P<day>\d{1,2})" + _END_NUM,
    re.IGNORECASE,
)
_RELATIVE_WORD_RE = re.compile(
    r"(?<!\w)(?P<word>eergisteren|gisteren|vandaag|yesterday|today)(?!\w)"
    r"(?:\s*(?:,|om|at|@)?\s*(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?!\d)(?:\s*(?:uur|u\.?))?)?",
    re.IGNORECASE,
)
_RELATIVE_AGO_RE = re.compile(
    r"(?<!\w)(?P<n>\d{1,3}|een|één|an?|one)\s+"
    r"(?P<unit>minuten|minuut|min|uur|uren|dagen|dag|weken|week|"
    r"minutes|minute|mins|hours|hour|days|day|weeks|week)\s+(?P<ago>geleden|ago)(?!\w)",
    re.IGNORECASE,
)
_WS_RE = re.compile(r"\s+")
# Words a date string may carry around the date without making it ambiguous.
_FILLER_RE = re.compile(
    r"^(?:gepubliceerd|geplaatst|published|posted|datum|date|op|on|laatst|bijgewerkt|"
    r"gewijzigd|updated|nieuws|news|persbericht|bericht|d\.d\.|dd|"
    r"veröffentlicht|am|vom|erschienen|erscheinungsdatum|stand|publié|publiée|le|mis|en|ligne|"
    r"[:|,.\-–—•·()\[\]])*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class DateMatch:
    """A date found in text: the aware UTC value, the text that matched and where."""

    value: datetime
    text: str
    start: int
    end: int
    kind: DateKind
    has_time: bool


def _norm(text: str) -> str:
    return _WS_RE.sub(" ", text.replace("\u00a0", " ")).strip()


def _local_to_utc(d: date, t: time | None, tz: tzinfo) -> datetime | None:
    """Wall time in ``tz`` to UTC; None for a time skipped or repeated by a DST change."""
    naive = datetime.combine(d, t or time(0, 0))
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        return None  # 02:30 on the last Sunday of March (skipped) or October (twice)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return first.astimezone(UTC)


def _zone_offset(zone: str) -> dt_timezone | None:
    z = zone.strip().lower()
    if z in ZONES:
        return dt_timezone(timedelta(minutes=ZONES[z]))
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})?", z)
    if not m:
        return None
    hours, minutes = int(m.group(2)), int(m.group(3) or 0)
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if m.group(1) == "-" else 1
    return dt_timezone(sign * timedelta(hours=hours, minutes=minutes))


def _clock_time(groups: Mapping[str, str | None], micro: int = 0) -> time | None:
    """The time of day of a match's hour, minute, second and am/pm groups; None when out of
    range (13 pm, 24:00, 12:60)."""
    hour, minute = int(groups["hour"] or 0), int(groups["minute"] or 0)
    second = int(groups.get("second") or 0)
    ampm = (groups.get("ampm") or "").replace(".", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second, micro)


def _build(
    year: int,
    month: int,
    day: int,
    groups: dict[str, str | None],
    *,
    now: datetime,
    tz: tzinfo,
) -> tuple[datetime, bool] | None:
    """Validate the parts and return (UTC value, has_time), or None when impossible."""
    if not MIN_DATE.year - 1 <= year <= now.year + 1:
        return None
    try:
        d = date(year, month, day)
    except ValueError:
        return None
    wd = groups.get("weekday")
    if wd and WEEKDAYS[wd.lower()] != d.weekday():
        return None
    t: time | None = None
    if groups.get("hour") is not None:
        t = _clock_time(groups)
        if t is None:
            return None
    zone = groups.get("zone")
    if zone:
        offset = _zone_offset(zone)
        if offset is None:
            return None
        value = datetime.combine(d, t or time(0, 0), tzinfo=offset).astimezone(UTC)
    else:
        local = _local_to_utc(d, t, tz)
        if local is None:
            return None
        value = local
    if not _plausible(value, now):
        return None
    return value, t is not None


def _plausible(value: datetime, now: datetime) -> bool:
    return MIN_DATE <= value <= now + MAX_AHEAD


def _aware(now: datetime) -> datetime:
    """``now`` as aware UTC; a naive ``now`` is taken to be UTC."""
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


def _two_digit_year(yy: int, month: int, day: int, now: datetime, tz: tzinfo) -> int:
    """The century that does not put the date in the future (28-01-14 -> 2014)."""
    year = 2000 + yy
    try:
        candidate = datetime(year, month, day, tzinfo=tz)
    except ValueError:
        return year  # impossible either way; _build rejects it
    if candidate > now.astimezone(tz) + MAX_AHEAD:
        return year - 100
    return year


def _groups(m: re.Match[str]) -> dict[str, str | None]:
    return m.groupdict()


def _match_absolute(
    m: re.Match[str], kind: DateKind, *, now: datetime, tz: tzinfo
) -> DateMatch | None:
    g = _groups(m)
    if kind in ("long", "month-first"):
        month = MONTHS[(g["month"] or "").lower()]
    else:
        month = int(g["mon"] or 0)
    day = int(g["day"] or 0)
    ystr = g["year"] or "0"
    year = int(ystr)
    if len(ystr) == 2:
        year = _two_digit_year(year, month, day, now, tz)
    built = _build(year, month, day, g, now=now, tz=tz)
    if built is None:
        return None
    value, has_time = built
    return DateMatch(value, m.group(0).strip(), m.start(), m.end(), kind, has_time)


def _local_midnight_days_ago(days: int, now: datetime, tz: tzinfo) -> datetime | None:
    local_day = now.astimezone(tz).date() - timedelta(days=days)
    return _local_to_utc(local_day, None, tz)


def _match_relative_word(m: re.Match[str], *, now: datetime, tz: tzinfo) -> DateMatch | None:
    word = m.group("word").lower()
    days = {"vandaag": 0, "today": 0, "gisteren": 1, "yesterday": 1, "eergisteren": 2}[word]
    local_day = now.astimezone(tz).date() - timedelta(days=days)
    t: time | None = None
    if m.group("hour") is not None:
        hour, minute = int(m.group("hour")), int(m.group("minute"))
        if hour > 23 or minute > 59:
            return None
        t = time(hour, minute)
    value = _local_to_utc(local_day, t, tz)
    if value is None or not _plausible(value, now):
        return None
    return DateMatch(value, m.group(0).strip(), m.start(), m.end(), "relative", t is not None)


def _match_relative_ago(m: re.Match[str], *, now: datetime, tz: tzinfo) -> DateMatch | None:
    raw_n = m.group("n").lower()
    n = 1 if raw_n in ("een", "één", "a", "an", "one") else int(raw_n)
    unit = m.group("unit").lower()
    if unit.startswith("min"):
        value: datetime | None = now.astimezone(UTC) - timedelta(minutes=n)
        has_time = True
    elif unit in ("uur", "uren", "hour", "hours"):
        value = now.astimezone(UTC) - timedelta(hours=n)
        has_time = True
    else:
        days = n * 7 if unit.startswith("we") else n
        value = _local_midnight_days_ago(days, now, tz)
        has_time = False
    if value is None or not _plausible(value, now):
        return None
    value = value.replace(second=0, microsecond=0)
    return DateMatch(value, m.group(0).strip(), m.start(), m.end(), "relative", has_time)


_ABSOLUTE: tuple[tuple[re.Pattern[str], DateKind], ...] = (
    (_ISO_RE, "iso"),
    (_LONG_RE, "long"),
    (_MONTH_FIRST_RE, "month-first"),
    (_NUMERIC_RE, "numeric"),
    (_YMD_RE, "numeric"),
)


def _iso_match(m: re.Match[str], *, now: datetime, tz: tzinfo) -> DateMatch | None:
    g = _groups(m)
    built = _build(int(g["year"] or 0), int(g["mon"] or 0), int(g["day"] or 0), g, now=now, tz=tz)
    if built is None:
        return None
    value, has_time = built
    return DateMatch(value, m.group(0).strip(), m.start(), m.end(), "iso", has_time)


def _candidates(
    text: str, *, now: datetime, tz: tzinfo, relative_words: bool
) -> list[tuple[int, int, DateMatch | None]]:
    """Every span a pattern matched, valid (DateMatch) or not (None)."""
    found: list[tuple[int, int, DateMatch | None]] = []
    for pattern, kind in _ABSOLUTE:
        for m in pattern.finditer(text):
            if kind == "iso":
                dm = _iso_match(m, now=now, tz=tz)
            else:
                dm = _match_absolute(m, kind, now=now, tz=tz)
            found.append((m.start(), m.end(), dm))
    for m in _RELATIVE_AGO_RE.finditer(text):
        found.append((m.start(), m.end(), _match_relative_ago(m, now=now, tz=tz)))
    if relative_words:
        for m in _RELATIVE_WORD_RE.finditer(text):
            found.append((m.start(), m.end(), _match_relative_word(m, now=now, tz=tz)))
    return found


def _select(found: list[tuple[int, int, DateMatch | None]]) -> list[DateMatch]:
    """Non-overlapping spans, longest first at each position; invalid spans still block."""
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    chosen: list[DateMatch] = []
    last_end = -1
    for start, end, dm in found:
        if start < last_end:
            continue
        last_end = end
        if dm is not None:
            chosen.append(dm)
    return chosen


def find_date_matches(
    text: str, *, now: datetime, tz: tzinfo = AMSTERDAM, relative_words: bool = False
) -> list[DateMatch]:
    """Every valid date expression in ``text``, in order of appearance.

    "vandaag"/"gisteren"/"yesterday" are common words in running text, so they count only with
    ``relative_words=True`` (parse_date uses that for short date strings); "2 dagen geleden"
    and "3 hours ago" always count.
    """
    if not text:
        return []
    now = _aware(now)
    return _select(_candidates(text, now=now, tz=tz, relative_words=relative_words))


def find_dates(
    text: str, *, now: datetime, tz: tzinfo = AMSTERDAM, relative_words: bool = False
) -> list[tuple[datetime, str]]:
    """(aware UTC value, matched text) for every date expression in ``text``, in order."""
    return [
        (m.value, m.text)
        for m in find_date_matches(text, now=now, tz=tz, relative_words=relative_words)
    ]


def parse_date_match(text: str, *, now: datetime, tz: tzinfo = AMSTERDAM) -> DateMatch | None:
    """Read one date from a short string (a date element's text, a meta value).

    The string may carry filler ("Gepubliceerd op", "Nieuws |") around exactly one date
    expression; more than one different date, or text that is not filler, gives None.
    """
    if not text or len(text) > 300:
        return None
    norm = _norm(text)
    if not norm:
        return None
    now = _aware(now)
    found = _candidates(norm, now=now, tz=tz, relative_words=True)
    if any(dm is None and (s, e) == (0, len(norm)) for s, e, dm in found):
        return None  # the whole string is a date, but an impossible one
    matches = _select(found)
    if not matches:
        return None
    if len({m.value for m in matches}) != 1:
        return None
    # Everything outside the matched spans must be filler words or punctuation.
    rest = []
    pos = 0
    for m in matches:
        rest.append(norm[pos : m.start])
        pos = m.end
    rest.append(norm[pos:])
    leftover = " ".join(rest).split()
    if leftover and not all(_FILLER_RE.match(w) for w in leftover):
        return None
    best = max(matches, key=lambda m: (m.has_time, m.end - m.start))
    return best


def parse_date(text: str, *, now: datetime, tz: tzinfo = AMSTERDAM) -> datetime | None:
    """Parse one Dutch or English date string to aware UTC, or None when it is not one date."""
    m = parse_date_match(text, now=now, tz=tz)
    return m.value if m is not None else None


def parse_iso_datetime(value: str, *, now: datetime, tz: tzinfo = AMSTERDAM) -> datetime | None:
    """A machine date (``<time datetime>``, JSON-LD, meta content): ISO 8601 or RFC 822 first."""
    v = value.strip()
    if not v or len(v) > 100:
        return None
    now = _aware(now)
    m = _ISO_RE.fullmatch(v)
    if m is not None:
        dm = _iso_match(m, now=now, tz=tz)
        return dm.value if dm is not None else None
    return parse_date(v, now=now, tz=tz)


# --------------------------------------------------------------------------- feed dates

_FEED_ZONE = (
    r"(?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?|(?:GMT|UTC|UT)\s?[+-]\d{1,2}(?::?\d{2})?"
    r"|[A-Za-z]{1,5})"
)
_FEED_TIME = (
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?"
    r"(?:\s?(?P<ampm>[AaPp]\.?[Mm]\.?))?"
)
_FEED_MONTH = rf"(?:{_alternation(list(MONTHS))})"
_FEED_WEEKDAY = rf"(?:(?P<weekday>{_alternation(list(WEEKDAYS))})\.?\s*,?\s*)"
_FEED_ISO_RE = re.compile(
    r"(?P<year>\d{4})-(?P<mon>\d{2})-(?P<day>\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?)?"
    rf"(?:\s?{_FEED_ZONE})?"
)
_FEED_ISO_BASIC_RE = re.compile(
    r"(?P<year>\d{4})(?P<mon>\d{2})(?P<day>\d{2})"
    r"(?:[Tt](?P<hour>\d{2})(?P<minute>\d{2})(?P<second>\d{2})?)?"
    r"(?P<zone>[Zz]|[+-]\d{2}(?:\d{2})?)?"
)
_FEED_RFC_RE = re.compile(
    rf"{_FEED_WEEKDAY}?"
    rf"(?:(?P<day>\d{{1,2}})(?:\s+|-)(?P<month>{_FEED_MONTH})\.?,?(?:\s+|-)(?P<year>\d{{4}}|\d{{2}})"
    rf"|(?P<month2>{_FEED_MONTH})\.?\s+(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+"
    r"(?P<year2>\d{4}))"
    rf"(?:,?\s+(?:at\s+|om\s+)?{_FEED_TIME})?"
    rf"(?:\s*{_FEED_ZONE})?"
    r"(?:\s*\([^()]{0,40}\))?",
    re.IGNORECASE,
)
_FEED_ASCTIME_RE = re.compile(
    rf"{_FEED_WEEKDAY}(?P<month>{_FEED_MONTH})\s+(?P<day>\d{{1,2}})\s+{_FEED_TIME}"
    rf"(?:\s+{_FEED_ZONE})?\s+(?P<year>\d{{4}})",
    re.IGNORECASE,
)
_OFFSET_RE = re.compile(r"(?:GMT|UTC|UT)?\s?([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
FEED_YEARS = (1900, 2200)  # a feed date outside these years is a broken value, not a date


def _feed_zone(zone: str | None) -> tzinfo | None:
    """The zone of a feed date (None: UTC); raises ValueError for an unknown or impossible one."""
    if zone is None:
        return UTC
    z = zone.strip().lower()
    if z in ZONES:
        return dt_timezone(timedelta(minutes=ZONES[z]))
    if z in REGIONAL_ZONES:
        return ZoneInfo(REGIONAL_ZONES[z])
    m = _OFFSET_RE.fullmatch(z)
    if m is None:
        raise ValueError(zone)
    hours, minutes = int(m.group(2)), int(m.group(3) or 0)
    if hours > 14 or minutes > 59:
        raise ValueError(zone)
    sign = -1 if m.group(1) == "-" else 1
    return dt_timezone(sign * timedelta(hours=hours, minutes=minutes))


def _feed_value(g: dict[str, str | None], month: int) -> datetime | None:
    ystr = g.get("year") or ""
    year = int(ystr)
    if len(ystr) == 2:
        year += 2000 if year < 50 else 1900  # RFC 2822 section 4.3
    if not FEED_YEARS[0] <= year <= FEED_YEARS[1]:
        return None
    try:
        d = date(year, month, int(g.get("day") or 0))
        zone = _feed_zone(g.get("zone"))
    except ValueError:
        return None
    t = time(0, 0)
    if g.get("hour") is not None:
        clock = _clock_time(g, int((g.get("frac") or "0")[:6].ljust(6, "0")))
        if clock is None:
            return None
        t = clock
    if isinstance(zone, ZoneInfo):
        return _local_to_utc(d, t, zone)
    return datetime.combine(d, t, tzinfo=zone).astimezone(UTC)


# The two forms nearly every feed writes, read without the general patterns (3x faster).
_QUICK_RFC = re.compile(
    r"(?:[A-Z][a-z]{2}, )?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) "
    r"([+-]\d{4}|[A-Z]{1,4})"
)
_QUICK_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2})")
_FIXED_ZONES: dict[str, tzinfo] = {}


def _quick_zone(zone: str) -> tzinfo | None:
    tz = _FIXED_ZONES.get(zone)
    if tz is None:
        try:
            tz = _feed_zone(zone)
        except ValueError:
            return None
        if tz is not None and len(_FIXED_ZONES) < 512:
            _FIXED_ZONES[zone] = tz
    return tz


def _quick(text: str) -> tuple[bool, datetime | None]:
    """The common forms: (True, value or None for a broken one); (False, None) otherwise."""
    m = _QUICK_ISO.fullmatch(text)
    if m is not None:
        year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    else:
        m = _QUICK_RFC.fullmatch(text)
        if m is None:
            return False, None
        month_num = MONTHS.get(m.group(2).lower())
        if month_num is None:
            return False, None
        day, year, hour, minute, second = (int(m.group(i)) for i in (1, 3, 4, 5, 6))
        month = month_num
    zone = _quick_zone(m.group(7))
    if zone is None or isinstance(zone, ZoneInfo) or not FEED_YEARS[0] <= year <= FEED_YEARS[1]:
        return False, None  # regional zones and odd values: the general rules decide
    try:
        return True, datetime(year, month, day, hour, minute, second, tzinfo=zone).astimezone(UTC)
    except ValueError:
        return True, None


def parse_feed_date(value: object) -> datetime | None:
    """A feed's date string -> aware UTC, or None when it is not a date by the module's rules.

    Never a guess: an unknown zone, an impossible day or time, a two-way reading, or any text
    left over gives None (the item then gets its first-seen date), never a wrong instant.
    """
    if not isinstance(value, str):
        return None
    done, quick = _quick(value)
    if done:
        return quick
    text = _norm(value)
    if not text or len(text) > 80:
        return None
    m = _FEED_ISO_RE.fullmatch(text) or _FEED_ISO_BASIC_RE.fullmatch(text)
    if m is not None:
        if m.group("hour") is None and m.group("zone") is not None:
            return None  # "2013-01-27-01": a zone needs a time
        return _feed_value(m.groupdict(), int(m.group("mon")))
    m = _FEED_RFC_RE.fullmatch(text)
    if m is not None:
        g = m.groupdict()
        if g["month2"] is not None:
            g = {**g, "month": g["month2"], "day": g["day2"], "year": g["year2"]}
        return _feed_value(g, MONTHS[(g["month"] or "").lower()])
    m = _FEED_ASCTIME_RE.fullmatch(text)
    if m is not None:
        return _feed_value(m.groupdict(), MONTHS[m.group("month").lower()])
    return None
