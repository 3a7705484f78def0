"""The pages: each handler reads the store through Store's view queries and renders a template.

GET handlers are plain functions (Starlette runs them in its thread pool, beside the event
loop); POST handlers read the form body first, then write through the same store functions as
the command line (`feedwatch label`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from feedwatch.app.web.charts import bar_chart, bars_svg, spark_svg, sparkline
from feedwatch.app.web.i18n import (
    Messages,
    date_filter,
    day_start,
    fmt_date,
    fmt_datetime,
    local,
    pick_lang,
    week_start,
    weeks_back,
    why_line,
)
from feedwatch.app.web.labels import classifier_version, clear_label, set_label, topic_rows
from feedwatch.app.web.security import (
    MAX_FORM,
    csrf_ok,
    csrf_value,
    is_authed,
    safe_next,
    token_mark,
    token_matches,
)
from feedwatch.core.digest import safe_url
from feedwatch.core.entities import entity_url
from feedwatch.core.export import FeedInfo, write_atom
from feedwatch.edges.store.views import Cursor, PageQuery, PageRow, SourceView

CHART_WEEKS = 52
SPARK_WEEKS = 12
FAILED_LOGIN_PAUSE = 0.5  # seconds
LANG_COOKIE = "feedwatch_lang"


def _web(request: Request) -> Any:
    return request.app.state.web


def _lang(request: Request) -> str:
    return pick_lang(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    web = _web(request)
    lang = _lang(request)
    t = Messages(lang)
    other = "en" if lang == "nl" else "nl"
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    authed = "session" in request.scope and is_authed(request, web.settings.token)
    base = {
        "t": t,
        "lang": lang,
        "other_lang": other,
        "lang_url": request.url.path + "?" + urlencode([*query, ("lang", other)]),
        "path": request.url.path,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "authed": authed,
        "can_write": bool(web.settings.token),
        "csrf": csrf_value(request) if "session" in request.scope else "",
        "topics": web.topics.topics,
        "topic_title": web.topic_title,
        "dt": lambda v: fmt_datetime(v, lang, t.never),
        "day": lambda v: fmt_date(v, lang),
        "why_line": lambda line: why_line(line, lang),
        "iso": lambda v: v.astimezone(UTC).isoformat() if v else "",
        "section": "",
    }
    base.update(context)
    body = web.templates.get_template(template).render(base)
    response = HTMLResponse(body, status_code=status)
    response.headers["cache-control"] = "no-store"
    chosen = request.query_params.get("lang")
    if chosen in ("nl", "en"):
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="lax")
    return response


def error_page(request: Request, status: int, detail: str | None) -> Response:
    t = Messages(_lang(request))
    title, text_ = {
        404: (t.not_found, t.not_found_text),
        403: (t.forbidden, t.forbidden_text),
        500: (t.server_error, t.server_error_text),
    }.get(status, (t.bad_request, ""))
    if detail and status not in (404, 403, 500) and detail != title:
        text_ = detail
    return render(request, "error.html", status=status, title=title, message=text_)


def _read_allowed(request: Request) -> None:
    web = _web(request)
    if not web.settings.read_open and not is_authed(request, web.settings.token):
        target = "/login?" + urlencode({"next": request.url.path})
        raise _Redirect(target)


class _Redirect(HTTPException):
    def __init__(self, location: str) -> None:
        super().__init__(303, location)
        self.location = location


def _guard(handler: Any) -> Any:
    """Reading pages: redirect to the login form where reading needs a login."""

    def wrapped(request: Request) -> Response:
        try:
            _read_allowed(request)
            response: Response = handler(request)
            return response
        except _Redirect as r:
            return RedirectResponse(r.location, status_code=303)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


# --------------------------------------------------------------------------------- overview


@dataclass(frozen=True, slots=True)
class TopicChart:
    key: str
    title: str
    today: int
    week: int
    chart: Any
    svg: Any


@_guard
def overview(request: Request) -> Response:
    """New items per topic today and this week, a year of weeks per topic, sources to look at."""
    web = _web(request)
    lang = _lang(request)
    now = datetime.now(UTC)
    today = web.store.topic_counts(day_start(now), now)
    weeks = weeks_back(now, CHART_WEEKS)
    series = web.counts.series("topic", weeks, now)
    this_week = series[-1]  # the current week (at most `live_ttl` seconds old)
    labels = [fmt_date(start, lang) for start, _end in weeks]
    t = Messages(lang)
    charts = []
    for topic in web.topics.topics:
        values = [counts.get(topic.key, 0) for counts in series]
        bar_labels = [
            f"{Messages(lang).week_of} {label}: {v}"
            for label, v in zip(labels, values, strict=True)
        ]
        chart = bar_chart(values, bar_labels)
        caption = f"{topic.title}: {t.per_week.lower()}; {t.max} {chart.peak}"
        charts.append(
            TopicChart(
                topic.key,
                topic.title,
                today.get(topic.key, 0),
                this_week.get(topic.key, 0),
                chart,
                bars_svg(chart, caption, f"chart-{topic.key}"),
            )
        )
    views = web.store.source_views()
    notes = web.health.notes(now, lang)
    disabled = [v for v in views if not v.enabled and v.disabled_reason]
    names = {v.key: v.name for v in views}
    return render(
        request,
        "overview.html",
        section="overview",
        title=Messages(lang).overview,
        charts=charts,
        notes=list(notes.values()),
        disabled=disabled,
        names=names,
        today_since=local(now).date().isoformat(),
        week_since=local(week_start(now)).date().isoformat(),
        first_week=labels[0],
        last_week=labels[-1],
    )


# ------------------------------------------------------------------------ lists of items


def _cursor_text(c: Cursor) -> str:
    return "~".join((c.when.isoformat(), c.first_seen.isoformat(), c.id))


def _cursor(value: str | None) -> Cursor | None:
    if not value:
        return None
    parts = value.split("~", 2)
    if len(parts) != 3:
        return None
    try:
        when, first = datetime.fromisoformat(parts[0]), datetime.fromisoformat(parts[1])
    except ValueError:
        return None
    if when.tzinfo is None or first.tzinfo is None or not parts[2] or len(parts[2]) > 64:
        return None
    return Cursor(when.astimezone(UTC), first.astimezone(UTC), parts[2])


@dataclass(frozen=True, slots=True)
class Listing:
    rows: list[PageRow]
    next_url: str | None
    first_url: str | None
    atom_url: str
    since: str
    until: str
    source: str
    topic: str
    errors: list[str]


def _listing(request: Request, *, topic: str | None, source: str | None, base: str) -> Listing:
    web = _web(request)
    t = Messages(_lang(request))
    qp = request.query_params
    dates = date_filter(qp, t)
    errors: list[str] = list(dates.errors)
    since, until, since_s, until_s = (
        dates.since,
        dates.until,
        dates.since_text,
        dates.until_text,
    )
    chosen_source = source or qp.get("source", "").strip() or None
    chosen_topic = topic or qp.get("topic", "").strip() or None
    if chosen_topic is not None and chosen_topic not in web.topics:
        chosen_topic = None
    before = _cursor(qp.get("before"))
    rows, nxt = web.store.item_page(
        PageQuery(
            topic=chosen_topic,
            source=chosen_source,
            since=since,
            until=until,
            before=before,
            limit=web.settings.page_size,
        )
    )
    keep = [
        (k, v)
        for k, v in (
            ("since", since_s),
            ("until", until_s),
            ("source", "" if source else (chosen_source or "")),
            ("topic", "" if topic else (chosen_topic or "")),
        )
        if v
    ]
    next_url = base + "?" + urlencode([*keep, ("before", _cursor_text(nxt))]) if nxt else None
    first_url = (base + ("?" + urlencode(keep) if keep else "")) if before else None
    here = [*keep, *([("before", qp["before"])] if before else [])]
    atom_url = base + "/atom" + ("?" + urlencode(here) if here else "")
    return Listing(
        rows,
        next_url,
        first_url,
        atom_url,
        since_s,
        until_s,
        "" if source else (chosen_source or ""),
        "" if topic else (chosen_topic or ""),
        errors,
    )


def _names(request: Request) -> dict[str, str]:
    return {v.key: v.name for v in _web(request).store.source_views()}


@_guard
def topic_page(request: Request) -> Response:
    """One topic's items, newest first, paged, filterable by date and source."""
    web = _web(request)
    topic = request.path_params["topic"]
    if topic not in web.topics:
        raise HTTPException(404)
    listing = _listing(request, topic=topic, source=None, base=f"/topics/{topic}")
    views = web.store.source_views()
    return render(
        request,
        "items.html",
        section=f"topic:{topic}",
        title=web.topic_title(topic),
        description=web.topics.get(topic).description,
        listing=listing,
        names={v.key: v.name for v in views},
        source_choices=[(v.key, v.name) for v in views],
        topic_choices=[],
        source_view=None,
    )


