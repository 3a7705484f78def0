"""`feedwatch run` (the daemon) and `feedwatch status` (its health and the sources')."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from feedwatch.app.daemon import DaemonSettings, run_daemon
from feedwatch.cli._common import Context, local
from feedwatch.core.export import iso as _iso
from feedwatch.edges.store import Store


def _host_port(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    host, _, port = value.rpartition(":")
    try:
        return (host or "127.0.0.1", int(port))
    except ValueError:
        raise click.BadParameter(f"expected HOST:PORT or PORT, got {value!r}") from None


@click.command()
@click.option(
    "--tick",
    type=click.FloatRange(min=0.5),
    default=30.0,
    show_default=True,
    help="Seconds between looks for due sources.",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Sources claimed per tick.",
)
@click.option(
    "--lease",
    type=click.IntRange(min=10),
    default=600,
    show_default=True,
    help="Seconds a claimed source stays with this worker (a dead worker's sources "
    "return to the others after this).",
)
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Seconds in-flight fetches get to finish on SIGTERM/SIGINT.",
)
@click.option(
    "--metrics",
    "metrics",
    metavar="[HOST:]PORT",
    default=None,
    help="Serve /healthz and Prometheus /metrics here (host defaults to 127.0.0.1).",
)
@click.pass_obj
def run(
    obj: Context, tick: float, batch: int, lease: int, grace: float, metrics: str | None
) -> None:
    """The daemon: poll sources when due, send digests on schedule, stop cleanly.

    SIGTERM or SIGINT lets in-flight fetches finish (at most --grace seconds) and exits 0; a
    second signal exits at once. SIGHUP reloads the config. Several workers may share one
    PostgreSQL database: each claims due sources with a lease.
    """
    obj.config()  # config errors exit 2 before anything starts
    settings = DaemonSettings(
        tick=tick,
        batch=batch,
        lease=timedelta(seconds=lease),
        grace=grace,
        metrics=_host_port(metrics),
        topics_path=obj.topics_path,
    )
    sys.exit(run_daemon(obj.config_path, obj.database_url, settings))


@click.command()
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def status(obj: Context, fmt: str) -> None:
    """Daemon and source health: workers and their next jobs, failing sources, next checks."""
    store = obj.store()
    now = datetime.now(UTC)
    workers = store.worker_rows()
    reports = store.source_reports()
    failing = [r for r in reports if r.enabled and r.consecutive_errors]
    disabled = [r for r in reports if not r.enabled and r.disabled_reason]
    next_due = store.next_due_at()
    alive = [
        w
        for w in workers
        if w["stopped_at"] is None and now - w["heartbeat_at"] < timedelta(minutes=5)
    ]
    digests = _last_digests(store)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "workers": [
                        {
                            "id": w["id"],
                            "alive": w in alive,
                            "heartbeat": _iso(w["heartbeat_at"]),
                            "stopped": _iso(w["stopped_at"]),
                            "jobs": w["info"].get("jobs", []),
                        }
                        for w in workers
                    ],
                    "sources": len(reports),
                    "enabled": sum(1 for r in reports if r.enabled),
                    "failing": [
                        {"key": r.key, "errors": r.consecutive_errors, "error": r.last_error}
                        for r in failing
                    ],
                    "disabled": [{"key": r.key, "reason": r.disabled_reason} for r in disabled],
                    "next_check": _iso(next_due),
                    "digests": digests,
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(
        f"workers: {len(alive)} running"
        + ("" if alive else " (no heartbeat in the last 5 minutes: is `feedwatch run` up?)")
    )
    for w in alive:
        jobs = ", ".join(
            f"{j['id']} {local(_parse_iso(j['next_run']))}" for j in w["info"].get("jobs", [])
        )
        click.echo(f"  {w['id']}  heartbeat {local(w['heartbeat_at'])}  next: {jobs or '-'}")
    click.echo(
        f"sources: {len(reports)} ({sum(1 for r in reports if r.enabled)} enabled), "
        f"next check {local(next_due)}"
    )
    click.echo(f"failing: {len(failing)}")
    for r in failing:
        click.echo(f"  {r.key}: {r.consecutive_errors} errors in a row, last: {r.last_error}")
    for r in disabled:
        click.echo(f"disabled: {r.key}: {r.disabled_reason}")
    for d in digests:
        click.echo(f"digest {d['profile']}: last {d['period']} ({d['status']})")


def _parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _last_digests(store: Store) -> list[dict[str, Any]]:
    return [
        {
            "profile": r.profile,
            "period": r.period,
            "status": r.status,
            "sent": _iso(r.sent_at),
            "items": r.item_count,
            "error": r.last_error,
        }
        for r in sorted(store.last_digests().values(), key=lambda r: r.profile)
    ]
