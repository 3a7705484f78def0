"""The monitor pages: every configured monitor (what it follows, its cadence, its last and next
delivery, its pending matches) and, per monitor, what it would send for the stored items, as
`feedwatch monitors test NAME` shows it: nothing is sent or recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from feedwatch.app.notify import channels_of, monitor_specs, next_run_of, preview
from feedwatch.app.web.i18n import Messages, parse_day
from feedwatch.app.web.pages import _guard, _lang, _names, _web, render
from feedwatch.config.monitors import Monitor, MonitorsConfig, load_monitors
from feedwatch.core.search.message import render_text
from feedwatch.core.search.query import query_problem
from feedwatch.edges.store import deliveries as db
from feedwatch.edges.store.search import SearchFilters, matching_ids
from feedwatch.errors import FeedwatchError

TEST_LIMIT = 50
TEST_DAYS = 7


@dataclass(frozen=True, slots=True)
class MonitorLine:
    monitor: Monitor
    channels: list[str]
    last_delivery: datetime | None
    next_run: datetime | None
    next_note: str  # instead of a time: "disabled", "on new matches", "feedwatch digest"
    pending: int
    matches: int


def _config(request: Request) -> MonitorsConfig:
    """The monitors file, read on every request (an edit shows at once); a broken file is
    the error page with the loader's message."""
    settings = _web(request).settings
    if settings.monitors_path is None:
        return MonitorsConfig(path=None)
    try:
        return load_monitors(
            settings.monitors_path,
            sources_config=settings.sources_path,
            legacy_digests=settings.sources_path is not None,
            check_query=query_problem,
        )
    except FeedwatchError as exc:
        raise HTTPException(409, str(exc)) from None


def _lines(request: Request, cfg: MonitorsConfig) -> list[MonitorLine]:
    store = _web(request).store
    t = Messages(_lang(request))
    over = db.monitor_overview(store.engine, [m.name for m in cfg.monitors])
    now = datetime.now(UTC)
    out = []
    for m in cfg.monitors:
        st = over[m.name]
        nxt, note = None, ""
        if m.digest_profile:
            note = t.by_digest
        elif not m.enabled:
            note = t.disabled
        elif m.cadence.kind == "immediate":
            note = t.on_new_matches
        else:
            nxt = next_run_of(m, st.last_run_at, st.created_at, now)
        out.append(
            MonitorLine(
                m,
                sorted({c.kind for c in channels_of(m)}),
                st.last_delivery_at,
                nxt,
                note,
                st.undelivered,
                st.matches,
            )
        )
    return out


@_guard
def monitors_page(request: Request) -> Response:
    cfg = _config(request)
    t = Messages(_lang(request))
    return render(
        request,
        "monitors.html",
        section="monitors",
        title=t.monitors,
        lines=_lines(request, cfg),
        config_path=str(cfg.path) if cfg.path else "",
    )


@_guard
def monitor_page(request: Request) -> Response:
    cfg = _config(request)
    t = Messages(_lang(request))
    try:
        monitor = cfg.monitor(request.path_params["name"])
    except KeyError:
        raise HTTPException(404) from None
    errors: list[str] = []
    since_s = request.query_params.get("since", "").strip()
    start: Any = None
    try:
        start = parse_day(since_s)
    except ValueError:
        errors.append(t("bad_date", value=since_s))
        since_s = ""
    if start is None:
        start = datetime.now(UTC) - timedelta(days=TEST_DAYS)
    store = _web(request).store
    [spec] = monitor_specs([monitor])
    ids = matching_ids(store.engine, spec, SearchFilters(since=start), limit=TEST_LIMIT)
    items = preview(store, cfg, monitor, ids)
    names = _names(request)
    [line] = [x for x in _lines(request, cfg) if x.monitor.name == monitor.name]
    return render(
        request,
        "monitor.html",
        section="monitors",
        title=f"{t.monitor} {monitor.name}",
        line=line,
        m=monitor,
        items=items,
        names=names,
        start=start,
        since=since_s,
        errors=errors,
        limit=TEST_LIMIT,
        message=render_text(items, names) if items else "",
    )