@_guard
def source_page(request: Request) -> Response:
    """One source's items, newest first, paged, filterable by date and topic, with its health."""
    web = _web(request)
    key = request.path_params["key"]
    views = web.store.source_views()
    view = next((v for v in views if v.key == key), None)
    if view is None:
        raise HTTPException(404)
    lang = _lang(request)
    listing = _listing(request, topic=None, source=key, base=f"/sources/{key}")
    note = web.health.notes(datetime.now(UTC), lang, [key]).get(key)
    return render(
        request,
        "items.html",
        section="sources",
        title=view.name,
        description=view.organisation,
        listing=listing,
        names={v.key: v.name for v in views},
        source_choices=[],
        topic_choices=[(tp.key, tp.title) for tp in web.topics.topics],
        source_view=view,
        source_url=safe_url(view.url),
        note=note,
    )


def _atom(request: Request, *, topic: str | None, source: str | None, title: str) -> Response:
    base = f"/topics/{topic}" if topic else f"/sources/{source}"
    listing = _listing(request, topic=topic, source=source, base=base)
    out = io.StringIO()
    own = str(request.url)
    write_atom(
        listing.rows,
        out,
        FeedInfo(
            title=f"feedwatch: {title}",
            id=f"tag:feedwatch,2026:web:{base}",
            self_url=own,
            home_url=str(request.url.replace(path=base)),
            source_names=_names(request),
        ),
    )
    return Response(out.getvalue(), media_type="application/atom+xml; charset=utf-8")


