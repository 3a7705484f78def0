"""`feedwatch sources` (every source and its state) and `feedwatch add URL`."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import click

from feedwatch.app.add_source import NothingFound, append_source, resolve_source, suggest_key
from feedwatch.cli._common import Context, local, table
from feedwatch.config.sources import DEFAULT_CONFIG_PATH, check_url, load_config
from feedwatch.core.export import iso as _iso
from feedwatch.errors import ConfigError

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@click.command()
@click.option(
    "--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True
)
@click.pass_obj
def sources(obj: Context, fmt: str) -> None:
    """Every source with its kind, URL, state, last success and error, next check, items."""
    store = obj.store()
    store.sync_sources(obj.config().sources, datetime.now(UTC))
    reports = store.source_reports()
    domains = {s.key: s.domain for s in obj.config().sources if s.domain}  # e.g. asiel (#17)
    if fmt == "jsonl":
        for r in reports:
            click.echo(
                json.dumps(
                    {
                        "key": r.key,
                        "name": r.name,
                        "kind": r.kind,
                        "url": r.url,
                        "enabled": r.enabled,
                        "in_config": r.in_config,
                        "disabled_reason": r.disabled_reason,
                        "last_success": _iso(r.last_success_at),
                        "last_error": r.last_error,
                        "last_error_at": _iso(r.last_error_at),
                        "consecutive_errors": r.consecutive_errors,
                        "next_check": _iso(r.next_check_at),
                        "items": r.item_count,
                        "domain": domains.get(r.key),
                    },
                    ensure_ascii=False,
                )
            )
        return
    rows = [
        (
            r.key,
            f"{r.kind} [{domains[r.key]}]" if r.key in domains else r.kind,
            "yes" if r.enabled else ("removed" if not r.in_config else "no"),
            local(r.last_success_at),
            str(r.consecutive_errors),
            local(r.next_check_at),
            str(r.item_count),
            r.url,
            r.disabled_reason or r.last_error or "",
        )
        for r in reports
    ]
    click.echo(
        table(
            (
                "key",
                "kind",
                "enabled",
                "last success",
                "errors",
                "next check",
                "items",
                "url",
                "last error",
            ),
            rows,
            numeric={4, 6},
        )
    )


@click.command("add")
@click.argument("url")
@click.option("--key", metavar="KEY", help="Key of the new source (default: from the URL).")
@click.option("--name", metavar="NAME", help="Display name (default: the feed or page title).")
@click.pass_context
def add(ctx: click.Context, url: str, key: str | None, name: str | None) -> None:
    """Find the feed (or else the news listing) behind URL and add it to the config.

    Tries the URL itself, the feeds the page declares, then common feed paths; falls back to
    the page as an HTML listing when items are found on it. Comments and order of the config
    file are kept. Exit 0 when added, 1 when nothing usable was found, 2 for a usage or
    config error.
    """
    obj: Context = ctx.obj
    config_path = Path(obj.config_path or DEFAULT_CONFIG_PATH)
    try:
        url = check_url(url)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    config = load_config(config_path)
    taken = {s.key for s in config.sources}
    if key is not None:
        if not _KEY_RE.match(key):
            raise click.UsageError(
                f"--key: expected lower-case letters, digits and '-', got {key!r}"
            )
        if key in taken:
            raise click.UsageError(f"--key: {key!r} is already used in {config_path}")
    try:
        found = asyncio.run(resolve_source(url, config))
    except NothingFound as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(1)
    if any(s.url == found.url for s in config.sources):
        other = next(s.key for s in config.sources if s.url == found.url)
        click.echo(f"error: {found.url} is already in the config as {other!r}", err=True)
        ctx.exit(1)
    new_key = key or suggest_key(found.url if found.kind != "html" else url, taken)
    fields = {
        "key": new_key,
        "name": name or found.title or urlsplit(url).hostname or new_key,
        "url": found.url,
        "kind": found.kind,
    }
    comment = f"added by `feedwatch add {url}`: {found.how}"
    try:
        append_source(config_path, fields, comment)
    except ConfigError as exc:
        click.echo(f"error: the config would not load after adding the source: {exc}", err=True)
        ctx.exit(2)
    click.echo(
        f"added {new_key}: {found.kind} {found.url}\n"
        f"  found as {found.how}; {found.items} items now, {found.dated} with a date\n"
        f"  written to {config_path}"
    )
