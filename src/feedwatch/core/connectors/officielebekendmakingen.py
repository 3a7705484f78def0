"""KOOP SRU, officiële publicaties: Kamerstukken, Staatscourant, Staatsblad (open-data.md 2.3). Pure.

Request: `<base>?operation=searchRetrieve&version=2.0&x-connection=officielepublicaties
&recordSchema=gzd&query=<CQL>&startRecord=<n>&maximumRecords=<m>`. The CQL always starts with
`c.product-area==officielepublicaties`; then the day from which changes are read
(`dt.modified>=`, the cursor: the day of the last complete run, or `since`), and what is followed
(`dt.type`, `dt.creator`, dossier numbers, title words). Records: `originalData/meta`'s
`owmskern` identifier, title, type and creator, `owmsmantel` date, and `enrichedData/preferredUrl`
(else https://zoek.officielebekendmakingen.nl/<identifier>).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from feedwatch.core.connectors import Page, Record, parse_xml, utc
from feedwatch.core.entities import find_entities
from feedwatch.types import ConnectorQuery

PAGE_SIZE = 100
PAUSE = 0.5  # no documented limit; one request at a time, half a second apart (our choice)


def _cql_text(text: str) -> str:
    return '"' + text.replace("\\", "").replace('"', "") + '"'


def cql(q: ConnectorQuery, cursor: str | None) -> str:
    parts = ["c.product-area==officielepublicaties"]
    since = cursor or (q.since.isoformat() if q.since else None)
    if since:
        parts.append(f"dt.modified>={since}")
    what = [f"w.dossiernummer=={n}" for n in q.dossiers]
    what += [f"dt.title any {_cql_text(w)}" for w in q.words]
    if what:
        parts.append("(" + " OR ".join(what) + ")")
    if q.types:
        parts.append("(" + " OR ".join(f"dt.type={_cql_text(t)}" for t in q.types) + ")")
    if q.creators:
        parts.append("(" + " OR ".join(f"dt.creator={_cql_text(c)}" for c in q.creators) + ")")
    return " AND ".join(parts)


def first_url(base: str, q: ConnectorQuery, cursor: str | None, *, page_size: int) -> str:
    params = {
        "operation": "searchRetrieve",
        "version": "2.0",
        "x-connection": "officielepublicaties",
        "recordSchema": "gzd",
        "query": cql(q, cursor),
        "startRecord": "1",
        "maximumRecords": str(page_size),
    }
    return f"{base}?{urlencode(params, quote_via=quote)}"


def _local(el: Any) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _first(el: Any, name: str) -> Any:
    for sub in el.iter():
        if _local(sub) == name:
            return sub
    return None


def _text(el: Any, name: str) -> str:
    found = _first(el, name)
    return " ".join("".join(found.itertext()).split()) if found is not None else ""


def _with_start(url: str, start: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "startRecord"]
    query.append(("startRecord", str(start)))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def parse(body: bytes, key: str, url: str) -> Page:
    """One searchRetrieve response (SRU 1.2 or 2.0; namespaces by local name)."""
    root = parse_xml(body, key, "SRU")
    total_text = _text(root, "numberOfRecords")
    total = int(total_text) if total_text.isdigit() else None
    records: list[Record] = []
    for rec in (el for el in root.iter() if _local(el) == "record"):
        meta = _first(rec, "originalData")
        if meta is None:
            continue
        ident = _text(meta, "identifier")
        if not ident:
            continue
        preferred = _text(rec, "preferredUrl")
        when = _text(meta, "date") or _text(meta, "available")
        doc_type = _text(meta, "type")
        title = _text(meta, "title") or ident
        records.append(
            Record(
                guid=ident,
                title=title,
                url=preferred or f"https://zoek.officielebekendmakingen.nl/{quote(ident)}",
                summary=_text(meta, "abstract") or _text(meta, "description"),
                published=utc(when[:10]) if when else None,
                doc_kind=doc_type or "publicatie",
                entities=find_entities(ident),
                details={"creator": _text(meta, "creator"), "identifier": ident},
            )
        )
    nxt_text = _text(root, "nextRecordPosition")
    start = int(dict(parse_qsl(urlsplit(url).query)).get("startRecord", "1") or 1)
    nxt: str | None = None
    if nxt_text.isdigit() and int(nxt_text) > start:
        nxt = _with_start(url, int(nxt_text))
    elif not nxt_text and total is not None and records and start + len(records) <= total:
        nxt = _with_start(url, start + len(records))
    return Page(records=tuple(records), next_url=nxt, total=total)


def today_cursor(today: date) -> str:
    return today.isoformat()
