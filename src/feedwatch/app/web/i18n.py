"""The web interface's words in Dutch (the default) and English, and dates in Europe/Amsterdam."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from feedwatch.core.digest import long_day, short_date

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
LANGS = ("nl", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "nl": {
        "skip": "Naar de inhoud",
        "nav": "Hoofdmenu",
        "overview": "Overzicht",
        "sources": "Bronnen",
        "login": "Inloggen",
        "logout": "Uitloggen",
        "logged_in": "Ingelogd: u kunt labels wijzigen.",
        "other_lang": "English",
        "footer": "feedwatch volgt wat overheden en organisaties publiceren over asiel en migratie.",
        "new_today": "Nieuw vandaag",
        "new_week": "Nieuw deze week",
        "new_items": "nieuwe berichten",
        "topic": "Onderwerp",
        "all_new": "Alle nieuwe berichten",
        "per_week": "Berichten per onderwerp per week, afgelopen jaar",
        "per_week_note": "Per week (maandag tot maandag, Amsterdamse tijd) naar publicatiedatum, of de datum waarop feedwatch het bericht vond als die ontbreekt. Zo tellen ook de nieuwe berichten van vandaag en deze week.",
        "chart_data": "De cijfers van de grafiek",
        "week_of": "week van",
        "max": "hoogste",
        "attention": "Bronnen die aandacht nodig hebben",
        "all_ok": "Alle bronnen werken normaal.",
        "failing": "faalt",
        "quiet": "stil",
        "empty": "leeg",
        "disabled": "uitgeschakeld",
        "items": "Berichten",
        "no_items": "Geen berichten gevonden.",
        "filter": "Filteren",
        "since": "Vanaf",
        "until": "Tot en met",
        "source": "Bron",
        "any_source": "alle bronnen",
        "any_topic": "alle onderwerpen",
        "apply": "Toepassen",
        "reset": "Wissen",
        "older": "Oudere berichten",
        "newest": "Nieuwste berichten",
        "atom": "Atom-feed van deze pagina",
        "date": "Datum",
        "title": "Titel",
        "topics": "Onderwerpen",
        "no_topic": "geen onderwerp",
        "no_title": "(zonder titel)",
        "bad_date": "Ongeldige datum {value!r}: gebruik JJJJ-MM-DD.",
        "published": "Gepubliceerd",
        "first_seen": "Eerst gezien door feedwatch",
        "updated": "Bijgewerkt",
        "provenance": "herkomst",
        "original": "Naar het origineel",
        "no_link": "geen bruikbare link",
        "text": "Tekst",
        "no_text": "Dit bericht heeft geen tekst.",
        "why": "Waarom dit onderwerp",
        "score": "Score",
        "assigned": "Toegekend",
        "threshold": "Drempel",
        "assigned_yes": "ja",
        "assigned_no": "nee",
        "by_hand_added": "met de hand toegevoegd",
        "by_hand_removed": "met de hand verwijderd",
        "terms": "Gevonden termen",
        "no_terms": "geen termen gevonden",
        "not_classified": "Nog niet ingedeeld: draai `feedwatch classify`.",
        "labels": "Labels",
        "label_add": "Toevoegen aan {topic}",
        "label_remove": "Verwijderen uit {topic}",
        "label_clear": "Regels laten beslissen over {topic}",
        "label_saved": "Label opgeslagen.",
        "label_need_login": "Log in om labels te wijzigen.",
        "writes_off": "Wijzigen staat uit: start `feedwatch web` met FEEDWATCH_WEB_TOKEN om labels te kunnen zetten.",
        "language": "Taal",
        "kind": "Soort",
        "last_success": "Laatst gelukt",
        "last_error": "Laatste fout",
        "errors_in_row": "Fouten op rij",
        "per_week_short": "Per week (12 weken)",
        "next_check": "Volgende controle",
        "stored": "Opgeslagen",
        "never": "nooit",
        "none": "geen",
        "sort_by": "Sorteer op {column}",
        "sources_intro": "De gezondheid van elke bron. Klik op een kolomkop om te sorteren.",
        "items_per_week": "berichten per week, de laatste 12 weken",
        "source_info": "Over deze bron",
        "address": "Adres",
        "token": "Toegangscode",
        "token_help": "De waarde van FEEDWATCH_WEB_TOKEN op de server.",
        "login_failed": "Deze toegangscode klopt niet.",
        "login_off": "Inloggen is niet mogelijk: de server heeft geen FEEDWATCH_WEB_TOKEN.",
        "login_needed": "Log in om deze pagina te zien.",
        "not_found": "Niet gevonden",
        "not_found_text": "Deze pagina bestaat niet (meer).",
        "forbidden": "Niet toegestaan",
        "forbidden_text": "Deze wijziging is niet toegestaan: log in en probeer het opnieuw vanaf de pagina zelf.",
        "bad_request": "Ongeldig verzoek",
        "server_error": "Er ging iets mis",
        "server_error_text": "De server kon deze pagina niet maken. De fout staat in het logboek van de server.",
        "back_home": "Terug naar het overzicht",
        "date_feed": "uit de feed",
        "date_listing": "van de overzichtspagina",
        "date_page-meta": "uit de metadata van de pagina",
        "date_page-text": "uit de tekst van de pagina",
        "date_http-last-modified": "uit de HTTP-kop Last-Modified",
        "date_first-seen": "onbekend; dit is de datum waarop feedwatch het bericht vond",
        "yes": "ja",
        "no": "nee",
        "removed": "niet meer in de configuratie",
        "dossier": "Dossier",
        "dossier_lead": "berichten: {total}; bronnen: {sources}; oudste eerst",
        "dossiers": "Dossiers",
        "dossiers_lead": "De dossiers, uitspraken, publicaties en wetten waar de berichten het vaakst naar verwijzen; elk met zijn tijdlijn over alle bronnen.",
        "lookup": "Dossier openen",
        "lookup_hint": "Een nummer of verwijzing: 36704, kamerstuk 36704, ECLI:NL:RVS:2026:7012, stcrt:2026-12345",
        "open": "Openen",
        "bad_entity": "{value!r} is geen verwijzing die feedwatch kent: {message}",
        "any_kind": "alle soorten",
        "period": "Periode",
        "period_30": "laatste 30 dagen",
        "period_90": "laatste 90 dagen",
        "period_365": "afgelopen jaar",
        "period_all": "alles",
        "reference": "Verwijzing",
        "cited_by": "Berichten",
        "first": "Eerste",
        "last": "Laatste",
        "no_dossiers": "Geen verwijzingen in deze periode.",
        "top_n": "Meest genoemd eerst (hoogstens {limit}).",
        "kind_kamerstuk": "Kamerstukdossier",
        "kind_ecli": "Uitspraak",
        "kind_stcrt": "Staatscourant",
        "kind_stb": "Staatsblad",
        "kind_bwbr": "Wet of regeling",
        "kind_celex": "EU-wetgeving",
        "official_page": "officiële pagina",
        "entities": "Verwijzingen",
        "timeline": "Tijdlijn",
        "previous": "Vorige",
        "next": "Volgende",
        "search": "Zoeken",
        "search_label": "Zoekvraag",
        "search_button": "Zoek",
        "search_hint": 'Alle woorden; OR, -woord, "een zin", asielzoek*, title:, source:, topic:',
        "sort": "Volgorde",
        "sort_rank": "beste eerst",
        "sort_date": "nieuwste eerst",
        "query_error": "De zoekvraag klopt niet op positie {position}: {message}",
        "no_matches": "Niets gevonden.",
        "monitors": "Monitors",
        "monitor": "Monitor",
        "monitors_lead": "Opgeslagen zoekvragen uit {path}.",
        "no_monitors": "Geen monitors ingesteld.",
        "follows": "Volgt",
        "query": "Zoekvraag",
        "entities_short": "Dossiers",
        "cadence": "Ritme",
        "channels": "Kanalen",
        "last_delivery": "Laatst bezorgd",
        "next_run": "Volgende keer",
        "pending": "Nog te bezorgen",
        "matches": "Treffers",
        "by_digest": "via feedwatch digest",
        "on_new_matches": "bij nieuwe treffers",
        "test_view": "Wat deze monitor zou sturen",
        "test_lead": "{count} berichten sinds {since} (hoogstens {limit}); er wordt niets verstuurd.",
        "test_message": "Het bericht als tekst",
        "matched_on": "Gevonden op",
    },
    "en": {
        "skip": "Skip to content",
        "nav": "Main menu",
        "overview": "Overview",
        "sources": "Sources",
        "login": "Log in",
        "logout": "Log out",
        "logged_in": "Logged in: you can change labels.",
        "other_lang": "Nederlands",
        "footer": "feedwatch follows what governments and organisations publish on asylum and migration.",
        "new_today": "New today",
        "new_week": "New this week",
        "new_items": "new items",
        "topic": "Topic",
        "all_new": "All new items",
        "per_week": "Items per topic per week, last year",
        "per_week_note": "Per week (Monday to Monday, Amsterdam time) by publication date, or the date feedwatch found the item when it has none. The new items of today and this week count the same way.",
        "chart_data": "The chart's figures",
        "week_of": "week of",
        "max": "highest",
        "attention": "Sources that need attention",
        "all_ok": "Every source works normally.",
        "failing": "failing",
        "quiet": "quiet",
        "empty": "empty",
        "disabled": "disabled",
        "items": "Items",
        "no_items": "No items found.",
        "filter": "Filter",
        "since": "From",
        "until": "Up to and including",
        "source": "Source",
        "any_source": "all sources",
        "any_topic": "all topics",
        "apply": "Apply",
        "reset": "Clear",
        "older": "Older items",
        "newest": "Newest items",
        "atom": "Atom feed of this page",
        "date": "Date",
        "title": "Title",
        "topics": "Topics",
        "no_topic": "no topic",
        "no_title": "(untitled)",
        "bad_date": "Invalid date {value!r}: use YYYY-MM-DD.",
        "published": "Published",
        "first_seen": "First seen by feedwatch",
        "updated": "Updated",
        "provenance": "source of the date",
        "original": "Go to the original",
        "no_link": "no usable link",
        "text": "Text",
        "no_text": "This item has no text.",
        "why": "Why this topic",
        "score": "Score",
        "assigned": "Assigned",
        "threshold": "Threshold",
        "assigned_yes": "yes",
        "assigned_no": "no",
        "by_hand_added": "added by hand",
        "by_hand_removed": "removed by hand",
        "terms": "Terms found",
        "no_terms": "no terms found",
        "not_classified": "Not classified yet: run `feedwatch classify`.",
        "labels": "Labels",
        "label_add": "Add to {topic}",
        "label_remove": "Remove from {topic}",
        "label_clear": "Let the rules decide on {topic}",
        "label_saved": "Label saved.",
        "label_need_login": "Log in to change labels.",
        "writes_off": "Changes are off: start `feedwatch web` with FEEDWATCH_WEB_TOKEN to set labels.",
        "language": "Language",
        "kind": "Kind",
        "last_success": "Last success",
        "last_error": "Last error",
        "errors_in_row": "Errors in a row",
        "per_week_short": "Per week (12 weeks)",
        "next_check": "Next check",
        "stored": "Stored",
        "never": "never",
        "none": "none",
        "sort_by": "Sort by {column}",
        "sources_intro": "The health of every source. Click a column heading to sort.",
        "items_per_week": "items per week, the last 12 weeks",
        "source_info": "About this source",
        "address": "Address",
        "token": "Access token",
        "token_help": "The value of FEEDWATCH_WEB_TOKEN on the server.",
        "login_failed": "This token is not right.",
        "login_off": "Logging in is not possible: the server has no FEEDWATCH_WEB_TOKEN.",
        "login_needed": "Log in to see this page.",
        "not_found": "Not found",
        "not_found_text": "This page does not exist (any more).",
        "forbidden": "Not allowed",
        "forbidden_text": "This change is not allowed: log in and try again from the page itself.",
        "bad_request": "Bad request",
        "server_error": "Something went wrong",
        "server_error_text": "The server could not make this page. The error is in the server's log.",
        "back_home": "Back to the overview",
        "date_feed": "from the feed",
        "date_listing": "from the listing page",
        "date_page-meta": "from the page's metadata",
        "date_page-text": "from the page's text",
        "date_http-last-modified": "from the HTTP header Last-Modified",
        "date_first-seen": "unknown; this is when feedwatch found the item",
        "yes": "yes",
        "no": "no",
        "removed": "no longer in the config",
        "dossier": "Dossier",
        "dossier_lead": "items: {total}; sources: {sources}; oldest first",
        "dossiers": "Dossiers",
        "dossiers_lead": "The dossiers, rulings, publications and laws the items cite most; each with its timeline across all sources.",
        "lookup": "Open a dossier",
        "lookup_hint": "A number or reference: 36704, kamerstuk 36704, ECLI:NL:RVS:2026:7012, stcrt:2026-12345",
        "open": "Open",
        "bad_entity": "{value!r} is not a reference feedwatch knows: {message}",
        "any_kind": "every kind",
        "period": "Period",
        "period_30": "last 30 days",
        "period_90": "last 90 days",
        "period_365": "last year",
        "period_all": "all",
        "reference": "Reference",
        "cited_by": "Items",
        "first": "First",
        "last": "Last",
        "no_dossiers": "No references in this period.",
        "top_n": "Most cited first (at most {limit}).",
        "kind_kamerstuk": "Parliamentary dossier",
        "kind_ecli": "Ruling",
        "kind_stcrt": "Staatscourant",
        "kind_stb": "Staatsblad",
        "kind_bwbr": "Law or regulation",
        "kind_celex": "EU legislation",
        "official_page": "official page",
        "entities": "References",
        "timeline": "Timeline",
        "previous": "Previous",
        "next": "Next",
        "search": "Search",
        "search_label": "Query",
        "search_button": "Search",
        "search_hint": 'Every word; OR, -word, "a phrase", asielzoek*, title:, source:, topic:',
        "sort": "Order",
        "sort_rank": "best first",
        "sort_date": "newest first",
        "query_error": "The query is wrong at position {position}: {message}",
        "no_matches": "No matches.",
        "monitors": "Monitors",
        "monitor": "Monitor",
        "monitors_lead": "Saved searches from {path}.",
        "no_monitors": "No monitors configured.",
        "follows": "Follows",
        "query": "Query",
        "entities_short": "Dossiers",
        "cadence": "Cadence",
        "channels": "Channels",
        "last_delivery": "Last delivery",
        "next_run": "Next run",
        "pending": "Pending",
        "matches": "Matches",
        "by_digest": "by feedwatch digest",
        "on_new_matches": "on new matches",
        "test_view": "What this monitor would send",
        "test_lead": "{count} items since {since} (at most {limit}); nothing is sent.",
        "test_message": "The message as text",
        "matched_on": "Matched on",
    },
}


class Messages:
    """The words of one language: `t.key` in templates, `t("key", name=value)` with fields.

    The words are plain attributes: Jinja asks callables for attributes it may not find
    (jinja_pass_arg, __html__), and a miss must stay as cheap as Python's own."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in MESSAGES else "nl"
        self._words = MESSAGES[self.lang]
        self.__dict__.update(self._words)

    def __getitem__(self, key: str) -> str:
        return self(key)

    def __call__(self, key: str, **fields: object) -> str:
        text = self._words.get(key, MESSAGES["nl"].get(key, key))
        return text.format(**fields) if fields else text

    def __getattr__(self, key: str) -> str:  # only for mypy: the words are set in __init__
        raise AttributeError(key)


