"""The search page: the query language of `feedwatch search`, filtered by source, topic and
date, best matches or newest first, paged, with highlighted snippets and an Atom feed of what
is on screen. A malformed query is a message with its position (400), never a traceback."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response

from feedwatch.app.web.i18n import Messages, date_filter
from feedwatch.app.web.pages import _guard, _lang, _names, _web, render
from feedwatch.core.export import FeedInfo, write_atom
from feedwatch.core.search.message import MARK, snippet
from feedwatch.core.search.query import Node, QueryError, parse_query
from feedwatch.edges.store import ItemQuery
from feedwatch.edges.store.search import SearchFilters, search_ids
from feedwatch.edges.store.views import PageRow
from feedwatch.types import ItemRow

SEARCH_PAGE = 20
MAX_PAGE = 50  # deeper pages ask for too many ranked ids at once
# Source text may hold « and » itself: they stand in as these private-use characters while the
# snippet is made, so that only the snippet's own marks become <mark>.
_HIDE = str.maketrans({MARK[0]: "\ue000", MARK[1]: "\ue001"})
_SHOW = str.maketrans({"\ue000": MARK[0], "\ue001": MARK[1]})


def highlighted(title: str, summary: str, node: Node | None, lang: str | None) -> Markup:
    """The snippet as HTML: every piece of source text escaped, the matches in <mark>."""
    text = snippet(title.translate(_HIDE), summary.translate(_HIDE), node, lang)
    out: list[str] = []
    for i, part in enumerate(text.split(MARK[0])):
        inside, _, after = part.partition(MARK[1]) if i else ("", "", part)
        if inside:
            out.append(f"<mark>{escape(inside.translate(_SHOW))}</mark>")
        out.append(str(escape(after.translate(_SHOW))))
    return Markup("".join(out))


@dataclass(frozen=True, slots=True)
class Hit:
    row: ItemRow
    when: Any
    snippet: Markup


def _results(request: Request) -> dict[str, Any]:
    web = _web(request)
    lang = _lang(request)
    t = Messages(lang)
    qp = request.query_params
    q = qp.get("q", "").strip()
    source, topic = qp.get("source", "").strip(), qp.get("topic", "").strip()
    sort = "date" if qp.get("sort") == "date" else "rank"
    dates = date_filter(qp, t)
    errors: list[str] = list(dates.errors)
    since, until, since_s, until_s = (
        dates.since,
        dates.until,
        dates.since_text,
        dates.until_text,
    )
    try:
        page = min(max(int(qp.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        page = 1
    keep = [
        (k, v)
        for k, v in (
            ("q", q),
            ("source", source),
            ("topic", topic),
            ("since", since_s),
            ("until", until_s),
            ("sort", sort if sort == "date" else ""),
        )
        if v
    ]
    found: dict[str, Any] = {
        "q": q,
        "source": source,
        "topic": topic,
        "since": since_s,
        "until": until_s,
        "sort": sort,
        "errors": errors,
        "query_error": None,
        "hits": [],
        "names": _names(request),
        "atom_url": None,
        "next_url": None,
        "prev_url": None,
        "page": page,
    }
    if not q:
        return found
    try:
        node = parse_query(q)
    except QueryError as exc:
        found["query_error"] = exc
        return found
    filters = SearchFilters(
        topics=(topic,) if topic else (),
        sources=(source,) if source else (),
        since=since,
        until=until,
    )
    ids = search_ids(web.store.engine, node, filters, limit=page * SEARCH_PAGE + 1, sort=sort)
    shown = ids[(page - 1) * SEARCH_PAGE : page * SEARCH_PAGE]
    rows = {
        r.item.id: r for r in web.store.iter_items(ItemQuery(ids=tuple(h.item_id for h in shown)))
    }
    hits = []
    for h in shown:
        row = rows.get(h.item_id)
        if row is None:
            continue
        it = row.item
        hits.append(
            Hit(
                row, it.published or it.first_seen, highlighted(it.title, it.summary, node, it.lang)
            )
        )
    here = [*keep, *([("page", str(page))] if page > 1 else [])]
    found.update(
        hits=hits,
        atom_url="/search/atom?" + urlencode(here),
        next_url="/search?" + urlencode([*keep, ("page", page + 1)])
        if len(ids) > page * SEARCH_PAGE and page < MAX_PAGE
        else None,
        prev_url="/search?" + urlencode([*keep, ("page", page - 1)]) if page > 1 else None,
    )
    return found


@_guard
def search_page(request: Request) -> Response:
    found = _results(request)
    t = Messages(_lang(request))
    error = found["query_error"]
    pointer = None
    if error is not None:
        pointer = (error.query or found["q"], max(error.position, 1))
    return render(
        request,
        "search.html",
        status=400 if error is not None else 200,
        section="search",
        title=f"{t.search}: {found['q']}" if found["q"] else t.search,
        pointer=pointer,
        **found,
    )


@_guard
def search_atom(request: Request) -> Response:
    found = _results(request)
    if found["query_error"] is not None:
        return Response(str(found["query_error"]), status_code=400, media_type="text/plain")
    out = io.StringIO()
    rows = [PageRow(h.row.item, h.row.topics, {}) for h in found["hits"]]
    write_atom(
        rows,
        out,
        FeedInfo(
            title=f"feedwatch: {found['q']}",
            id="tag:feedwatch,2026:web:search:" + urlencode([("q", found["q"])]),
            self_url=str(request.url),
            home_url=str(request.url.replace(path="/search")),
        ),
    )
    return Response(out.getvalue(), media_type="application/atom+xml; charset=utf-8")
