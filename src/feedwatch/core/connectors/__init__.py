"""Open-data connectors, the pure half: request URLs in, response bytes -> records + paging. Pure.

One module per service (../shared/data/open-data.md, the section named in each module):
tweedekamer (2.1), officielebekendmakingen (2.3), rechtspraak (2.5), woo (2.4), cbs (2.8). Each
builds the URL of its first page from the source's ConnectorQuery and the stored cursor, and reads
one response into a `Page`: the records, the next page's URL (None at the end) and the cursor
reached. The I/O loop (one request at a time, pauses, errors, storing the cursor with the items)
is feedwatch.app.connectors.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from feedwatch.core.entities import find_entities, merge
from feedwatch.errors import ExtractError
from feedwatch.types import RawItem

__all__ = ["Page", "Record", "parse_json", "parse_xml", "to_raw", "utc"]


@dataclass(frozen=True, slots=True)
class Record:
    """One document, case, ruling or figure as a service describes it."""

    guid: str  # the service's identity: ECLI, Kamer Id, KOOP identifier, Woo id, table/period
    title: str
    url: str
    summary: str = ""
    published: datetime | None = None  # publication date
    updated: datetime | None = None  # last change at the service (the cursor's field)
    doc_kind: str = ""  # kind of document: Motie, Kamerstuk, Uitspraak, Woo-besluit, cijfers
    entities: tuple[str, ...] = ()  # given by the service (kind:id)
    # provenance kept as evidence: decision_date, file_hash, modified, collection, ...
    details: Mapping[str, str] = field(default_factory=dict)
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """One response, read."""

    records: tuple[Record, ...]
    next_url: str | None  # the next page; None: the end (or the cursor) was reached
    cursor: str | None = None  # the newest cursor value among the records (None: none)
    total: int | None = None  # how many records the service says match


def utc(value: str | None) -> datetime | None:
    """An ISO 8601 date or date-time as aware UTC (a date alone: midnight UTC); None if not one."""
    if not value:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_json(body: bytes, key: str, what: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExtractError(key, f"{what}: not JSON ({exc})") from None


etree: Any = importlib.import_module("lxml.etree")  # lxml ships no type hints
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)


def parse_xml(body: bytes, key: str, what: str) -> Any:
    try:
        return etree.fromstring(body, parser=_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ExtractError(key, f"{what}: not well-formed XML ({exc})") from None


def to_raw(rec: Record) -> RawItem:
    """The record as a RawItem for core.normalise (identity: the service's own id)."""
    return RawItem(
        title=rec.title,
        link=rec.url,
        guid=rec.guid,
        summary=rec.summary,
        published=rec.published,
        updated=rec.updated,
        date_source="feed" if rec.published is not None else None,
    )


def record_entities(rec: Record) -> tuple[str, ...]:
    """The service's entities and those found in the record's id, title, summary and URL."""
    return merge(rec.entities, find_entities(rec.guid, rec.title, rec.summary, rec.url))