def pick_lang(query: str | None, cookie: str | None, accept: str | None) -> str:
    """?lang= beats the cookie set by an earlier ?lang=, which beats Accept-Language; Dutch
    when nothing says otherwise."""
    for value in (query, cookie):
        if value in LANGS:
            return value
    for part in (accept or "").split(","):
        tag = part.split(";")[0].strip().lower()
        base = tag.split("-")[0]
        if base in LANGS:
            return base
    return "nl"


def local(value: datetime) -> datetime:
    return value.astimezone(AMSTERDAM)


# The digest's short month names ("maa", "Mar"), looked up once instead of on every date.
_SHORT_MONTHS = {
    lang: [short_date(datetime(2026, m, 15, 12, tzinfo=UTC), lang).split()[1] for m in range(1, 13)]
    for lang in LANGS
}


def is_date_only(value: datetime) -> bool:
    """Whether an instant stands for a day without a time: feedwatch stores a date alone as
    00:00 UTC of that day, and the open-data services give one as local midnight."""
    utc = value.astimezone(UTC)
    local_ = value.astimezone(AMSTERDAM)
    return any((d.hour, d.minute, d.second, d.microsecond) == (0, 0, 0, 0) for d in (utc, local_))


def fmt_datetime(value: datetime | None, lang: str, never: str = "-") -> str:
    """'4 dec 2026 23:10' in Amsterdam time (the digest's short date, with the time); a day
    without a time is shown as the day alone ('4 dec 2026'), not as a made-up 01:00."""
    if value is None:
        return never
    d = value.astimezone(AMSTERDAM)
    if is_date_only(value):
        return f"{d.day} {_SHORT_MONTHS.get(lang, _SHORT_MONTHS['nl'])[d.month - 1]} {d.year}"
    name = _SHORT_MONTHS.get(lang, _SHORT_MONTHS["nl"])[d.month - 1]
    return f"{d.day} {name} {d.year} {d.hour:02d}:{d.minute:02d}"


