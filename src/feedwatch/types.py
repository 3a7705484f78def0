"""Frozen values that cross module boundaries. Contains no business logic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from feedwatch.errors import FetchError, FetchErrorKind

__all__ = [
    "DATE_SOURCES",
    "DateSource",
    "DeliveryStatus",
    "DigestRecord",
    "DigestStatus",
    "ErrorKind",
    "FetchErrorKind",
    "FetchOutcome",
    "FetchResult",
    "ItemQuery",
    "ItemRow",
    "Item",
    "ItemAction",
    "ItemWrite",
    "Outcome",
    "RawItem",
    "RunResult",
    "Selectors",
    "Source",
    "SourceKind",
    "SourceReport",
    "SourceState",
    "SourceUpdate",
    "StoredItems",
    "TopicScore",
]

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


# ------------------------------------------------------------------ statuses, outcomes, kinds

# What one fetch of one source came to (the fetch log's `outcome`).
Outcome = Literal["ok", "not-modified", "error"]
# Why a fetch of a source failed: the fetcher's kinds (FetchErrorKind, errors.py) and those the
# pipeline adds. The digest words every one of them (core/digest.py _ERROR_WORDS).
ErrorKind = Literal[FetchErrorKind, "extract", "internal"]
# A digest's state: waiting for delivery, delivered, or decided not to send.
DigestStatus = Literal["pending", "sent", "skipped"]
# What one run of a digest profile did for one day (DigestRun.status, the digest command's line).
DeliveryStatus = Literal["sent", "pending", "skipped", "already-sent", "in-progress", "dry-run"]
# What the store does with one item of a fetch (core/decide.py decides it).
ItemAction = Literal["new", "changed"]


# ------------------------------------------------------------------------- the decide step


@dataclass(frozen=True, slots=True)
class StoredItems:
    """What the store holds of one source's items, as far as one fetch's items concern it:
    the content hash per stored id, the (id, content hash) stored under each URL, and the dates
    (published, else first seen) of the source's newest items, newest first. Read once per
    fetch (Store.stored_items) and handed to core/decide.py."""

    by_id: Mapping[str, str] = field(default_factory=dict)
    by_url: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    recent: tuple[tuple[str, datetime], ...] = ()  # (id, when) of the newest items


@dataclass(frozen=True, slots=True)
class ItemWrite:
    """One item to write: insert it (`new`) or rewrite the stored one of the same id
    (`changed`), with its rule scores; `replace_scores`: the stored rule scores go first."""

    action: ItemAction
    item: Item  # its id is the stored id to write under (a remapped guid keeps the old id)
    scores: tuple[TopicScore, ...] = ()
    replace_scores: bool = False


@dataclass(frozen=True, slots=True)
class SourceUpdate:
    """Everything one fetch of one source writes: process() reads the response into `items`,
    decide() turns them into `writes` against the stored state; the store applies it."""

    key: str
    started_at: datetime
    duration: float
    outcome: Outcome
    url: str
    http_status: int | None = None
    bytes: int = 0
    items: tuple[Item, ...] = ()  # the items read, before decide()
    warnings: tuple[str, ...] = ()
    error: str | None = None
    error_kind: ErrorKind | None = None
    etag: str | None = None
    last_modified: str | None = None
    set_validators: bool = False  # a 200 replaces the stored validators (also with None)
    new_url: str | None = None  # a permanent redirect moved the source
    next_check_at: datetime | None = None
    disable_reason: str | None = None
    scores: Mapping[str, tuple[TopicScore, ...]] = field(default_factory=dict)  # by item id
    classifier_version: str | None = None
    body_hash: str | None = None  # decide.body_digest() of a body read in full
    # The body was byte-identical to the last one read, which held this many items: not re-read,
    # they count as unchanged.
    same_body_items: int | None = None
    # Set by decide(): None while undecided (the store refuses an undecided update with items).
    writes: tuple[ItemWrite, ...] | None = None
    unchanged: int = 0  # items read and found as stored (same_body_items not included)
    typical_gap: float | None = None  # learned gap between new items, when some are new
    # Entities (kind:id) per item id, computed in core (None: not computed, left alone); a
    # connector's (doc_kind, details) per item id and where its next run resumes (#17).
    entities: Mapping[str, tuple[str, ...]] | None = None
    documents: Mapping[str, tuple[str, Mapping[str, str]]] = field(default_factory=dict)
    cursor: str | None = None

    @property
    def counts(self) -> tuple[int, int, int]:
        """(new, changed, unchanged) items of a decided update."""
        new = sum(1 for w in self.writes or () if w.action == "new")
        changed = len(self.writes or ()) - new
        return new, changed, self.unchanged + (self.same_body_items or 0)


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """The fetch-log row and the summary line of one source."""

    key: str
    outcome: Outcome
    http_status: int | None
    new: int
    updated: int
    unchanged: int
    duration: float
    error: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one pass over sources did."""

    outcomes: tuple[FetchOutcome, ...]
    seconds: float

    @property
    def attempted(self) -> int:
        return len(self.outcomes)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if o.outcome == "error")

    @property
    def new(self) -> int:
        return sum(o.new for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        """0 if at least one source succeeded or nothing was due; 1 if every one failed."""
        return 1 if self.attempted and self.failed == self.attempted else 0


# ------------------------------------------------------------------------- stored items


@dataclass(frozen=True, slots=True)
class ItemQuery:
    topics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None
    ids: tuple[str, ...] = ()
    # Topics scored 0 for a classified item with no stored score for them (only scores above
    # zero are stored): the configured topics, so that every item reports the same keys.
    score_topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemRow:
    item: Item
    topics: tuple[str, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)
    entities: tuple[str, ...] = ()  # kind:id (#17)


@dataclass(frozen=True, slots=True)
class SourceReport:
    key: str
    name: str
    kind: str
    url: str
    enabled: bool
    in_config: bool
    disabled_reason: str | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_errors: int
    next_check_at: datetime | None
    item_count: int


@dataclass(frozen=True, slots=True)
class DigestRecord:
    """One stored digest: a profile's day, its window, its state and its frozen health notes."""

    id: int
    profile: str
    period: str  # YYYY-MM-DD
    since: datetime
    until: datetime
    status: DigestStatus
    created_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None
    item_count: int
    health: tuple[Mapping[str, Any], ...]
    message_id: str | None