@_guard
def topic_atom(request: Request) -> Response:
    web = _web(request)
    topic = request.path_params["topic"]
    if topic not in web.topics:
        raise HTTPException(404)
    return _atom(request, topic=topic, source=None, title=web.topic_title(topic))


@_guard
def source_atom(request: Request) -> Response:
    key = request.path_params["key"]
    names = _names(request)
    if key not in names:
        raise HTTPException(404)
    return _atom(request, topic=None, source=key, title=names[key])


# ------------------------------------------------------------------------------------ item


@dataclass(frozen=True, slots=True)
class Decision:
    key: str
    title: str
    assigned: bool
    score: float | None  # None: no stored decision (the item was never scored on this topic)
    threshold: float | None  # the stored decision's own (a rule score or a model probability)
    terms: tuple[str, ...]
    manual: bool | None  # None: no human decision
    configured: bool


def _decisions(request: Request, item_id: str) -> tuple[list[Decision], bool]:
    """Every topic's decision on the item, as `feedwatch why` shows it; and whether the rules
    have scored the item at all."""
    web = _web(request)
    rows = topic_rows(web.store, item_id)
    manual = {r.topic: r.assigned for r in rows if r.origin == "manual"}
    rule = {r.topic: r for r in rows if r.origin == "rule"}
    out = []
    for topic in web.topics.topics:
        r = rule.get(topic.key)
        out.append(
            Decision(
                topic.key,
                topic.title,
                manual.get(topic.key, r.assigned if r else False),
                r.score if r else None,
                r.threshold if r else None,
                r.terms if r else (),
                manual.get(topic.key),
                True,
            )
        )
    for key, assigned in sorted(manual.items()):
        if key not in web.topics:
            out.append(Decision(key, key, assigned, None, None, (), assigned, False))
    scored = bool(rows) or classifier_version(web.store, item_id) is not None
    return out, scored


@_guard
def item_page(request: Request) -> Response:
    """An item: its text, dates and their provenance, source, topics with the reasons, labels."""
    web = _web(request)
    item_id = request.path_params["item_id"]
    row = web.store.page_row(item_id)
    if row is None:
        raise HTTPException(404)
    decisions, scored = _decisions(request, item_id)
    views = {v.key: v for v in web.store.source_views()}
    it = row.item
    cited = web.store.item_entities([it.id]).get(it.id, ())
    entities = [(e, safe_url(entity_url(e))) for e in cited]
    paragraphs = [p.strip() for p in it.summary.replace("\r", "").split("\n\n") if p.strip()]
    return render(
        request,
        "item.html",
        title=it.title,
        row=row,
        item=it,
        url=safe_url(it.url),
        paragraphs=paragraphs,
        source=views.get(it.source),
        decisions=decisions,
        scored=scored,
        entities=entities,
        saved=request.query_params.get("saved") == "1",
    )


async def _form(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/x-www-form-urlencoded"
    ):
        raise HTTPException(403)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise HTTPException(413)
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400) from None