def fmt_date(value: datetime | None, lang: str) -> str:
    return short_date(value, lang) if value is not None else "-"


def fmt_day(day: date, lang: str) -> str:
    return long_day(day, lang)


def day_start(now: datetime) -> datetime:
    """Midnight (Amsterdam) of the day `now` falls on, in UTC."""
    d = local(now).date()
    return datetime(d.year, d.month, d.day, tzinfo=AMSTERDAM).astimezone(UTC)


def week_start(now: datetime) -> datetime:
    """Monday 00:00 (Amsterdam) of the week `now` falls in, in UTC."""
    d = local(now).date()
    monday = d - timedelta(days=d.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=AMSTERDAM).astimezone(UTC)


def weeks_back(now: datetime, n: int) -> list[tuple[datetime, datetime]]:
    """The `n` Amsterdam weeks ending with the current one, oldest first, as UTC [start, end)."""
    d = local(now).date()
    monday = d - timedelta(days=d.weekday())
    out = []
    for i in range(n - 1, -1, -1):
        a = monday - timedelta(weeks=i)
        b = a + timedelta(weeks=1)
        out.append(
            (
                datetime(a.year, a.month, a.day, tzinfo=AMSTERDAM).astimezone(UTC),
                datetime(b.year, b.month, b.day, tzinfo=AMSTERDAM).astimezone(UTC),
            )
        )
    return out


