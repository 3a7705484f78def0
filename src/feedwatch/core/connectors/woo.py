"""open.overheid.nl: Woo decisions and other actively published documents (open-data.md 2.4). Pure.

List: `<base>/zoek?zoektekst=<words>&start=<n>&aantalResultaten=<m>&sort=laatst-gewijzigd`
(newest change first) and, on a first run, `publicatiedatumVan=dd-mm-yyyy`. Response
`{"totaal": N, "resultaten": [{"document": {id, pid, titel, omschrijving, openbaarmakingsdatum,
publisher, mutatiedatumtijd}, ...}]}`. Reading stops at the cursor (the newest
`mutatiedatumtijd` of the last complete run) or at the end. The responsible ministry is matched on
our side (`publisher`; no server-side parameter is known, C). Detail: `<base>/zoek/<id>`, whose
`versies[].bestanden[].hash` is kept as evidence of what was published.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from feedwatch.core.connectors import Page, Record, parse_json, utc
from feedwatch.errors import ExtractError
from feedwatch.types import ConnectorQuery

PAGE_SIZE = 50
PAUSE = 0.25  # tkconv: 250 ms between list pages, 1 s between detail fetches (2.4)
DETAIL_PAUSE = 1.0


def first_url(base: str, q: ConnectorQuery, cursor: str | None, *, page_size: int) -> str:
    params = [
        ("zoektekst", " ".join(q.words)),
        ("start", "0"),
        ("aantalResultaten", str(page_size)),
        ("sort", "laatst-gewijzigd"),
    ]
    if cursor is None and q.since is not None:
        params.append(("publicatiedatumVan", _dmy(q.since)))
    return f"{base.rstrip('/')}/zoek?{urlencode(params, quote_via=quote)}"


def detail_url(base: str, ident: str) -> str:
    return f"{base.rstrip('/')}/zoek/{quote(ident, safe='')}"


def _dmy(d: date) -> str:
    return d.strftime("%d-%m-%Y")


def _next(url: str, start: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "start"]
    query.append(("start", str(start)))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def matches_publisher(publisher: str, wanted: tuple[str, ...]) -> bool:
    """Whether a list entry's publisher is one of `wanted` (case-insensitive, in its text)."""
    if not wanted:
        return True
    text = publisher.lower()
    return any(w.lower() in text for w in wanted)


def parse(
    body: bytes, key: str, url: str, *, cursor: str | None, publishers: tuple[str, ...]
) -> Page:
    """One list page. `next_url` is None at the end or once an entry at or before `cursor`
    (a `mutatiedatumtijd`) is reached; entries of other publishers are left out."""
    data = parse_json(body, key, "open.overheid.nl")
    if not isinstance(data, dict) or not isinstance(data.get("resultaten"), list):
        raise ExtractError(key, "open.overheid.nl: no 'resultaten' list in the answer")
    stop_at = utc(cursor) if cursor else None
    records: list[Record] = []
    newest: str | None = None
    reached = False
    rows = data["resultaten"]
    for row in rows:
        doc = row.get("document") if isinstance(row, dict) else None
        if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
            continue
        changed = str(doc.get("mutatiedatumtijd") or "")
        when_changed = utc(changed)
        if when_changed is not None and (newest is None or when_changed > utc(newest)):  # type: ignore[operator]
            newest = changed
        if stop_at is not None and when_changed is not None and when_changed <= stop_at:
            reached = True
            continue
        if not matches_publisher(str(doc.get("publisher") or ""), publishers):
            continue
        pid = str(doc.get("pid") or "")
        details = {"publisher": str(doc.get("publisher") or ""), "modified": changed}
        # the detail is asked by the document's uuid: the last part of its pid; the list's
        # `id` may carry a version suffix ("eef2..._1", 2.4) (C)
        details["uuid"] = pid.rstrip("/").rsplit("/", 1)[-1] if pid else doc["id"]
        for name in ("bestandsType", "bestandsgrootte"):
            if isinstance(row.get(name), str | int):
                details[name] = str(row[name])
        records.append(
            Record(
                guid=doc["id"],
                title=str(doc.get("titel") or doc["id"]),
                url=pid if pid.startswith(("http://", "https://")) else "",
                summary=str(doc.get("omschrijving") or ""),
                published=utc(str(doc.get("openbaarmakingsdatum") or "")),
                updated=when_changed,
                doc_kind="Woo-publicatie",
                details=details,
            )
        )
    start = int(dict(parse_qsl(urlsplit(url).query)).get("start", "0") or 0)
    total = data.get("totaal") if isinstance(data.get("totaal"), int) else None
    more = bool(rows) and (total is None or start + len(rows) < total)
    return Page(
        records=tuple(records),
        next_url=_next(url, start + len(rows)) if more and not reached else None,
        cursor=newest,
        total=total,
    )


def parse_detail(body: bytes, key: str) -> dict[str, str]:
    """The document kind, responsible body and file hash of a detail answer."""
    data = parse_json(body, key, "open.overheid.nl detail")
    out: dict[str, str] = {}
    if not isinstance(data, dict):
        return out
    if isinstance(data.get("verantwoordelijke"), str):
        out["responsible"] = data["verantwoordelijke"]
    classes = data.get("classificatiecollectie")
    if isinstance(classes, dict):
        kinds = classes.get("documentsoorten")
        if isinstance(kinds, list) and kinds:
            first: Any = kinds[0]
            label = first.get("label") if isinstance(first, dict) else first
            if isinstance(label, str):
                out["doc_kind"] = label
    hashes: list[str] = []
    for version in data.get("versies") or ():
        if not isinstance(version, dict):
            continue
        for f in version.get("bestanden") or ():
            if isinstance(f, dict) and isinstance(f.get("hash"), str):
                hashes.append(f["hash"])
    if hashes:
        out["file_hash"] = hashes[-1]  # the newest version's file
    return out
