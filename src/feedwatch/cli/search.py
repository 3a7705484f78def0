"""`feedwatch search`: full-text search over stored items, best matches first."""

from __future__ import annotations

import json
import sys

import click

from feedwatch.cli._common import Context, parse_cli_date
from feedwatch.core.export import item_record
from feedwatch.core.search.message import snippet
from feedwatch.core.search.query import QueryError, parse_query
from feedwatch.edges.store import ItemQuery, Store
from feedwatch.edges.store.search import SearchFilters, search_ids

__all__ = ["search"]


def _fail_query(exc: QueryError) -> None:
    pointer = " " * (exc.position - 1) + "^"
    click.echo(f"error: {exc}\n  {exc.query}\n  {pointer}", err=True)
    sys.exit(2)


@click.command()
@click.argument("query")
@click.option("--topic", "topics", multiple=True, metavar="T", help="Only items on this topic.")
@click.option("--source", "keys", multiple=True, metavar="KEY", help="Only items of this source.")
@click.option("--since", metavar="DATE", help="Published (or first seen) on or after DATE.")
@click.option("--until", metavar="DATE", help="Published (or first seen) before the end of DATE.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option(
    "--sort",
    type=click.Choice(["rank", "date"]),
    default="rank",
    show_default=True,
    help="Best matches first, or newest first.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True
)
@click.pass_obj
def search(
    obj: Context,
    query: str,
    topics: tuple[str, ...],
    keys: tuple[str, ...],
    since: str | None,
    until: str | None,
    limit: int,
    sort: str,
    fmt: str,
) -> None:
    """Full-text search of titles and texts: QUERY in feedwatch's search language.

    \b
    asielzoeker azc          every word (stemmed: asielzoekers, azc's, AZC-locatie)
    spreidingswet OR "spreiding van asielzoekers"
    azc -noodopvang          NOT noodopvang works too; (a OR b) c groups
    asielzoek*               a word starting with this
    title:azc source:coa-nieuws topic:veiligelanders

    A malformed query exits 2 and shows where.
    """

    try:
        node = parse_query(query)
    except QueryError as exc:
        _fail_query(exc)
        return
    store: Store = obj.store()
    filters = SearchFilters(
        topics=topics,
        sources=keys,
        since=parse_cli_date(since) if since else None,
        until=parse_cli_date(until, end=True) if until else None,
    )
    hits = search_ids(store.engine, node, filters, limit=limit, sort=sort)
    rows = {r.item.id: r for r in store.iter_items(ItemQuery(ids=tuple(h.item_id for h in hits)))}
    for hit in hits:
        row = rows.get(hit.item_id)
        if row is None:
            continue
        it = row.item
        text = snippet(it.title, it.summary, node, it.lang)
        if fmt == "jsonl":
            record = item_record(row) | {"snippet": text, "rank": float(f"{hit.rank:.6g}")}
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        when = (it.published or it.first_seen).strftime("%Y-%m-%d")
        click.echo(f"{hit.rank:9.3g}  {when}  {it.source}  {it.id}")
        click.echo(f"           {it.title[:100]}")
        if text:
            click.echo(f"           {text}")
    if fmt == "table" and not hits and not obj.quiet:
        click.echo("no matches")