def parse_day(value: str | None, *, end: bool = False) -> datetime | None:
    """YYYY-MM-DD as an Amsterdam day: its midnight (or the next one with `end`), in UTC.
    Raises ValueError for anything else; None or '' gives None."""
    if not value:
        return None
    day = date.fromisoformat(value.strip())
    if end:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=AMSTERDAM).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DateFilter:
    """The since/until filter of a page: the instants, the text to show back in the form (a
    value that is not a date is dropped), and a message per bad value."""

    since: datetime | None
    until: datetime | None
    since_text: str
    until_text: str
    errors: tuple[str, ...]


def date_filter(params: Mapping[str, str], t: Messages) -> DateFilter:
    """`since` and `until` (YYYY-MM-DD, Amsterdam days; `until` includes its day) of a query."""
    since_s, until_s = params.get("since", "").strip(), params.get("until", "").strip()
    since = until = None
    errors: list[str] = []
    try:
        since = parse_day(since_s)
    except ValueError:
        errors.append(t("bad_date", value=since_s))
        since_s = ""
    try:
        until = parse_day(until_s, end=True)
    except ValueError:
        errors.append(t("bad_date", value=until_s))
        until_s = ""
    return DateFilter(since, until, since_s, until_s, tuple(errors))


# The frame of the classifier's explanations (core.classify: `feedwatch why`), in Dutch; the
# words found and the rule names stay as they are.
_WHY_NL: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), words)
    for pattern, words in (
        (r"^model (\S+) not assigned: ", r"model \1 niet toegekend: "),
        (r"^model (\S+) assigned: ", r"model \1 toegekend: "),
        (
            r" = rules ([-+]\S+) \+ words ([-+]\S+) \+ bias ([-+]\S+)$",
            r" = regels \1 + woorden \2 + basis \3",
        ),
        (r"^rules (\S+ / \S+) not assigned by themselves$", r"regels alleen: \1, niet toegekend"),
        (r"^rules (\S+ / \S+) assigned by themselves$", r"regels alleen: \1, toegekend"),
        (r"^for: ", "voor: "),
        (r"^against: ", "tegen: "),
        (r"^rule: ", "regel: "),
        (r"\bbias ([-+]\d+\.\d+)$", r"basis \1"),  # last on its side's line
        (r"\(title\b", "(titel"),
        (r"\(body\b", "(tekst"),
        (r", body\b", ", tekst"),
    )
)


def why_line(line: str, lang: str) -> str:
    """One line of a topic decision's explanation with its frame in the page's language."""
    if lang != "nl":
        return line
    for pattern, words in _WHY_NL:
        line = pattern.sub(words, line)
    return line


def date_words(date_source: str, t: Mapping[str, str] | Messages) -> str:
    key = f"date_{date_source}"
    return t(key) if isinstance(t, Messages) else t.get(key, date_source)
