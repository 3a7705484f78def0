"""`feedwatch dossier KIND:ID` and `feedwatch entities`; dossier feeds for `feedwatch publish` (#17).

A dossier is the timeline of one entity (a Kamerstuk dossier, an ECLI, a Staatscourant or
Staatsblad publication, a BWBR law, a CELEX act) across every source, oldest first: each item's
date, source, kind of document and link. `entities` lists the most cited entities.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import click

from feedwatch.cli._common import Context, parse_cli_date
from feedwatch.core.entities import KINDS, entity_url, parse_entity
from feedwatch.core.export import iso, item_record
from feedwatch.core.links import linkify_md, plain_line
from feedwatch.edges.store import ItemRow, Store
from feedwatch.edges.store.entities import DossierRow
from feedwatch.textsafe import md_escape, safe_url
from feedwatch.types import AMSTERDAM

__all__ = [
    "dossier",
    "entities_cmd",
    "entity_option",
]

# the kind of document of an item that no connector described, by the source's kind
NEWS = "bericht"


def entity_option(value: str) -> str:
    """A KIND:ID from the command line in its stored form, or a usage error (exit 2)."""
    try:
        return parse_entity(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _day(row: DossierRow) -> str:
    it = row.item
    day = row.when.astimezone(AMSTERDAM).strftime("%Y-%m-%d")
    return day if it.published is not None and it.date_source != "first-seen" else f"({day})"


_OFFICIAL_KINDS = (
    (re.compile(r"zoek\.officielebekendmakingen\.nl/.*\bkst-"), "Kamerstuk"),
    (re.compile(r"zoek\.officielebekendmakingen\.nl/.*\bstcrt-"), "Staatscourant"),
    (re.compile(r"zoek\.officielebekendmakingen\.nl/.*\bstb-"), "Staatsblad"),
    (re.compile(r"uitspraken\.rechtspraak\.nl/.*ECLI", re.I), "Uitspraak"),
)


def _doc_kind(row: DossierRow) -> str:
    """The connector's kind of document; for a feed or page item, what its official link says
    (a Kamerstuk, a Staatscourant, a ruling), else a news item (`bericht`)."""
    if row.doc_kind:
        return row.doc_kind
    for pattern, kind in _OFFICIAL_KINDS:
        if pattern.search(row.item.url):
            return kind
    return NEWS


def dossier_record(row: DossierRow) -> dict[str, Any]:
    """The JSON Lines object of one dossier row: the item fields, and where it stands."""
    rec = item_record(ItemRow(item=row.item, topics=row.topics, entities=row.entities))
    rec.pop("scores", None)
    rec.update(
        source_name=row.source_name,
        doc_kind=_doc_kind(row),
        date=iso(row.when),
        details=dict(row.details),
    )
    return rec


def render_dossier_md(entity: str, rows: Sequence[DossierRow]) -> str:
    """The timeline as Markdown; every source field escaped, references linked."""
    official = entity_url(entity)  # built by feedwatch from the validated entity
    out = [f"# Dossier `{entity}`", ""]
    if official is not None:
        out += [f"Officiële pagina: <{official}>", ""]
    if not rows:
        out.append("_Nog geen berichten die hiernaar verwijzen._")
    for row in rows:
        it = row.item
        title = linkify_md(it.title) if not it.url else _md_link(it.title, it.url)
        line = (
            f"- **{_day(row)}** · {linkify_md(row.source_name)} · _{linkify_md(_doc_kind(row))}_"
            f" · {title}"
        )
        decided = row.details.get("decision_date")
        if decided:
            line += f" · uitspraak {linkify_md(decided)}"
        out.append(line)
        if it.summary:
            out.append(f"  {linkify_md(it.summary[:400])}")
    out.append("")
    return "\n".join(out)


def _md_link(title: str, url: str) -> str:
    safe = safe_url(url)
    name = md_escape(plain_line(title) or url)
    return f"[{name}]({safe})" if safe else name


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.ljust(widths[i]) if i < len(cells) - 1 else c for i, c in enumerate(cells)
        ).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


@click.command()
@click.argument("entity", metavar="KIND:ID", callback=lambda _c, _p, v: entity_option(v))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "jsonl", "md"]),
    default="table",
    show_default=True,
)
@click.pass_obj
def dossier(obj: Context, entity: str, fmt: str) -> None:
    """The timeline of one entity across all sources, oldest first.

    KIND is one of kamerstuk, ecli, stcrt, stb, bwbr, celex: e.g. kamerstuk:36704,
    ecli:ECLI:NL:RVS:2026:7012, stcrt:2026-12345, bwbr:BWBR0011823.
    """
    store: Store = obj.store()
    rows = store.dossier(entity)
    if fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(dossier_record(row), ensure_ascii=False))
        return
    if fmt == "md":
        click.echo(render_dossier_md(entity, rows), nl=False)
        return
    if not rows:
        click.echo(f"no stored item cites {entity}", err=True)
        return
    table = [
        (
            _day(r),
            r.item.source,
            plain_line(_doc_kind(r))[:30],
            plain_line(r.item.title)[:80],
            r.item.url,
        )
        for r in rows
    ]
    click.echo(_table(("date", "source", "kind", "title", "link"), table))


@click.command(name="entities")
@click.option(
    "--kind", type=click.Choice(list(KINDS)), default=None, help="Only entities of this kind."
)
@click.option("--since", metavar="DATE", help="Count items published (or first seen) since DATE.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True
)
@click.pass_obj
def entities_cmd(obj: Context, kind: str | None, since: str | None, limit: int, fmt: str) -> None:
    """The most active entities (Kamerstuk dossiers, ECLI, ...) with their counts."""

    store: Store = obj.store()
    counts = store.entity_counts(
        kind=kind, since=parse_cli_date(since) if since else None, limit=limit
    )
    if fmt == "jsonl":
        for c in counts:
            click.echo(
                json.dumps(
                    {
                        "entity": c.entity,
                        "items": c.items,
                        "sources": c.sources,
                        "first": iso(c.first),
                        "last": iso(c.last),
                        "url": entity_url(c.entity),
                    },
                    ensure_ascii=False,
                )
            )
        return
    rows = [
        (
            c.entity,
            str(c.items),
            str(c.sources),
            c.last.astimezone(AMSTERDAM).strftime("%Y-%m-%d") if c.last else "-",
            entity_url(c.entity) or "",
        )
        for c in counts
    ]
    click.echo(_table(("entity", "items", "sources", "last", "official page"), rows))
