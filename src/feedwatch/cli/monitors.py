"""`feedwatch notify`, `feedwatch monitors` and `feedwatch monitors test`, and the global
`--monitors PATH` option (monitors.yaml: saved searches with their cadence and channels)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click

from feedwatch.app.notify import (
    channels_of,
    load_for,
    monitor_specs,
    next_run_of,
    notify_due,
    notify_for,
    preview,
    settings_for,
)
from feedwatch.cli._common import Context, parse_cli_date
from feedwatch.config.monitors import ENV_MONITORS, MonitorsConfig
from feedwatch.core.export import iso
from feedwatch.core.search.cadence import AMSTERDAM
from feedwatch.core.search.message import render_text
from feedwatch.edges.store import Store
from feedwatch.edges.store import deliveries as db
from feedwatch.edges.store.search import SearchFilters, matching_ids
from feedwatch.errors import FeedwatchError

__all__ = [
    "add_monitors_option",
    "chosen_monitors",
    "monitors",
    "monitors_option",
    "notify",
    "notify_after_fetch",
]

_META = "feedwatch.monitors"
_PATH_HELP = f"Monitors file [env {ENV_MONITORS}; default monitors.yaml beside the sources config]."


def _remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.meta[_META] = value


F = TypeVar("F", bound=Callable[..., Any])


def _monitors_option() -> Callable[[F], F]:
    return click.option(
        "--monitors",
        "monitors_path",
        metavar="PATH",
        envvar=ENV_MONITORS,
        expose_value=False,
        callback=_remember,
        help=_PATH_HELP,
    )


def _load(ctx: click.Context) -> MonitorsConfig:
    obj = ctx.obj
    return load_for(obj.config(), ctx.meta.get(_META))


def _local(value: datetime | None) -> str:
    return value.astimezone(AMSTERDAM).strftime("%Y-%m-%d %H:%M") if value else "-"


@click.command()
@click.option("--monitor", "names", multiple=True, metavar="NAME", help="Only this monitor.")
@_monitors_option()
@click.pass_context
def notify(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Deliver every due monitor: match new items, send each channel one message.

    An `immediate` monitor is due whenever it has matches not yet delivered; the others at
    their time (hourly, daily HH:MM, weekly DAY HH:MM, Europe/Amsterdam). A failed delivery
    stays pending and is tried again later (exit 1).
    """
    obj = ctx.obj
    cfg = _load(ctx)
    known = {m.name for m in cfg.monitors}
    unknown = sorted(set(names) - known)
    if unknown:
        raise click.UsageError(f"unknown monitor(s): {', '.join(unknown)}")
    store: Store = obj.store()
    results = notify_due(
        store,
        cfg,
        datetime.now(UTC),
        only=list(names) or None,
        settings=settings_for(obj.config()),
    )
    failed = False
    for r in results:
        failed = failed or r.error is not None
        if not obj.quiet or r.error:
            error = f" ({r.error})" if r.error else ""
            click.echo(
                f"{', '.join(r.monitors)} -> {r.channel.split(':', 1)[0]}: {r.status}, "
                f"{r.items} items{error}"
            )
    if not results and not obj.quiet:
        click.echo("nothing to deliver")
    if failed:
        sys.exit(1)


