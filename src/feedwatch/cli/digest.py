"""The digest, export and publish commands, over app.deliver."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import click

from feedwatch.app.deliver import (
    atomic_text,
    entity_rows,
    output_dir,
    publish_dossier_feeds,
    publish_feeds,
    run_digest,
    topic_titles,
)
from feedwatch.cli._common import Context, parse_cli_date
from feedwatch.cli.dossier import entity_option
from feedwatch.config.digests import digests_path, load_digests
from feedwatch.core import export as exporter
from feedwatch.edges.store import ItemQuery, ItemRow, Store
from feedwatch.errors import ConfigError
from feedwatch.types import AMSTERDAM


def _source_names(obj: Context) -> dict[str, str]:
    try:
        return {s.key: s.name for s in obj.config().sources}
    except ConfigError:
        return {}


@click.command()
@click.option("--profile", "names", multiple=True, metavar="NAME", help="Only this profile.")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="The Amsterdam day [default: today].")
@click.option("--dry-run", is_flag=True, help="Print the Markdown digest; store and send nothing.")
@click.option("--force", is_flag=True, help="Send again even when already sent.")
@click.option(
    "--profiles",
    "profiles_path",
    metavar="PATH",
    help="Digest profiles file [default: digests.yaml next to the sources config].",
)
@click.option(
    "--output-dir",
    "out_dir",
    metavar="DIR",
    help="[env FEEDWATCH_OUTPUT_DIR; default out].",
)
@click.pass_obj
def digest(
    obj: Context,
    names: tuple[str, ...],
    day: str | None,
    dry_run: bool,
    force: bool,
    profiles_path: str | None,
    out_dir: str | None,
) -> None:
    """Build (and deliver) the digest of one profile, or of all profiles.

    A digest holds the items first seen since the profile's previous digest. It is stored as
    pending with its item list, written as Markdown under $FEEDWATCH_OUTPUT_DIR/digests/, mailed
    when the profile has e-mail, then marked sent; a failed send stays pending and goes out on
    the next run. Exit 1 when a delivery failed.
    """
    path = Path(profiles_path) if profiles_path else digests_path(obj.config_path)
    cfg = load_digests(path, required=True)
    chosen = [p for p in cfg.profiles if not names or p.name in names]
    unknown = sorted(set(names) - {p.name for p in cfg.profiles})
    if unknown:
        raise click.UsageError(f"unknown profile(s): {', '.join(unknown)}")
    if not chosen:
        raise click.UsageError(f"{path}: no digest profiles")
    now = datetime.now(UTC)
    try:
        the_day = date.fromisoformat(day) if day else now.astimezone(AMSTERDAM).date()
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {day!r}", param_hint="--date") from None
    store: Store = obj.store()
    out = output_dir(out_dir)
    titles = topic_titles(obj.topics_path)
    source_names = _source_names(obj)
    failed = False
    for profile in chosen:
        for run in run_digest(
            store,
            cfg,
            profile,
            the_day,
            now,
            out=out,
            force=force,
            dry_run=dry_run,
            titles=titles,
            names=source_names,
        ):
            if run.text is not None:
                click.echo(run.text, nl=False)
                continue
            failed = failed or run.error is not None
            where = f" -> {run.markdown}" if run.markdown else ""
            error = f" ({run.error})" if run.error else ""
            if not obj.quiet or run.error:
                click.echo(
                    f"{run.profile} {run.period}: {run.status}, {run.items} items{where}{error}"
                )
    if failed:
        sys.exit(1)


@click.command(name="export")
@click.option("--topic", "topics", multiple=True, metavar="T", help="Only items on this topic.")
@click.option("--source", "keys", multiple=True, metavar="KEY", help="Only items of this source.")
@click.option("--since", metavar="DATE", help="Published (or first seen) on or after DATE.")
@click.option("--until", metavar="DATE", help="Published (or first seen) before the end of DATE.")
@click.option(
    "--format", "fmt", type=click.Choice(exporter.FORMATS), required=True, help="Output format."
)
@click.option("--output", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")
@click.option(
    "--entity",
    metavar="KIND:ID",
    help="Only items citing this entity, e.g. kamerstuk:36704 (see `feedwatch dossier`).",
)
@click.pass_obj
def export_cmd(
    obj: Context,
    topics: tuple[str, ...],
    keys: tuple[str, ...],
    since: str | None,
    until: str | None,
    fmt: str,
    output: str | None,
    entity: str | None = None,
) -> None:
    """Stream stored items out, newest first, as jsonl, csv, md, atom or jsonfeed."""
    query = ItemQuery(
        topics=topics,
        sources=keys,
        since=parse_cli_date(since) if since else None,
        until=parse_cli_date(until, end=True) if until else None,
        score_topics=tuple(topic_titles(obj.topics_path)),
    )
    what = ", ".join(topics) if topics else "alle onderwerpen"
    info = exporter.FeedInfo(
        title=f"feedwatch — {what}",
        id="tag:feedwatch,2026:export:" + ("+".join(topics) or "all"),
        source_names=_source_names(obj) if fmt in ("atom", "jsonfeed") else None,
    )
    rows: Iterable[ItemRow] = obj.store().iter_items(query)
    if entity:  # only the items citing one entity (#17)
        entity = entity_option(entity)
        info = replace(
            info, title=f"feedwatch — {entity}", id=f"tag:feedwatch,2026:dossier:{entity}"
        )
        rows = entity_rows(obj.store(), entity, query)
    if output:
        with atomic_text(Path(output)) as fh:
            n = exporter.write(fmt, rows, fh, info)
        if not obj.quiet:
            click.echo(f"{n} items -> {output}", err=True)
        return
    stream = sys.stdout
    exporter.write(fmt, rows, stream, info)
    stream.flush()


@click.command()
@click.option(
    "--output-dir",
    "out_dir",
    metavar="DIR",
    help="[env FEEDWATCH_OUTPUT_DIR; default out].",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Newest items per topic feed.",
)
@click.option("--base-url", metavar="URL", help="Where the feeds are served (for self links).")
@click.pass_obj
def publish(obj: Context, out_dir: str | None, limit: int, base_url: str | None) -> None:
    """Write one Atom and one JSON Feed file per topic under $FEEDWATCH_OUTPUT_DIR/feeds/."""
    paths = publish_feeds(
        obj.store(),
        topic_titles(obj.topics_path),
        output_dir(out_dir),
        limit=limit,
        base_url=base_url,
        names=_source_names(obj),
    )
    try:
        follow = obj.config().follow
    except ConfigError:
        follow = ()
    paths += publish_dossier_feeds(  # #17: a feed per followed dossier
        obj.store(),
        follow,
        output_dir(out_dir),
        limit=limit,
        base_url=base_url,
        names=_source_names(obj),
    )
    if not obj.quiet:
        for p in paths:
            click.echo(str(p))
