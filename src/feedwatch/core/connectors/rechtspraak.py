"""Rechtspraak open data: rulings, e.g. the Raad van State's in immigration law (open-data.md 2.5). Pure.

Search: `<base>/zoeken?type=Uitspraak&creator=<court URI>&subject=<area URI>&modified=<cursor>
&return=DOC&sort=ASC&max=<n>&from=<offset>`: Atom, each entry `id` = ECLI, `title`
("ECLI, court, dd-mm-yyyy, case number"), optional `summary` (the inhoudsindicatie), `updated`
(last change) and `link`; an entry with a `deleted` attribute is withdrawn. Sorted on the change
date, ascending, so the cursor (the newest `updated` read) can move page by page. Each new ruling's
metadata: `<base>/content?id=<ECLI>&return=META`, RDF with `dcterms:issued` (publication date)
and `dcterms:date` (decision date): both are kept. The ECLI is the identity.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from feedwatch.core.connectors import Page, Record, parse_xml, utc
from feedwatch.types import ConnectorQuery

PAGE_SIZE = 100  # the service allows up to 1000
PAUSE = 0.1  # at most 10 requests a second (clients' cap, 2.5); "don't hammer the server"
_TITLE_DATE = re.compile(r",\s*(\d{2})-(\d{2})-(\d{4})\s*(?:,|$)")


def first_url(base: str, q: ConnectorQuery, cursor: str | None, *, page_size: int) -> str:
    params: list[tuple[str, str]] = [("type", t) for t in (q.types or ("Uitspraak",))]
    params += [("creator", c) for c in q.creators]
    params += [("subject", s) for s in q.subjects]  # '#' sent as %23 (2.5: C)
    since = cursor or (q.since.isoformat() if q.since else None)
    if since:
        params.append(("modified", since))
    params += [("return", "DOC"), ("sort", "ASC"), ("max", str(page_size)), ("from", "0")]
    return f"{base.rstrip('/')}/zoeken?{urlencode(params, quote_via=quote, safe='')}"


def meta_url(base: str, ecli: str) -> str:
    return f"{base.rstrip('/')}/content?id={quote(ecli, safe=':')}&return=META"


def _local(el: Any) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(el: Any, name: str) -> str:
    for sub in el:
        if _local(sub) == name:
            return " ".join("".join(sub.itertext()).split())
    return ""


def decision_date_from_title(title: str) -> str | None:
    """The dd-mm-yyyy in a search title, as YYYY-MM-DD."""
    m = _TITLE_DATE.search(title)
    return f"{m[3]}-{m[2]}-{m[1]}" if m else None


def _next(url: str, offset: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "from"]
    query.append(("from", str(offset)))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="")))


def parse(body: bytes, key: str, url: str) -> Page:
    """One search page (Atom)."""
    root = parse_xml(body, key, "Rechtspraak search")
    records: list[Record] = []
    cursor: datetime | None = None
    cursor_text: str | None = None
    entries = [el for el in root if _local(el) == "entry"]
    for entry in entries:
        ecli = _child_text(entry, "id").upper()
        if not ecli.startswith("ECLI:"):
            continue
        updated = _child_text(entry, "updated")
        when = utc(updated)
        if when is not None and (cursor is None or when > cursor):
            cursor, cursor_text = when, updated
        title = _child_text(entry, "title") or ecli
        link = ""
        for sub in entry:
            if _local(sub) == "link" and sub.get("href"):
                link = str(sub.get("href"))
                break
        details = {"modified": updated}
        decided = decision_date_from_title(title)
        if decided:
            details["decision_date"] = decided
        records.append(
            Record(
                guid=ecli,
                title=title,
                url=link or f"https://uitspraken.rechtspraak.nl/details?id={quote(ecli, safe=':')}",
                summary=_child_text(entry, "summary"),
                published=None,  # from the metadata (dcterms:issued)
                updated=when,
                doc_kind="Uitspraak",
                entities=(f"ecli:{ecli}",),
                details=details,
                deleted=entry.get("deleted") is not None,
            )
        )
    offset = int(dict(parse_qsl(urlsplit(url).query)).get("from", "0") or 0)
    size = int(dict(parse_qsl(urlsplit(url).query)).get("max", "0") or 0)
    full = size > 0 and len(entries) >= size
    return Page(
        records=tuple(records),
        next_url=_next(url, offset + len(entries)) if full else None,
        cursor=cursor_text,
    )


def parse_meta(body: bytes, key: str) -> dict[str, str]:
    """issued (publication date), date (decision date), modified and zaaknummer of a ruling."""
    root = parse_xml(body, key, "Rechtspraak metadata")
    out: dict[str, str] = {}
    for el in root.iter():
        name = _local(el)
        if name in ("issued", "date", "modified", "zaaknummer") and name not in out:
            text = " ".join("".join(el.itertext()).split())
            if text:
                out[name] = text
    return out