async def label_post(request: Request) -> Response:
    """Add, remove or clear a human label: with a login and this session's CSRF value only;
    otherwise 403 and nothing changes."""
    web = _web(request)
    form = await _form(request)
    if not csrf_ok(request, form) or not is_authed(request, web.settings.token):
        raise HTTPException(403)
    item_id = request.path_params["item_id"]
    topic, action = form.get("topic", ""), form.get("action", "")
    if topic not in web.topics or action not in ("add", "remove", "clear"):
        raise HTTPException(400, "topic or action not known")
    row = await run_in_threadpool(web.store.page_row, item_id)
    if row is None:
        raise HTTPException(404)
    if action == "clear":
        await run_in_threadpool(clear_label, web.store, item_id, topic)
    else:
        await run_in_threadpool(set_label, web.store, item_id, topic, action == "add")
    web.counts.forget(row.when)
    return RedirectResponse(f"/items/{item_id}?saved=1#labels", status_code=303)


# --------------------------------------------------------------------------------- sources


@dataclass(frozen=True, slots=True)
class SourceLine:
    view: SourceView
    note: Any
    items: int
    recent: int
    svg: Any


SORTS = {
    "key": lambda s: s.view.key,
    "name": lambda s: s.view.name.lower(),
    "kind": lambda s: s.view.kind,
    "last_success": lambda s: s.view.last_success_at or datetime.min.replace(tzinfo=UTC),
    "errors": lambda s: s.view.consecutive_errors,
    "week": lambda s: s.recent,
    "next_check": lambda s: s.view.next_check_at or datetime.max.replace(tzinfo=UTC),
    "items": lambda s: s.items,
}


@_guard
def sources_page(request: Request) -> Response:
    """The health of every source, sortable by column (?sort=COLUMN&dir=asc|desc)."""
    web = _web(request)
    lang = _lang(request)
    now = datetime.now(UTC)
    views = web.store.source_views()
    notes = web.health.notes(now, lang)
    weeks = weeks_back(now, SPARK_WEEKS)
    series = web.counts.series("source", weeks, now)
    totals = web.counts.items_per_source()
    lines = []
    words = Messages(lang).items_per_week
    for v in views:
        values = [counts.get(v.key, 0) for counts in series]
        svg = spark_svg(sparkline(values), f"{words}: {', '.join(map(str, values))}")
        lines.append(SourceLine(v, notes.get(v.key), totals.get(v.key, 0), sum(values), svg))
    sort = request.query_params.get("sort", "key")
    if sort not in SORTS:
        sort = "key"
    direction = request.query_params.get("dir", "asc")
    if direction not in ("asc", "desc"):
        direction = "asc"
    lines.sort(key=SORTS[sort], reverse=direction == "desc")
    return render(
        request,
        "sources.html",
        section="sources",
        title=Messages(lang).sources,
        lines=lines,
        sort=sort,
        direction=direction,
    )


# ------------------------------------------------------------------------------- login


def login_form(request: Request) -> Response:
    web = _web(request)
    return render(
        request,
        "login.html",
        title=Messages(_lang(request)).login,
        next=safe_next(request.query_params.get("next")),
        failed=False,
        can_login=bool(web.settings.token),
    )


async def login_post(request: Request) -> Response:
    web = _web(request)
    form = await _form(request)
    if not csrf_ok(request, form):
        raise HTTPException(403)
    target = safe_next(form.get("next"))
    if not token_matches(form.get("token", ""), web.settings.token):
        await anyio.sleep(FAILED_LOGIN_PAUSE)  # guessing the token gets slow
        return render(
            request,
            "login.html",
            status=403,
            title=Messages(_lang(request)).login,
            next=target,
            failed=True,
            can_login=bool(web.settings.token),
        )
    request.session.clear()  # a new session: a new CSRF value after logging in
    assert web.settings.token
    request.session["auth"] = token_mark(web.settings.token)
    return RedirectResponse(target, status_code=303)


async def logout_post(request: Request) -> Response:
    form = await _form(request)
    if not csrf_ok(request, form):
        raise HTTPException(403)
    request.session.clear()
    return RedirectResponse("/", status_code=303)


# ------------------------------------------------------------------------------- probes


def healthz(request: Request) -> Response:
    """200 when the database answers; 503 when it does not."""
    web = _web(request)
    try:
        web.store.ping()
    except Exception as exc:  # the probe reports any database failure as not ready
        return JSONResponse({"status": "error", "error": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok"})
