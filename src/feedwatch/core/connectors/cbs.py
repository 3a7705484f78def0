"""CBS StatLine, OData v3 (ODataApi): new figures of a table such as 83102NED (open-data.md 2.8). Pure.

Requests: `<base>/<table>/TableInfos` (its `Modified`: the cursor; unchanged means no new
figures) and `<base>/<table>/TypedDataSet?$filter=startswith(Geslacht,'T001038') and
startswith(Leeftijd,'10000') and startswith(Nationaliteit,'T001059')` (the totals; codes are
space-padded, hence startswith), paged with `odata.nextLink` when the service gives one. One
record per period (`2026MM03` a month, `2025JJ00` a year) from `since` on, whose title and
summary state the figures and the change against the same period a year earlier.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urljoin

from feedwatch.core.connectors import Page, Record, parse_json, utc
from feedwatch.errors import ExtractError
from feedwatch.types import ConnectorQuery

PAUSE = 0.5  # no documented limit; one request at a time (our choice)
TOTALS_83102NED = (
    "startswith(Geslacht,'T001038') and startswith(Leeftijd,'10000') "
    "and startswith(Nationaliteit,'T001059')"
)
MEASURES_83102NED = {
    "TotaalAsielverzoeken_1": "asielverzoeken",
    "EersteAsielverzoekenPersonen_2": "eerste asielverzoeken",
    "VolgendeAsielverzoeken_3": "volgende asielverzoeken",
    "NareizigersPersonen_4": "nareizigers",
}
_MONTHS = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]
_PERIOD = re.compile(r"^(\d{4})(MM|KW|JJ)(\d{2})$")


def info_url(base: str, table: str) -> str:
    return f"{base.rstrip('/')}/{quote(table)}/TableInfos"


def data_url(base: str, table: str) -> str:
    flt = TOTALS_83102NED if table.upper() == "83102NED" else ""
    query = f"?$filter={quote(flt, safe='')}" if flt else ""
    return f"{base.rstrip('/')}/{quote(table)}/TypedDataSet{query}"


def parse_info(body: bytes, key: str) -> tuple[str | None, str]:
    """(Modified, title) of TableInfos."""
    data = parse_json(body, key, "CBS TableInfos")
    rows = data.get("value") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        raise ExtractError(key, "CBS TableInfos: no 'value' row in the answer")
    row = rows[0]
    modified = row.get("Modified")
    title = row.get("ShortTitle") or row.get("Title") or ""
    return (modified if isinstance(modified, str) else None), str(title)


def parse_rows(body: bytes, key: str, url: str) -> tuple[list[dict[str, Any]], str | None]:
    """The rows of one TypedDataSet page and the next page (odata.nextLink), if any."""
    data = parse_json(body, key, "CBS TypedDataSet")
    rows = data.get("value") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ExtractError(key, "CBS TypedDataSet: no 'value' list in the answer")
    nxt = data.get("odata.nextLink") or data.get("@odata.nextLink")
    return [r for r in rows if isinstance(r, dict)], (
        urljoin(url, nxt) if isinstance(nxt, str) and nxt else None
    )


def period_label(code: str) -> str:
    m = _PERIOD.match(code.strip())
    if not m:
        return code.strip()
    year, kind, n = m[1], m[2], int(m[3])
    if kind == "MM" and 1 <= n <= 12:
        return f"{_MONTHS[n - 1]} {year}"
    if kind == "KW":
        return f"{n}e kwartaal {year}"
    return year


def period_end(code: str) -> date | None:
    m = _PERIOD.match(code.strip())
    if not m:
        return None
    year, kind, n = int(m[1]), m[2], int(m[3])
    if kind == "MM" and 1 <= n <= 12:
        return date(year, n, 1)
    if kind == "KW" and 1 <= n <= 4:
        return date(year, 3 * n - 2, 1)
    return date(year, 1, 1)


def _year_before(code: str) -> str | None:
    m = _PERIOD.match(code.strip())
    return f"{int(m[1]) - 1}{m[2]}{m[3]}" if m else None


def _number(n: float) -> str:
    return f"{n:,.0f}".replace(",", ".")


def _change(now: float, before: float | None) -> str:
    if before is None:
        return "geen cijfer een jaar eerder"
    if before == 0:
        return f"{'+' if now >= 0 else ''}{_number(now - before)} t.o.v. een jaar eerder"
    pct = (now - before) / before * 100
    return f"{pct:+.0f}% t.o.v. {_number(before)} een jaar eerder"


def records(
    rows: Sequence[Mapping[str, Any]],
    *,
    table: str,
    base: str,
    q: ConnectorQuery,
    modified: str | None,
    title: str = "",
) -> list[Record]:
    """One record per period from `since` on, with each measure and its change in a year."""
    measures = MEASURES_83102NED if table.upper() == "83102NED" else {}
    by_period: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        code = str(row.get("Perioden") or "").strip()
        if _PERIOD.match(code):
            by_period[code] = row
    if not measures and by_period:
        sample = next(iter(by_period.values()))
        measures = {
            k: re.sub(r"_\d+$", "", k)
            for k, v in sample.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and k != "ID"
        }
    published = utc(modified) if modified else None
    out: list[Record] = []
    for code in sorted(by_period):
        end = period_end(code)
        if q.since is not None and (end is None or end < q.since):
            continue
        row = by_period[code]
        before_row = by_period.get(_year_before(code) or "")
        parts: list[str] = []
        head = ""
        for column, label in measures.items():
            value = row.get(column)
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            prev = before_row.get(column) if before_row else None
            prev_n = float(prev) if isinstance(prev, int | float) else None
            text = f"{label}: {_number(float(value))} ({_change(float(value), prev_n)})"
            parts.append(text)
            if not head:
                head = f"{_number(float(value))} {label} ({_change(float(value), prev_n)})"
        if not parts:
            continue
        label = period_label(code)
        out.append(
            Record(
                guid=f"cbs:{table}:{code}",
                title=f"CBS {table}, {label}: {head}",
                url=f"https://opendata.cbs.nl/#/CBS/nl/dataset/{quote(table)}/table",
                summary=f"{title + ' — ' if title else ''}{label}: " + "; ".join(parts) + ".",
                published=published
                or (datetime(end.year, end.month, end.day, tzinfo=UTC) if end else None),
                doc_kind="cijfers",
                details={"period": code, "table": table, "modified": modified or ""},
            )
        )
    return out


def page(recs: Sequence[Record], modified: str | None) -> Page:
    return Page(records=tuple(recs), next_url=None, cursor=modified)
