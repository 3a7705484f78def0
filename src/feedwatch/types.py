"""Frozen values that cross module boundaries. Contains no business logic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from feedwatch.errors import FetchError

# Dates are aware UTC inside feedwatch and Amsterdam time at its edges (days, schedules, pages).
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

SourceKind = Literal[
    "rss",
    "atom",
    "json",
    "html",
    "sitemap",
    "auto",
    # connectors to open-data APIs (core.connectors, app.connectors): url is the API's root
    "tweedekamer",
    "officielebekendmakingen",
    "rechtspraak",
    "woo",
    "cbs",
]
CONNECTOR_KINDS: tuple[SourceKind, ...] = (
    "tweedekamer",
    "officielebekendmakingen",
    "rechtspraak",
    "woo",
    "cbs",
)
DateSource = Literal[
    "feed", "listing", "page-meta", "page-text", "http-last-modified", "first-seen"
]
DATE_SOURCES: tuple[DateSource, ...] = (
    "feed",
    "listing",
    "page-meta",
    "page-text",
    "http-last-modified",
    "first-seen",
)


@dataclass(frozen=True, slots=True)
class Selectors:
    """CSS selectors of an HTML listing source; every one optional."""

    item: str | None = None
    title: str | None = None
    link: str | None = None
    date: str | None = None
    summary: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectorQuery:
    """What a connector source follows (its keys in config/feeds.yaml); empty: everything."""

    since: date | None = None  # how far back the first run reaches
    dossiers: tuple[int, ...] = ()  # Kamerstuk dossier numbers
    committee: str | None = None  # tweedekamer: the lead committee (voortouwcommissie)
    words: tuple[str, ...] = ()  # words in the title or subject
    creators: tuple[str, ...] = ()  # officielebekendmakingen/rechtspraak: creator
    subjects: tuple[str, ...] = ()  # rechtspraak: area-of-law URIs
    publishers: tuple[str, ...] = ()  # woo: responsible ministry (name or TOOI id)
    types: tuple[str, ...] = ()  # document types (Soort, dt.type)
    collections: tuple[str, ...] = ()  # tweedekamer: Document, Zaak
    table: str | None = None  # cbs: the StatLine table
    page_size: int | None = None  # records per request (each connector has its default)
    pause: float | None = None  # seconds between two requests to the service


@dataclass(frozen=True, slots=True)
class Source:
    """A validated entry of config/feeds.yaml."""

    key: str
    name: str
    url: str
    kind: SourceKind = "auto"
    organisation: str = ""
    interval: timedelta = timedelta(hours=1)
    enabled: bool = True
    keep: Literal["all", "topical"] = "all"
    selectors: Selectors | None = None
    max_pages: int = 1
    line: int | None = None  # where the entry starts in its config file
    min_interval: timedelta | None = None  # adaptive polling bounds; None: derived from interval
    max_interval: timedelta | None = None
    connector: ConnectorQuery | None = None  # set for the connector kinds (CONNECTOR_KINDS)
    domain: str | None = None  # e.g. "asiel": what the source is configured for

    @property
    def interval_bounds(self) -> tuple[timedelta, timedelta]:
        """(minimum, maximum) time between checks: a quarter of the interval (at least 5
        minutes) up to four times it (at most a day, never below the interval)."""
        low = self.min_interval or max(self.interval / 4, timedelta(minutes=5))
        high = self.max_interval or max(min(self.interval * 4, timedelta(days=1)), self.interval)
        return min(low, self.interval), max(high, self.interval)


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the store knows of a source between fetches."""

    key: str
    url: str  # current URL: the configured one, or where a permanent redirect led
    etag: str | None = None
    last_modified: str | None = None
    next_check_at: datetime | None = None
    consecutive_errors: int = 0
    last_success_at: datetime | None = None
    last_error: str | None = None
    item_count: int = 0
    typical_gap: float | None = None  # seconds between new items, as observed
    lease_owner: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch produced; 304 is a status, not an error; an error is a value."""

    source_key: str
    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int | None  # None when no response arrived
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: FetchError | None = None
    elapsed: float = 0.0  # seconds
    permanent_redirect: str | None = None  # set when every hop was 301/308 to a valid URL
    fetched_at: datetime | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304 and self.error is None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class RawItem:
    """One item as found in a feed or page: strings as found, dates already aware UTC if known."""

    title: str | None
    link: str | None
    guid: str | None = None
    summary: str | None = None  # may hold HTML; normalise() makes it plain text
    published: datetime | None = None
    updated: datetime | None = None
    date_source: DateSource | None = None  # provenance of `published` when set
    author: str | None = None
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """A normalised item, ready to classify and store."""

    id: str
    source: str
    url: str
    title: str
    summary: str
    published: datetime | None
    date_source: DateSource
    first_seen: datetime
    updated: datetime | None = None
    author: str | None = None
    lang: str | None = None
    guid: str | None = None
    content_hash: str = ""

    def __reduce__(self) -> tuple[type[Item], tuple[Any, ...]]:
        # Pickled by value (worker processes send items back): several times faster than the
        # field-by-field state dataclasses give a slotted class.
        return Item, _ITEM_FIELDS(self)


@dataclass(frozen=True, slots=True)
class TopicScore:
    """The score of one item for one topic, with the terms that produced it."""

    topic: str
    score: float
    threshold: float
    terms: tuple[str, ...] = ()
    assigned: bool = False

    def __reduce__(self) -> tuple[type[TopicScore], tuple[Any, ...]]:
        return TopicScore, _SCORE_FIELDS(self)


_ITEM_FIELDS = attrgetter(*(f.name for f in fields(Item)))
_SCORE_FIELDS = attrgetter(*(f.name for f in fields(TopicScore)))


# ------------------------------------------------------------------------ digest profiles

DEFAULT_SUBJECT = "feedwatch {title}: {count} ({date})"


@dataclass(frozen=True, slots=True)
class EmailOutput:
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    sender: str = "feedwatch <feedwatch@localhost>"


@dataclass(frozen=True, slots=True)
class DigestProfile:
    """One digest profile: what goes in, when, where it goes."""

    name: str
    title: str = ""
    topics: tuple[str, ...] = ()  # empty: every topic
    sources: tuple[str, ...] = ()  # empty: every source
    schedule: str = "0 7 * * *"  # cron, Europe/Amsterdam
    language: Literal["nl", "en"] = "nl"
    empty: Literal["send", "skip"] = "send"
    markdown: bool = True
    markdown_dir: str | None = None  # default $FEEDWATCH_OUTPUT_DIR/digests
    email: EmailOutput | None = None
    subject: str = DEFAULT_SUBJECT
    line: int | None = None


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    user: str | None = None
    timeout: float = 30.0
    retries: int = 3  # extra attempts after a temporary (4xx or connection) failure
    retry_delay: float = 10.0  # seconds before the first retry; doubles each time


@dataclass(frozen=True, slots=True)
class DigestsConfig:
    path: Path | None
    profiles: tuple[DigestProfile, ...] = ()
    smtp: SmtpConfig | None = None

    def profile(self, name: str) -> DigestProfile:
        for p in self.profiles:
            if p.name == name:
                return p
        raise KeyError(name)
