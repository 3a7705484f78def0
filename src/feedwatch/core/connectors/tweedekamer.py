"""Tweede Kamer Gegevensmagazijn, OData v4: Document and Zaak (open-data.md 2.1). Pure.

Request: `<base>/<Document|Zaak>?$filter=Verwijderd eq false and <since/cursor> and (<what>)
&$orderby=GewijzigdOp asc&$top=<n>&$expand=Kamerstukdossier`; every page after the first is the
response's `@odata.nextLink`. The cursor is the newest `GewijzigdOp` read (asked again with `ge`,
so a record changed in the same instant as the last one read is not lost; the store keeps it once).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urljoin

from feedwatch.core.connectors import Page, Record, parse_json, utc
from feedwatch.errors import ExtractError
from feedwatch.types import ConnectorQuery

PAGE_SIZE = 250  # tkapi's page size (open-data.md 2.1, A); the server's own cap is C
PAUSE = 0.1  # seconds between requests (tkconv sleeps 100 ms between pages, 2.2)


def _odata_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def first_url(
    base: str, collection: str, q: ConnectorQuery, cursor: str | None, *, page_size: int
) -> str:
    """The first page's URL for `collection` (Document or Zaak) from `cursor` (or `since`)."""
    parts = ["Verwijderd eq false"]
    if cursor:
        parts.append(f"GewijzigdOp ge {cursor}")
    elif q.since is not None:
        parts.append(f"GewijzigdOp ge {_day(q.since)}")
    what: list[str] = [f"Kamerstukdossier/any(d: d/Nummer eq {n})" for n in q.dossiers]
    for word in q.words:
        w = _odata_text(word)
        what.append(f"contains(Titel,{w}) or contains(Onderwerp,{w})")
    if q.committee:
        actor = (
            "a: a/Relatie eq 'Voortouwcommissie' and "
            f"(a/ActorNaam eq {_odata_text(q.committee)} or a/ActorAfkorting eq "
            f"{_odata_text(q.committee)})"
        )
        what.append(
            f"ZaakActor/any({actor})"
            if collection == "Zaak"
            else f"Zaak/any(z: z/ZaakActor/any({actor}))"
        )
    if what:
        parts.append("(" + " or ".join(f"({w})" for w in what) + ")")
    if q.types:
        parts.append("(" + " or ".join(f"Soort eq {_odata_text(t)}" for t in q.types) + ")")
    query = (
        f"$filter={quote(' and '.join(parts), safe='')}"
        f"&$orderby={quote('GewijzigdOp asc')}&$top={page_size}&$expand=Kamerstukdossier"
    )
    return f"{base.rstrip('/')}/{collection}?{query}"


def _day(d: date) -> str:
    return f"{d.isoformat()}T00:00:00Z"


def _dossiers(row: dict[str, Any]) -> tuple[str, ...]:
    found = row.get("Kamerstukdossier")
    if isinstance(found, dict):
        found = [found]
    out = []
    for d in found or ():
        if isinstance(d, dict) and isinstance(d.get("Nummer"), int | str):
            out.append(f"kamerstuk:{str(d['Nummer']).strip()}")
    return tuple(out)


def parse(body: bytes, key: str, base: str, collection: str) -> Page:
    """One OData page: `{"value": [...], "@odata.nextLink": "..."}`."""
    data = parse_json(body, key, f"Tweede Kamer {collection}")
    if not isinstance(data, dict) or not isinstance(data.get("value"), list):
        raise ExtractError(key, f"Tweede Kamer {collection}: no 'value' list in the answer")
    records: list[Record] = []
    cursor: str | None = None
    cursor_at: datetime | None = None
    for row in data["value"]:
        if not isinstance(row, dict) or not isinstance(row.get("Id"), str):
            continue
        changed = row.get("GewijzigdOp")
        changed_at = utc(changed) if isinstance(changed, str) else None
        if changed_at is not None and (cursor_at is None or changed_at > cursor_at):
            cursor, cursor_at = str(changed), changed_at
        # Titel is the dossier's title, Onderwerp what this document or case is about: the
        # item's title says what it is about, with the dossier's title when that is short
        dossier_title = str(row.get("Titel") or "").strip()
        subject = str(row.get("Onderwerp") or "").strip()
        number = str(row.get("DocumentNummer") or row.get("Nummer") or "").strip()
        if subject and dossier_title and subject != dossier_title and len(subject) < 40:
            title, summary = f"{dossier_title} — {subject}", ""
        elif subject:
            title, summary = subject, dossier_title if dossier_title != subject else ""
        else:
            title, summary = dossier_title or number or str(row["Id"]), ""
        ident = row["Id"]
        if collection == "Document":
            url = f"{base.rstrip('/')}/Document({ident})/resource"
            when = utc(row.get("Datum")) or utc(row.get("DatumRegistratie"))
        else:
            url = f"{base.rstrip('/')}/Zaak({ident})"
            when = utc(row.get("GestartOp")) or utc(row.get("Datum"))
        details = {"collection": collection, "number": number}
        if isinstance(changed, str):
            details["modified"] = changed
        records.append(
            Record(
                guid=f"tk:{collection}:{ident}",
                title=title,
                url=url,
                summary=summary,
                published=when,
                updated=utc(changed) if isinstance(changed, str) else None,
                doc_kind=str(row.get("Soort") or collection),
                entities=_dossiers(row),
                details=details,
                deleted=row.get("Verwijderd") is True,
            )
        )
    nxt = data.get("@odata.nextLink")
    return Page(
        records=tuple(records),
        next_url=urljoin(base.rstrip("/") + "/", nxt) if isinstance(nxt, str) and nxt else None,
        cursor=cursor,
        total=data.get("@odata.count") if isinstance(data.get("@odata.count"), int) else None,
    )
