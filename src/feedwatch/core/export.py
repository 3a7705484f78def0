"""Item writers over an iterator: JSON Lines, CSV, Markdown, Atom 1.0 and JSON Feed 1.1.

Pure: the writers take rows and a text stream and never import httpx, sqlalchemy or
apscheduler. They stream: one row is formatted and written at a time, so memory stays flat for
any number of items. Every field that comes from a source is escaped for its format; links
that are not http(s) are left out.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO
from xml.sax.saxutils import escape, quoteattr

from feedwatch.core.links import linkify_md
from feedwatch.textsafe import md_escape, md_url, one_line, safe_url
from feedwatch.types import Item

__all__ = [
    "FORMATS",
    "FeedInfo",
    "ExportRow",
    "item_record",
    "write",
    "write_atom",
    "write_csv",
    "write_jsonfeed",
    "write_jsonl",
    "write_markdown",
]

FORMATS = ("jsonl", "csv", "md", "atom", "jsonfeed")


class ExportRow(Protocol):
    """What the writers read of a stored item (store.ItemRow has this shape)."""

    @property
    def item(self) -> Item: ...

    @property
    def topics(self) -> tuple[str, ...]: ...

    @property
    def scores(self) -> Mapping[str, float]: ...


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """Feed-level metadata of an Atom or JSON Feed file."""

    title: str = "feedwatch"
    id: str = "tag:feedwatch,2026:export"
    self_url: str | None = None  # where the file will be served, when known
    home_url: str | None = None
    description: str = ""
    updated: datetime | None = None  # default: the newest row's date
    source_names: Mapping[str, str] | None = None


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def item_record(row: ExportRow) -> dict[str, Any]:
    """The JSON Lines object of ../shared/docs/INTERFACE.md."""
    it = row.item
    return {
        "id": it.id,
        "source": it.source,
        "url": it.url,
        "title": it.title,
        "summary": it.summary,
        "published": iso(it.published),
        "date_source": it.date_source,
        "first_seen": iso(it.first_seen),
        "topics": list(row.topics),
        "scores": {k: round(v, 3) for k, v in sorted(row.scores.items())},
        "lang": it.lang,
        "entities": list(getattr(row, "entities", ())),  # kind:id (core.entities)
    }


def _json_line(obj: object) -> str:
    """JSON on one line, also for readers that split lines at U+2028 and U+2029."""
    text = json.dumps(obj, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def write_jsonl(rows: Iterable[ExportRow], out: TextIO) -> int:
    n = 0
    for row in rows:
        out.write(_json_line(item_record(row)))
        out.write("\n")
        n += 1
    return n


CSV_FIELDS = (
    "id",
    "source",
    "url",
    "title",
    "summary",
    "published",
    "date_source",
    "first_seen",
    "topics",
    "lang",
)


def _cell(value: str) -> str:
    """Text a spreadsheet will not run as a formula (=, +, -, @ and tab/CR lead a formula)."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def write_csv(rows: Iterable[ExportRow], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    n = 0
    for row in rows:
        rec = item_record(row)
        rec["topics"] = ";".join(rec["topics"])
        writer.writerow([_cell("" if rec[f] is None else str(rec[f])) for f in CSV_FIELDS])
        n += 1
    return n


def write_markdown(rows: Iterable[ExportRow], out: TextIO, title: str = "feedwatch") -> int:
    out.write(f"# {md_escape(title)}\n\n")
    n = 0
    for row in rows:
        it = row.item
        when = (
            it.published.astimezone(UTC).strftime("%Y-%m-%d")
            if it.published and it.date_source != "first-seen"
            else f"({it.first_seen.astimezone(UTC).strftime('%Y-%m-%d')})"
        )
        name = md_escape(one_line(it.title) or "(zonder titel)")
        url = safe_url(it.url)
        link = f"[{name}]({md_url(url)})" if url else name
        topics = ", ".join(md_escape(t) for t in row.topics) or "-"
        out.write(f"- {md_escape(when)} · `{md_escape(it.source)}` · {link} · _{topics}_\n")
        refs = linkify_md(it.summary) if it.summary else ""
        if "](" in refs:  # a summary that cites references: with links to their official pages
            out.write(f"  {refs}\n")
        n += 1
    if n == 0:
        out.write("_geen berichten_\n")
    return n


def _peek(rows: Iterable[ExportRow]) -> tuple[ExportRow | None, Iterator[ExportRow]]:
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return None, it

    def chain() -> Iterator[ExportRow]:
        yield first
        yield from it

    return first, chain()


def _latest(item: Item) -> datetime:
    return max(d for d in (item.updated, item.published, item.first_seen) if d is not None)


def _xml_text(text: str | None) -> str:
    """Escaped XML character data without characters XML 1.0 forbids."""
    return escape(_XML_BAD.sub("", text or ""))


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def entry_id(item: Item) -> str:
    return f"tag:feedwatch,2026:item:{item.id}"


