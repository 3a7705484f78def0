"""Digest building and rendering: items and source health -> Markdown, plain text and HTML mail.

Pure: no I/O, no clock (the caller passes the period and `now`); it never imports httpx,
sqlalchemy or apscheduler. Every field that comes from a source is made safe here, at render
time: Markdown is backslash-escaped on one line, HTML goes through Jinja2 autoescaping and then
an nh3 allow-list pass, links must be http(s), and header values lose their control characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from string import Formatter
from typing import Any, Literal, Protocol, TypeGuard, assert_never, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from feedwatch.core.links import linkify_html, linkify_md
from feedwatch.core.schedule import typical_gap
from feedwatch.textsafe import header_value, md_escape, md_url, one_line, safe_url
from feedwatch.types import AMSTERDAM, DigestProfile, ErrorKind, Item

__all__ = [
    "Digest",
    "Entry",
    "EntrySource",
    "HealthNote",
    "Period",
    "RowLike",
    "Section",
    "SourceFacts",
    "assess_health",
    "build_digest",
    "group_near_duplicates",
    "header_value",
    "md_escape",
    "period_for",
    "render_email",
    "render_markdown",
    "safe_url",
]


class RowLike(Protocol):
    """What the digest reads of a stored item (store.ItemRow has this shape)."""

    @property
    def item(self) -> Item: ...

    @property
    def topics(self) -> tuple[str, ...]: ...


# ------------------------------------------------------------------------------- periods


@dataclass(frozen=True, slots=True)
class Period:
    """One calendar day in a time zone, as an aware UTC interval [start, end)."""

    day: date
    start: datetime
    end: datetime
    tz: str = "Europe/Amsterdam"

    @property
    def key(self) -> str:
        return self.day.isoformat()


def period_for(day: date, tz: ZoneInfo | str = AMSTERDAM) -> Period:
    """The calendar day `day` in `tz` (23 or 25 hours long on DST days)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return Period(day=day, start=start.astimezone(UTC), end=end.astimezone(UTC), tz=zone.key)


def shorten(text: str, limit: int = 220) -> str:
    """The first sentence, or the text cut at a word boundary, with an ellipsis when cut."""
    text = one_line(text)
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    if end > limit // 3:
        return cut[: end + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:-") + "…"


# ---------------------------------------------------------------------------- language

_LABELS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Dagoverzicht",
        "profile": "Profiel",
        "items": "berichten",
        "item": "bericht",
        "seen": "nieuw gezien van {since} tot {until}",
        "topic": "Onderwerp",
        "count": "Berichten",
        "none": "Geen nieuwe berichten.",
        "unknown_date": "datum onbekend",
        "first_seen": "voor het eerst gezien",
        "topics": "Onderwerpen",
        "also": "Ook bij",
        "health": "Bronnen",
        "health_ok": "Alle bronnen werkten normaal.",
        "failing": "mislukt",
        "quiet": "stil",
        "empty": "niets gevonden",
        "other": "Overig",
        "footer": "Verstuurd door feedwatch.",
        "subject_none": "geen nieuwe berichten",
    },
    "en": {
        "title": "Daily digest",
        "profile": "Profile",
        "items": "items",
        "item": "item",
        "seen": "first seen from {since} to {until}",
        "topic": "Topic",
        "count": "Items",
        "none": "No new items.",
        "unknown_date": "date unknown",
        "first_seen": "first seen",
        "topics": "Topics",
        "also": "Also at",
        "health": "Sources",
        "health_ok": "Every source worked normally.",
        "failing": "failing",
        "quiet": "quiet",
        "empty": "found nothing",
        "other": "Other",
        "footer": "Sent by feedwatch.",
        "subject_none": "no new items",
    },
}

_MONTHS = {
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "en": "January February March April May June July August September October November December",
}
_WEEKDAYS = {
    "nl": "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
}


def _labels(lang: str) -> dict[str, str]:
    return _LABELS.get(lang, _LABELS["nl"])


def long_day(day: date, lang: str) -> str:
    """'zondag 22 november 2026' (or English)."""
    weekday = _WEEKDAYS.get(lang, _WEEKDAYS["nl"]).split()[day.weekday()]
    month = _MONTHS.get(lang, _MONTHS["nl"]).split()[day.month - 1]
    return f"{weekday} {day.day} {month} {day.year}"


