"""`feedwatch items`: stored items, newest first, and the near misses of a topic."""

from __future__ import annotations

import json
from typing import Any

import click

from feedwatch.app.pipeline import configured_topics
from feedwatch.cli._common import Context, local, parse_cli_date, table
from feedwatch.core.export import item_record
from feedwatch.edges.store import ItemQuery


@click.command()
@click.option("--topic", "topics", multiple=True, metavar="T", help="Only items on this topic.")
@click.option("--source", "keys", multiple=True, metavar="KEY", help="Only items of this source.")
@click.option("--since", metavar="DATE", help="Published (or first seen) on or after DATE.")
@click.option("--until", metavar="DATE", help="Published (or first seen) before the end of DATE.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N items.")
@click.option(
    "--near-miss",
    "near_miss",
    metavar="TOPIC",
    help="Items that scored just under TOPIC's threshold, with their terms.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True
)
@click.pass_obj
def items(
    obj: Context,
    topics: tuple[str, ...],
    keys: tuple[str, ...],
    since: str | None,
    until: str | None,
    limit: int | None,
    near_miss: str | None,
    fmt: str,
) -> None:
    """Stored items, newest first (--near-miss: the items to review for a topic)."""
    if near_miss is not None:
        _near_miss(obj, near_miss, limit or 50, fmt)
        return
    query = ItemQuery(
        topics=topics,
        sources=keys,
        since=parse_cli_date(since) if since else None,
        until=parse_cli_date(until, end=True) if until else None,
        limit=limit if limit is not None else (None if fmt == "jsonl" else 50),
        score_topics=topics_of(obj).keys if fmt == "jsonl" else (),
    )
    rows = obj.store().iter_items(query)
    if fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(item_record(row), ensure_ascii=False))
        return
    lines = [
        (
            local(r.item.published) if r.item.published else f"({local(r.item.first_seen)})",
            r.item.source,
            ",".join(r.topics) or "-",
            r.item.id,
            r.item.title[:90],
        )
        for r in rows
    ]
    click.echo(table(("published", "source", "topics", "id", "title"), lines, numeric=set()))


def topics_of(obj: Context) -> Any:
    return configured_topics(obj.topics_path)


def check_topic(obj: Context, topic: str) -> None:
    keys = topics_of(obj).keys
    if topic not in keys:
        raise click.UsageError(f"unknown topic {topic!r}: expected one of {', '.join(keys)}")


def _near_miss(obj: Context, topic: str, limit: int, fmt: str) -> None:
    check_topic(obj, topic)
    rows = obj.store().near_misses(topic, limit=limit)
    if fmt == "jsonl":
        for item, row in rows:
            click.echo(
                json.dumps(
                    {
                        "id": item.id,
                        "source": item.source,
                        "title": item.title,
                        "url": item.url,
                        "topic": topic,
                        "score": round(row.score, 3),
                        "threshold": row.threshold,
                        "terms": list(row.terms),
                    },
                    ensure_ascii=False,
                )
            )
        return
    if not rows:
        click.echo(f"no near misses for {topic}")
        return
    for item, row in rows:
        click.echo(f"{row.score:5.2f}/{row.threshold:<5.2f} {item.id}  {item.title[:80]}")
        click.echo(f"             {'; '.join(row.terms) or '-'}")
    click.echo(f"label with: feedwatch label ITEM_ID --add {topic}")