def write_atom(rows: Iterable[ExportRow], out: TextIO, info: FeedInfo | None = None) -> int:
    """Atom 1.0 (RFC 4287): feed metadata first, then one entry per row as it arrives."""
    info = info or FeedInfo()
    names = info.source_names or {}
    first, stream = _peek(rows)
    updated = info.updated or (_latest(first.item) if first else datetime(2026, 1, 1, tzinfo=UTC))
    out.write('<?xml version="1.0" encoding="utf-8"?>\n')
    out.write('<feed xmlns="http://www.w3.org/2005/Atom">\n')
    out.write(f"  <id>{_xml_text(info.id)}</id>\n")
    out.write(f'  <title type="text">{_xml_text(info.title)}</title>\n')
    if info.description:
        out.write(f'  <subtitle type="text">{_xml_text(info.description)}</subtitle>\n')
    out.write(f"  <updated>{iso(updated)}</updated>\n")
    out.write("  <author><name>feedwatch</name></author>\n")
    out.write('  <generator uri="https://github.com/feedwatch/feedwatch">feedwatch</generator>\n')
    if info.self_url and safe_url(info.self_url):
        out.write(
            f'  <link rel="self" type="application/atom+xml" href={quoteattr(info.self_url)}/>\n'
        )
    if info.home_url and safe_url(info.home_url):
        out.write(f'  <link rel="alternate" type="text/html" href={quoteattr(info.home_url)}/>\n')
    n = 0
    for row in stream:
        it = row.item
        out.write("  <entry>\n")
        out.write(f"    <id>{_xml_text(entry_id(it))}</id>\n")
        out.write(
            f'    <title type="text">{_xml_text(one_line(it.title) or "(zonder titel)")}</title>\n'
        )
        url = safe_url(it.url)
        if url:
            out.write(
                f'    <link rel="alternate" type="text/html" href={quoteattr(_XML_BAD.sub("", url))}/>\n'
            )
        out.write(f"    <updated>{iso(_latest(it))}</updated>\n")
        if it.published and it.date_source != "first-seen":
            out.write(f"    <published>{iso(it.published)}</published>\n")
        out.write(
            f"    <author><name>{_xml_text(names.get(it.source, it.source))}</name></author>\n"
        )
        for topic in row.topics:
            out.write(f"    <category term={quoteattr(topic)}/>\n")
        if it.summary:
            out.write(f'    <summary type="text">{_xml_text(it.summary)}</summary>\n')
        out.write("  </entry>\n")
        n += 1
    out.write("</feed>\n")
    return n


def write_jsonfeed(rows: Iterable[ExportRow], out: TextIO, info: FeedInfo | None = None) -> int:
    """JSON Feed 1.1: the top-level object is written around a streamed items array."""
    info = info or FeedInfo()
    names = info.source_names or {}
    head: dict[str, Any] = {"version": "https://jsonfeed.org/version/1.1", "title": info.title}
    if info.home_url and safe_url(info.home_url):
        head["home_page_url"] = info.home_url
    if info.self_url and safe_url(info.self_url):
        head["feed_url"] = info.self_url
    if info.description:
        head["description"] = info.description
    head["authors"] = [{"name": "feedwatch"}]
    opening = json.dumps(head, ensure_ascii=False, indent=1)[:-2]  # drop "\n}"
    out.write(opening + ',\n "items": [')
    n = 0
    for row in rows:
        it = row.item
        entry: dict[str, Any] = {"id": entry_id(it)}
        url = safe_url(it.url)
        if url:
            entry["url"] = url
        entry["title"] = one_line(it.title) or "(zonder titel)"
        entry["content_text"] = it.summary or one_line(it.title)
        if it.summary:
            entry["summary"] = one_line(it.summary)[:500]
        if it.published and it.date_source != "first-seen":
            entry["date_published"] = iso(it.published)
        entry["date_modified"] = iso(_latest(it))
        entry["authors"] = [{"name": names.get(it.source, it.source)}]
        if row.topics:
            entry["tags"] = list(row.topics)
        if it.lang:
            entry["language"] = it.lang
        entry["_feedwatch"] = {"source": it.source, "date_source": it.date_source}
        out.write(("\n  " if n == 0 else ",\n  ") + _json_line(entry))
        n += 1
    out.write("\n ]\n}\n" if n else "]\n}\n")
    return n


Writer = Callable[[Iterable[ExportRow], TextIO], int]


def write(fmt: str, rows: Iterable[ExportRow], out: TextIO, info: FeedInfo | None = None) -> int:
    """Write `rows` in format `fmt` (one of FORMATS); returns the number of items written."""
    if fmt == "jsonl":
        return write_jsonl(rows, out)
    if fmt == "csv":
        return write_csv(rows, out)
    if fmt == "md":
        return write_markdown(rows, out, (info or FeedInfo()).title)
    if fmt == "atom":
        return write_atom(rows, out, info)
    if fmt == "jsonfeed":
        return write_jsonfeed(rows, out, info)
    raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