def short_date(value: datetime, lang: str, tz: ZoneInfo = AMSTERDAM) -> str:
    """'22 nov 2026' in the digest's time zone."""
    local = value.astimezone(tz)
    month = _MONTHS.get(lang, _MONTHS["nl"]).split()[local.month - 1][:3]
    if lang != "en":
        month = month.lower()
    return f"{local.day} {month} {local.year}"


def short_time(value: datetime, tz: ZoneInfo = AMSTERDAM) -> str:
    return value.astimezone(tz).strftime("%d-%m-%Y %H:%M")


# ------------------------------------------------------------------------- source health

HealthKind = Literal["failing", "quiet", "empty"]


def _error_words(kind: ErrorKind) -> tuple[str, str]:
    """(Dutch, English) plain words for a kind of fetch failure. Every kind has a case: a kind
    added to types.ErrorKind without words here fails type-checking (assert_never)."""
    match kind:
        case "timeout":
            return "de website antwoordde niet op tijd", "the website did not answer in time"
        case "connect":
            return "de website was niet bereikbaar", "the website could not be reached"
        case "network":
            return "de verbinding met de website mislukte", "the connection to the website failed"
        case "tls":
            return "de beveiligde verbinding (TLS) mislukte", "the secure connection (TLS) failed"
        case "http":
            return "de website gaf een foutmelding", "the website answered with an error"
        case "redirects":
            return (
                "de website stuurde door naar een onbruikbaar adres",
                "the website redirected to an unusable address",
            )
        case "too-large":
            return "het antwoord was te groot", "the answer was too large"
        case "decoding":
            return "het antwoord was beschadigd", "the answer was corrupt"
        case "protocol":
            return (
                "de website hield zich niet aan het HTTP-protocol",
                "the website broke the HTTP protocol",
            )
        case "url":
            return "het adres van de bron is ongeldig", "the source's address is invalid"
        case "extract":
            return (
                "er stonden geen leesbare berichten in het antwoord",
                "the answer held no readable items",
            )
        case "refused-address":
            return (
                "het adres is niet toegestaan (intern netwerk)",
                "the address is not allowed (internal network)",
            )
        case "dns":
            return (
                "de naam van de website bestaat niet (DNS)",
                "the website's name does not resolve (DNS)",
            )
        case "robots":
            return (
                "de website vraagt robots deze pagina niet te lezen (robots.txt)",
                "the website asks robots not to read this page (robots.txt)",
            )
        case "internal":
            return (
                "een fout in feedwatch zelf bij het lezen van deze bron",
                "a bug in feedwatch while reading this source",
            )
        case _:
            assert_never(kind)


ERROR_KINDS: tuple[ErrorKind, ...] = tuple(
    k for part in get_args(ErrorKind) for k in (get_args(part) or (part,))
)


def is_error_kind(value: str | None) -> TypeGuard[ErrorKind]:
    """Whether a stored error kind is one of today's kinds."""
    return value in ERROR_KINDS


# Plain words per language for every kind of fetch failure (complete: see _error_words).
_ERROR_WORDS: Mapping[str, Mapping[ErrorKind, str]] = {
    lang: {kind: _error_words(kind)[i] for kind in ERROR_KINDS}
    for i, lang in enumerate(("nl", "en"))
}


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """What the store knows of one source's recent life; assess_health() judges it."""

    key: str
    name: str
    kind: str
    enabled: bool = True
    errors: tuple[tuple[datetime, str | None, str | None], ...] = ()  # (at, error, kind) in window
    consecutive_errors: int = 0
    last_error: str | None = None
    last_error_kind: str | None = None
    first_failure_at: datetime | None = None  # the first error of the current failing streak
    item_dates: tuple[datetime, ...] = ()  # newest first: published, else first seen
    last_new_item_at: datetime | None = None
    reads: tuple[int, ...] = ()  # items read per successful fetch, newest first


@dataclass(frozen=True, slots=True)
class HealthNote:
    """One line of the closing 'sources' section, in plain words (already in the language)."""

    source: str
    name: str
    kind: HealthKind
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "name": self.name, "kind": self.kind, "detail": self.detail}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> HealthNote:
        kind = str(data.get("kind", "failing"))
        if kind not in ("failing", "quiet", "empty"):
            kind = "failing"
        return HealthNote(
            source=str(data.get("source", "")),
            name=str(data.get("name", "")),
            kind=kind,  # type: ignore[arg-type]  # checked just above
            detail=str(data.get("detail", "")),
        )


