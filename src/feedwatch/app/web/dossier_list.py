"""The dossiers page: the Kamerstuk dossiers, rulings, Staatscourant and Staatsblad publications,
laws and EU acts that stored items cite most in a recent period, each a link to its timeline,
and a box that opens any dossier by its reference (``36704``, ``kamerstuk 36704``,
``ECLI:NL:RVS:2026:7012``).

The counts come from `Store.entity_counts` (what `feedwatch entities` prints). Counting joins
the citations of the period (a recent period is read through the date indexes), so an answer is
kept per (period, kind) and counted again in the background after a minute: the page stays fast
on a large store, and a new citation shows within about a minute.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from feedwatch.app.web.i18n import Messages
from feedwatch.app.web.kept import Kept
from feedwatch.app.web.pages import _guard, _lang, _web, render
from feedwatch.core.digest import safe_url
from feedwatch.core.entities import KINDS, entity_url, parse_entity
from feedwatch.edges.store import Store
from feedwatch.edges.store.entities import EntityCount

PERIODS: dict[str, int | None] = {"30": 30, "90": 90, "365": 365, "all": None}
DEFAULT_PERIOD = "90"
LIMIT = 100
TTL = 60.0  # seconds an answer is kept


class DossierCounts:
    """(period, kind) -> the counts, kept and refreshed as `Kept` does."""

    def __init__(self, store: Store, ttl: float = TTL) -> None:
        self._store = store
        self._kept: Kept[tuple[str, str], list[EntityCount]] = Kept(
            self._count, ttl=ttl, what="the dossiers' counts"
        )

    def close(self) -> None:
        self._kept.close()

    def _count(self, key: tuple[str, str]) -> list[EntityCount]:
        period, kind = key
        days = PERIODS[period]
        since = datetime.now(UTC) - timedelta(days=days) if days else None
        return self._store.entity_counts(kind=kind or None, since=since, limit=LIMIT)

    def get(self, period: str, kind: str) -> list[EntityCount]:
        return self._kept.get((period, kind))


def lookup(text: str) -> str:
    """What a person types in the box -> the stored form of an entity, or ValueError.

    ``kamerstuk:36704`` and ``ECLI:NL:RVS:2026:7012`` as they are; a bare dossier number is a
    Kamerstuk dossier; ``ECLI:...`` is a ruling; ``kamerstuk 36704`` reads as ``kamerstuk:36704``.
    """
    text = " ".join(text.split())
    if not text:
        raise ValueError("empty")
    upper = text.upper()
    if upper.startswith("ECLI:"):
        return parse_entity("ecli:" + text)
    head, _, rest = text.partition(" ")
    if ":" not in head and rest and head.lower() in KINDS:
        return parse_entity(f"{head}:{rest}")
    if ":" not in text and text.replace(" ", "").isdigit():
        return parse_entity("kamerstuk:" + text)
    return parse_entity(text)


@_guard
def dossiers_page(request: Request) -> Response:
    t = Messages(_lang(request))
    qp = request.query_params
    errors: list[str] = []
    wanted = qp.get("q", "").strip()
    if wanted:
        try:
            entity = lookup(wanted)
        except ValueError as exc:
            errors.append(t("bad_entity", value=wanted, message=str(exc)))
        else:
            return RedirectResponse(f"/dossiers/{quote(entity, safe=':')}", status_code=303)
    period = qp.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    kind = qp.get("kind", "")
    if kind not in KINDS:
        kind = ""
    rows: list[dict[str, Any]] = [
        {
            "entity": c.entity,
            "kind": c.entity.partition(":")[0],
            "ref": c.entity.partition(":")[2],
            "href": "/dossiers/" + quote(c.entity, safe=":"),
            "cited": c.items,
            "sources": c.sources,
            "first": c.first,
            "last": c.last,
            "official": safe_url(entity_url(c.entity)),
        }
        for c in _web(request).dossier_counts.get(period, kind)
    ]
    return render(
        request,
        "dossiers.html",
        section="dossiers",
        title=t.dossiers,
        rows=rows,
        kinds=KINDS,
        kind=kind,
        period=period,
        periods=list(PERIODS),
        q=wanted,
        errors=errors,
        limit=LIMIT,
    )