@click.group(invoke_without_command=True)
@_monitors_option()
@click.option(
    "--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True
)
@click.pass_context
def monitors(ctx: click.Context, fmt: str) -> None:
    """The monitors with their last delivery, pending matches and next run."""
    if ctx.invoked_subcommand is not None:
        return
    obj = ctx.obj
    cfg = _load(ctx)
    store: Store = obj.store()
    now = datetime.now(UTC)
    names = [m.name for m in cfg.monitors]
    over = db.monitor_overview(store.engine, names)
    rows = []
    for m in cfg.monitors:
        st = over[m.name]
        if m.digest_profile:
            nxt = "feedwatch digest"
        elif not m.enabled:
            nxt = "disabled"
        elif m.cadence.kind == "immediate":
            nxt = "on new matches"
        else:
            nxt = _local(next_run_of(m, st.last_run_at, st.created_at, now))
        record: dict[str, Any] = {
            "name": m.name,
            "cadence": str(m.cadence),
            "channels": sorted({c.kind for c in channels_of(m)}),
            "last_delivery": iso(st.last_delivery_at),
            "pending": st.undelivered,
            "matches": st.matches,
            "next_run": nxt,
            "digest_profile": m.digest_profile,
        }
        rows.append((record, st))
    if fmt == "jsonl":
        for record, _st in rows:
            click.echo(json.dumps(record, ensure_ascii=False))
        return
    if not rows:
        click.echo("no monitors configured")
        return
    width = max(len(r["name"]) for r, _ in rows)
    click.echo(
        f"{'name':<{width}}  {'cadence':<16}  {'channels':<22}  {'last delivery':<16}  "
        f"{'pending':>7}  next run"
    )
    for record, st in rows:
        click.echo(
            f"{record['name']:<{width}}  {record['cadence']:<16}  "
            f"{','.join(record['channels']):<22}  {_local(st.last_delivery_at):<16}  "
            f"{record['pending']:>7}  {record['next_run']}"
        )


@monitors.command(name="test")
@click.argument("name")
@click.option(
    "--since",
    metavar="DATE",
    help="Items published (or first seen) on or after DATE [default: the last 7 days].",
)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@_monitors_option()
@click.pass_context
def test_cmd(ctx: click.Context, name: str, since: str | None, limit: int) -> None:
    """Show what monitor NAME would send for the stored items, sending nothing."""

    obj = ctx.obj
    cfg = _load(ctx)
    try:
        monitor = cfg.monitor(name)
    except KeyError:
        raise click.UsageError(
            f"unknown monitor {name!r}: expected one of {', '.join(m.name for m in cfg.monitors) or '(none)'}"
        ) from None
    start = parse_cli_date(since) if since else datetime.now(UTC) - timedelta(days=7)
    store: Store = obj.store()
    [spec] = monitor_specs([monitor])
    ids = matching_ids(store.engine, spec, SearchFilters(since=start), limit=limit)
    items = preview(store, cfg, monitor, ids)
    channels = ", ".join(sorted({c.kind for c in channels_of(monitor)}))
    click.echo(
        f"{monitor.name} ({monitor.cadence}; {channels}): {len(items)} items since "
        f"{_local(start)}; nothing is sent"
    )
    if items:
        click.echo("")
        click.echo(render_text(items, settings_for(obj.config()).source_names), nl=False)


def monitors_option() -> Callable[[F], F]:
    """--monitors PATH on a command of another module (feedwatch web)."""
    return _monitors_option()


def chosen_monitors(ctx: click.Context) -> str | None:
    """The --monitors PATH given to the group or the command (FEEDWATCH_MONITORS included)."""
    value = ctx.meta.get(_META)
    return str(value) if value else None


def add_monitors_option(group: click.Group) -> None:
    """The global --monitors option of the feedwatch group (commands also take it)."""
    if not any(p.name == "monitors_path" for p in group.params):
        group.params.append(
            click.Option(
                ["--monitors", "monitors_path"],
                metavar="PATH",
                envvar=ENV_MONITORS,
                expose_value=False,
                callback=_remember,
                help=_PATH_HELP,
            )
        )


def notify_after_fetch(obj: Context, started: datetime | None = None) -> None:
    """The end of `feedwatch fetch`: deliver the immediate monitors (a monitors problem is
    reported, never turns the fetch into a failure)."""
    ctx = click.get_current_context()
    try:
        results = notify_for(
            obj.config(),
            obj.store(),
            datetime.now(UTC),
            monitors=ctx.meta.get(_META),
            immediate_only=True,
            started=started,
        )
    except FeedwatchError as exc:
        click.echo(f"monitors: {exc}", err=True)
        return
    sent = [r for r in results if r.status == "sent"]
    failed = [r for r in results if r.error]
    if (sent or failed) and not obj.quiet:
        click.echo(f"monitors: {len(sent)} messages sent, {len(failed)} pending after a failure")