QUIET_FACTOR = 4  # quiet: no new item for this many times the usual gap ...
QUIET_MINIMUM = timedelta(days=3)  # ... and at least this long
QUIET_MIN_ITEMS = 5  # a usual gap needs this many distinct item dates


def _plain_error(kind: str | None, error: str | None, lang: str) -> str:
    table = _ERROR_WORDS.get(lang, _ERROR_WORDS["nl"])
    words = table[kind] if is_error_kind(kind) else None  # a kind of an older version: none
    detail = one_line(error)[:160]
    if words and detail:
        return f"{words} ({detail})"
    return words or detail or ("onbekende fout" if lang == "nl" else "unknown error")


def assess_health(
    facts: Iterable[SourceFacts], since: datetime, now: datetime, lang: str = "nl"
) -> tuple[HealthNote, ...]:
    """Failing, quiet and suddenly-empty sources, in that order, each source at most once."""
    notes: list[HealthNote] = []
    nl = lang != "en"
    for f in sorted(facts, key=lambda f: f.key):
        if not f.enabled:
            continue
        if f.errors or f.consecutive_errors:
            at, error, kind = f.errors[0] if f.errors else (since, f.last_error, f.last_error_kind)
            if f.consecutive_errors:
                error, kind = f.last_error or error, f.last_error_kind or kind
            n = len(f.errors)
            parts = []
            if n:
                parts.append(
                    (f"{n} mislukte poging{'en' if n != 1 else ''} sinds het vorige overzicht")
                    if nl
                    else f"{n} failed attempt{'s' if n != 1 else ''} since the last digest"
                )
            if f.consecutive_errors:
                start = f.first_failure_at or at
                parts.append(
                    f"faalt al {f.consecutive_errors} keer op rij, sinds {short_time(start)}"
                    if nl
                    else f"failing {f.consecutive_errors} times in a row, since {short_time(start)}"
                )
            elif nl:
                parts.append("werkt inmiddels weer")
            else:
                parts.append("working again now")
            prefix = "laatste fout" if nl else "last error"
            parts.append(f"{prefix}: {_plain_error(kind, error, lang)}")
            notes.append(HealthNote(f.key, f.name, "failing", "; ".join(parts)))
            continue
        if f.kind == "html" and len(f.reads) >= 2 and f.reads[0] == 0 and any(f.reads[1:]):
            before = max(f.reads[1:])
            notes.append(
                HealthNote(
                    f.key,
                    f.name,
                    "empty",
                    (
                        f"de pagina gaf bij de laatste keer lezen geen berichten meer (eerder "
                        f"{before}); misschien is de opmaak van de website veranderd"
                    )
                    if nl
                    else (
                        f"the page yielded no items at the last read (before: {before}); "
                        "the website's layout may have changed"
                    ),
                )
            )
            continue
        seconds = typical_gap(f.item_dates, minimum=QUIET_MIN_ITEMS)
        if seconds is None or not f.item_dates:
            continue
        gap = timedelta(seconds=seconds)
        last = max(f.item_dates[0], f.last_new_item_at or f.item_dates[0])
        limit = max(gap * QUIET_FACTOR, QUIET_MINIMUM)
        if now - last > limit:
            days = (now - last).days
            usual = _human_span(gap, nl)
            notes.append(
                HealthNote(
                    f.key,
                    f.name,
                    "quiet",
                    f"al {days} dagen geen nieuw bericht (gewoonlijk om de {usual}); "
                    f"laatste bericht {short_date(last, lang)}"
                    if nl
                    else f"no new item for {days} days (usually every {usual}); "
                    f"last item {short_date(last, lang)}",
                )
            )
    order = {"failing": 0, "empty": 1, "quiet": 2}
    return tuple(sorted(notes, key=lambda n: (order[n.kind], n.source)))


def _human_span(span: timedelta, nl: bool) -> str:
    hours = span.total_seconds() / 3600
    if hours < 36:
        n = max(1, round(hours))
        return f"{n} uur" if nl else f"{n} hour{'s' if n != 1 else ''}"
    n = round(hours / 24)
    return f"{n} dagen" if nl else f"{n} days"


