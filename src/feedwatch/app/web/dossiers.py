"""The dossier pages: one entity's timeline across all sources (a Kamerstuk dossier, a ruling,
a Staatscourant, a law), oldest first, paged, filtered by date and source, with an Atom feed
of what is on screen; the store query is the one `feedwatch dossier` uses."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote, urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from feedwatch.app.web.i18n import Messages, date_filter
from feedwatch.app.web.pages import _guard, _lang, _names, _web, render
from feedwatch.core.digest import safe_url
from feedwatch.core.entities import entity_url, parse_entity
from feedwatch.core.export import FeedInfo, write_atom
from feedwatch.edges.store.views import PageRow

DOSSIER_PAGE = 100


def _timeline(request: Request) -> dict[str, Any]:
    web = _web(request)
    t = Messages(_lang(request))
    try:
        entity = parse_entity(request.path_params["entity"])
    except ValueError:
        raise HTTPException(404) from None
    qp = request.query_params
    dates = date_filter(qp, t)
    errors: list[str] = list(dates.errors)
    since, until, since_s, until_s = (
        dates.since,
        dates.until,
        dates.since_text,
        dates.until_text,
    )
    source = qp.get("source", "").strip()
    try:
        page = max(int(qp.get("page", "1")), 1)
    except ValueError:
        page = 1
    everything = web.store.dossier_index(entity)
    names = _names(request)
    sources = sorted(
        {(e.source, names.get(e.source, e.source)) for e in everything}, key=lambda s: s[1]
    )
    entries = [
        e
        for e in everything
        if (since is None or e.when >= since)
        and (until is None or e.when < until)
        and (not source or e.source == source)
    ]
    page_ids = [e.id for e in entries[(page - 1) * DOSSIER_PAGE : page * DOSSIER_PAGE]]
    shown = web.store.dossier(entity, only=page_ids) if page_ids else []
    base = f"/dossiers/{quote(entity, safe=':')}"
    keep = [(k, v) for k, v in (("since", since_s), ("until", until_s), ("source", source)) if v]
    here = [*keep, *([("page", str(page))] if page > 1 else [])]
    return {
        "entity": entity,
        "rows": shown,
        "total": len(entries),
        "first": entries[0].when if entries else None,
        "last": entries[-1].when if entries else None,
        "source_choices": sources,
        "since": since_s,
        "until": until_s,
        "source": source,
        "errors": errors,
        "base": base,
        "atom_url": base + "/atom" + ("?" + urlencode(here) if here else ""),
        "next_url": base + "?" + urlencode([*keep, ("page", page + 1)])
        if len(entries) > page * DOSSIER_PAGE
        else None,
        "prev_url": base + "?" + urlencode([*keep, ("page", page - 1)]) if page > 1 else None,
    }


@_guard
def dossier_page(request: Request) -> Response:
    found = _timeline(request)
    entity = found["entity"]
    return render(
        request,
        "dossier.html",
        section="dossier",
        title=entity,
        official=safe_url(entity_url(entity)),
        **found,
    )


@_guard
def dossier_atom(request: Request) -> Response:
    found = _timeline(request)
    out = io.StringIO()
    rows = [PageRow(r.item, r.topics, {}) for r in found["rows"]]
    write_atom(
        rows,
        out,
        FeedInfo(
            title=f"feedwatch: {found['entity']}",
            id=f"tag:feedwatch,2026:web:dossier:{found['entity']}",
            self_url=str(request.url),
            home_url=str(request.url.replace(path=found["base"], query="")),
        ),
    )
    return Response(out.getvalue(), media_type="application/atom+xml; charset=utf-8")