# ------------------------------------------------------------------------- near-duplicates

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(
    [
        "de",
        "het",
        "een",
        "en",
        "van",
        "in",
        "op",
        "te",
        "voor",
        "met",
        "aan",
        "bij",
        "door",
        "over",
        "om",
        "tot",
        "is",
        "zijn",
        "dat",
        "die",
        "er",
        "als",
        "the",
        "a",
        "an",
        "of",
        "to",
        "and",
        "for",
        "on",
        "at",
        "by",
        "with",
        "from",
        "is",
        "are",
    ]
)
NEAR_DUPLICATE = 0.8  # Jaccard similarity of title words that makes two titles the same story


def _title_words(title: str) -> frozenset[str]:
    folded = unicodedata.normalize("NFKD", title.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return frozenset(w for w in _WORD.findall(folded) if w not in _STOP)


def _url_key(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    host = (parts.hostname or "").removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}?{parts.query}" if host else url


def group_near_duplicates(rows: Sequence[RowLike]) -> list[list[RowLike]]:
    """Rows grouped into stories: the same canonical URL, or titles whose words are nearly the
    same (Jaccard >= 0.8 over at least 3 words). Groups keep the input order of their first row."""
    n = len(rows)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_url: dict[str, int] = {}
    words: list[frozenset[str]] = []
    index: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        if row.item.url:
            key = _url_key(row.item.url)
            if key in by_url:
                union(by_url[key], i)
            else:
                by_url[key] = i
        w = _title_words(row.item.title)
        words.append(w)
        if len(w) < 3:
            continue
        candidates: set[int] = set()
        for token in w:
            bucket = index.setdefault(token, [])
            if len(bucket) < 200:  # a very common word says nothing about sameness
                candidates.update(bucket)
            bucket.append(i)
        for j in candidates:
            other = words[j]
            if len(w & other) / len(w | other) >= NEAR_DUPLICATE:
                union(i, j)
    groups: dict[int, list[RowLike]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(find(i), []).append(row)
    return [groups[k] for k in sorted(groups)]


# ------------------------------------------------------------------------------ the digest


@dataclass(frozen=True, slots=True)
class EntrySource:
    key: str
    name: str
    url: str | None  # safe http(s) or None


@dataclass(frozen=True, slots=True)
class Entry:
    """One story: the first publication, with every source that carried it."""

    title: str
    url: str | None  # safe http(s) or None
    summary: str  # one line, plain text
    published: datetime | None  # None: date unknown, see first_seen
    first_seen: datetime
    sources: tuple[EntrySource, ...]
    topics: tuple[str, ...]
    item_ids: tuple[str, ...]

    @property
    def when(self) -> datetime:
        return self.published or self.first_seen


@dataclass(frozen=True, slots=True)
class Section:
    topic: str
    title: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    profile: DigestProfile
    period: Period
    since: datetime
    until: datetime
    sections: tuple[Section, ...]
    counts: tuple[tuple[str, str, int], ...]  # (topic, title, stories with that topic)
    health: tuple[HealthNote, ...] = ()
    topic_titles: Mapping[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(s.entries) for s in self.sections)

    @property
    def lang(self) -> str:
        return self.profile.language


OTHER = "_overig"


def _entry(group: Sequence[RowLike], source_names: Mapping[str, str]) -> Entry:
    def first_key(r: RowLike) -> tuple[datetime, datetime, str]:
        it = r.item
        known = it.published if it.date_source != "first-seen" else None
        return (known or it.first_seen, it.first_seen, it.id)

    ordered = sorted(group, key=first_key)
    lead = ordered[0].item
    published = lead.published if lead.date_source != "first-seen" else None
    sources: list[EntrySource] = []
    seen: set[str] = set()
    for r in ordered:
        if r.item.source in seen:
            continue
        seen.add(r.item.source)
        sources.append(
            EntrySource(
                key=r.item.source,
                name=source_names.get(r.item.source, r.item.source),
                url=safe_url(r.item.url),
            )
        )
    topics = sorted({t for r in group for t in r.topics})
    summary = next((r.item.summary for r in ordered if one_line(r.item.summary)), "")
    return Entry(
        title=one_line(lead.title) or "(zonder titel)",
        url=safe_url(lead.url),
        summary=shorten(summary),
        published=published,
        first_seen=min(r.item.first_seen for r in group),
        sources=tuple(sources),
        topics=tuple(topics),
        item_ids=tuple(r.item.id for r in ordered),
    )


def build_digest(
    rows: Iterable[RowLike],
    health: Sequence[HealthNote],
    period: Period,
    profile: DigestProfile,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    topic_titles: Mapping[str, str] | None = None,
    source_names: Mapping[str, str] | None = None,
) -> Digest:
    """Group the items into stories, place each story once under the first of its topics (in the
    profile's order), newest first, and count stories per topic."""
    titles = dict(topic_titles or {})
    names = source_names or {}
    entries = [_entry(g, names) for g in group_near_duplicates(list(rows))]
    order = list(profile.topics) or sorted({t for e in entries for t in e.topics})
    placed: dict[str, list[Entry]] = {t: [] for t in order}
    other: list[Entry] = []
    for e in entries:
        home = next((t for t in order if t in e.topics), None)
        (placed[home] if home is not None else other).append(e)

    def newest(e: Entry) -> tuple[bool, float, str]:
        # Dated news first, newest first; pages with no date of their own ("datum onbekend")
        # after them, so that they never push the day's news down.
        return (e.published is None, -e.when.timestamp(), e.item_ids[0])

    sections = [
        Section(t, titles.get(t, t), tuple(sorted(placed[t], key=newest)))
        for t in order
        if placed[t]
    ]
    if other:
        sections.append(
            Section(OTHER, _labels(profile.language)["other"], tuple(sorted(other, key=newest)))
        )
    counts = tuple((t, titles.get(t, t), sum(1 for e in entries if t in e.topics)) for t in order)
    return Digest(
        profile=profile,
        period=period,
        since=since or period.start,
        until=until or period.end,
        sections=tuple(sections),
        counts=counts,
        health=tuple(health),
        topic_titles=titles,
    )


# ------------------------------------------------------------------------------- rendering


def _date_label(e: Entry, lang: str) -> str:
    if e.published is not None:
        return short_date(e.published, lang)
    lab = _labels(lang)
    return f"{lab['unknown_date']} ({lab['first_seen']} {short_time(e.first_seen)})"


def _heading(d: Digest) -> str:
    lab = _labels(d.lang)
    title = d.profile.title or d.profile.name
    return f"{lab['title']} {title} — {long_day(d.period.day, d.lang)}"


def _summary_line(d: Digest) -> str:
    lab = _labels(d.lang)
    n = d.total
    seen = lab["seen"].format(since=short_time(d.since), until=short_time(d.until))
    return f"{n} {lab['item'] if n == 1 else lab['items']}, {seen}"


def _topic_names(e: Entry, d: Digest) -> list[str]:
    return [d.topic_titles.get(t, t) for t in e.topics]


def render_markdown(d: Digest) -> str:
    """The digest as a Markdown document; every source field escaped, links http(s) only."""
    lab = _labels(d.lang)
    out = [
        f"# {md_escape(_heading(d))}",
        "",
        f"{lab['profile']}: `{md_escape(d.profile.name)}` · {md_escape(_summary_line(d))}",
        "",
    ]
    if d.counts:
        out += [f"| {lab['topic']} | {lab['count']} |", "| --- | ---: |"]
        out += [f"| {md_escape(title)} | {n} |" for _t, title, n in d.counts]
        out.append("")
    if not d.total:
        out += [lab["none"], ""]
    for section in d.sections:
        out += [f"## {md_escape(section.title)} ({len(section.entries)})", ""]
        for e in section.entries:
            title = md_escape(e.title)
            link = f"[{title}]({md_url(e.url)})" if e.url else title
            src = e.sources[0]
            # a backslash at the end of a line is a hard line break in CommonMark
            out.append(
                f"- **{md_escape(_date_label(e, d.lang))}** · {md_escape(src.name)} · {link}\\"
            )
            if e.summary:  # references link to their official pages (core.links)
                out.append(f"  {linkify_md(e.summary)}\\")
            tail = f"  _{lab['topics']}: {md_escape(', '.join(_topic_names(e, d)))}_"
            if len(e.sources) > 1:
                also = [
                    f"[{md_escape(s.name)}]({md_url(s.url)})" if s.url else md_escape(s.name)
                    for s in e.sources[1:]
                ]
                tail += f" · {lab['also']}: {', '.join(also)}"
            out.append(tail)
        out.append("")
    out += [f"## {lab['health']}", ""]
    if d.health:
        for note in d.health:
            out.append(
                f"- **{md_escape(note.name)}** (`{md_escape(note.source)}`, "
                f"{lab[note.kind]}): {md_escape(note.detail)}"
            )
    else:
        out.append(lab["health_ok"])
    out += ["", f"_{lab['footer']}_", ""]
    return "\n".join(out)


def render_text(d: Digest) -> str:
    """The plain-text mail part: one line per field, nothing interpreted."""
    lab = _labels(d.lang)
    out = [one_line(_heading(d)), one_line(_summary_line(d)), ""]
    for _t, title, n in d.counts:
        out.append(f"  {one_line(title)}: {n}")
    out.append("")
    if not d.total:
        out += [lab["none"], ""]
    for section in d.sections:
        head = f"{one_line(section.title)} ({len(section.entries)})"
        out += [head, "=" * len(head), ""]
        for e in section.entries:
            out.append(f"* {one_line(e.title)}")
            out.append(f"  {_date_label(e, d.lang)} · {one_line(e.sources[0].name)}")
            if e.url:
                out.append(f"  {e.url}")
            if e.summary:
                out.append(f"  {one_line(e.summary)}")
            out.append(f"  {lab['topics']}: {', '.join(one_line(t) for t in _topic_names(e, d))}")
            for s in e.sources[1:]:
                out.append(f"  {lab['also']}: {one_line(s.name)}" + (f" {s.url}" if s.url else ""))
            out.append("")
    head = lab["health"]
    out += [head, "=" * len(head), ""]
    if d.health:
        out += [
            f"* {one_line(n.name)} ({one_line(n.source)}, {lab[n.kind]}): {one_line(n.detail)}"
            for n in d.health
        ]
    else:
        out.append(lab["health_ok"])
    out += ["", "-- ", lab["footer"], ""]
    return "\n".join(out)


@lru_cache(maxsize=1)
def _jinja() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("feedwatch.core", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


_HTML_TAGS = {
    "div",
    "table",
    "tbody",
    "tr",
    "td",
    "th",
    "h1",
    "h2",
    "p",
    "a",
    "span",
    "strong",
    "em",
    "ul",
    "li",
    "small",
    "br",
    "hr",
}
_CSS = {
    "color",
    "background-color",
    "font-family",
    "font-size",
    "font-weight",
    "font-style",
    "line-height",
    "margin",
    "margin-top",
    "margin-bottom",
    "padding",
    "border",
    "border-bottom",
    "border-collapse",
    "border-radius",
    "text-align",
    "text-decoration",
    "width",
    "max-width",
    "display",
}


def sanitise_html(fragment: str) -> str:
    """An allow-list pass (nh3) over rendered HTML: only our tags, inline styles, http(s) links."""
    import nh3

    return nh3.clean(
        fragment,
        tags=_HTML_TAGS,
        attributes={"*": {"style"}, "a": {"href"}, "td": {"align"}, "th": {"align"}},
        url_schemes={"http", "https"},
        filter_style_properties=_CSS,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def render_html(d: Digest) -> str:
    """The HTML mail part: Jinja2 with autoescape, inline CSS, then the nh3 allow-list."""
    from markupsafe import Markup  # Jinja2's own dependency, loaded with it

    lab = _labels(d.lang)
    env = _jinja()
    body = env.get_template("digest_body.html.j2").render(
        d=d,
        lab=lab,
        heading=one_line(_heading(d)),
        summary=one_line(_summary_line(d)),
        date_label=lambda e: _date_label(e, d.lang),
        topic_names=lambda e: ", ".join(_topic_names(e, d)),
        one_line=one_line,
        linkify=lambda text: Markup(linkify_html(text)),  # escaped; references as links
    )
    return str(
        env.get_template("digest.html.j2").render(
            lang=d.lang, title=one_line(_heading(d)), body=sanitise_html(body)
        )
    )


class _SafeFormat(Formatter):
    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if field_name not in kwargs:  # no attribute or index access, only our names
            raise KeyError(field_name)
        return kwargs[field_name], field_name


def subject_for(d: Digest) -> str:
    lab = _labels(d.lang)
    values = {
        "profile": d.profile.name,
        "title": d.profile.title or d.profile.name,
        "date": long_day(d.period.day, d.lang),
        "count": str(d.total) if d.total else lab["subject_none"],
        "topics": ", ".join(f"{title} {n}" for _t, title, n in d.counts if n),
    }
    return header_value(_SafeFormat().vformat(d.profile.subject, (), values))


def render_email(d: Digest) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of the digest mail; the subject is a safe header value."""
    return subject_for(d), render_text(d), render_html(d)
