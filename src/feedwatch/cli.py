"""The feedwatch command line: parse options, call one function, print; honest exit codes."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import click

from feedwatch import __version__
from feedwatch.config import Config, load_config
from feedwatch.errors import ConfigError, FeedwatchError, StorageError
from feedwatch.store import FetchOutcome, ItemQuery, ItemRow, Store

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@dataclass
class Context:
    config_path: str | None
    database_url: str | None
    verbose: int
    quiet: bool
    log_format: str
    _config: Config | None = None
    _store: Store | None = None

    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.database_url)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class JsonFormatter(logging.Formatter):
    """One JSON object per log line, with the structured fields a fetch adds."""

    FIELDS = ("source", "status", "http", "new", "updated", "unchanged", "duration", "error")

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.FIELDS:
            if hasattr(record, name):
                out[name] = getattr(record, name)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def _setup_logging(verbose: int, quiet: bool, fmt: str) -> None:
    level = (
        logging.ERROR
        if quiet
        else (logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else logging.WARNING)
    )
    if fmt == "json" and not quiet and verbose == 0:
        level = logging.INFO  # json logs are for machines: one line per fetch
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if fmt == "json" else logging.Formatter("%(levelname)s %(message)s")
    )
    root = logging.getLogger("feedwatch")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class FeedwatchGroup(click.Group):
    """Turns feedwatch's errors into one clear line and the documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            _fail(str(exc), 2)
        except StorageError as exc:
            _fail(str(exc), 1)
        except FeedwatchError as exc:
            _fail(str(exc), 1)


@click.group(cls=FeedwatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="feedwatch")
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    envvar="FEEDWATCH_CONFIG",
    help="Sources config [env FEEDWATCH_CONFIG; default config/feeds.yaml].",
)
@click.option(
    "--database-url",
    metavar="URL",
    envvar="FEEDWATCH_DATABASE_URL",
    help="SQLAlchemy URL [env FEEDWATCH_DATABASE_URL; default sqlite:///data/feedwatch.db].",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text or as one JSON object per line.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: str | None,
    database_url: str | None,
    verbose: int,
    quiet: bool,
    log_format: str,
) -> None:
    """feedwatch: follow what Dutch government bodies and NGOs publish on asylum and migration."""
    _setup_logging(verbose, quiet, log_format)
    state = Context(config_path, database_url, verbose, quiet, log_format)
    ctx.obj = state
    ctx.call_on_close(state.close)


# ------------------------------------------------------------------------------------ fetch


def _progress(enabled: bool) -> tuple[Any, Any, Any]:
    """(on_start, on_done, finish) callbacks drawing a progress bar on a terminal only."""
    if not enabled:
        return None, None, lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("fetching"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        transient=True,
        console=_stderr_console(),
    )
    task: list[Any] = []

    def on_start(total: int) -> None:
        progress.start()
        task.append(progress.add_task("", total=total))

    def on_done(o: FetchOutcome) -> None:
        progress.update(task[0], advance=1, description=o.key)

    return on_start, on_done, progress.stop


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _summary_table(outcomes: tuple[FetchOutcome, ...]) -> str:
    headers = ("source", "status", "new", "updated", "unchanged", "seconds", "error")
    rows = [
        (
            o.key,
            o.outcome if o.http_status is None else f"{o.outcome} ({o.http_status})",
            str(o.new),
            str(o.updated),
            str(o.unchanged),
            f"{o.duration:.2f}",
            (o.error or "") + ("; " + "; ".join(o.warnings) if o.warnings else ""),
        )
        for o in outcomes
    ]
    return _table(headers, rows, numeric={2, 3, 4, 5})


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]], numeric: set[int]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))

    def line(cells: tuple[str, ...]) -> str:
        parts = [
            (c.rjust(widths[i]) if i in numeric else c.ljust(widths[i]))
            if i < len(cells) - 1
            else c
            for i, c in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


@cli.command()
@click.option(
    "--source",
    "keys",
    multiple=True,
    metavar="KEY",
    help="Fetch this source (repeatable), due or not.",
)
@click.option("--all", "every", is_flag=True, help="Fetch every enabled source, due or not.")
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar [default: on a terminal only]."
)
@click.pass_obj
def fetch(obj: Context, keys: tuple[str, ...], every: bool, progress: bool | None) -> None:
    """One pass over the due sources: fetch, extract, classify, store.

    Prints a summary table. Exit 0 if at least one source succeeded or nothing was due,
    1 if every attempted source failed, 2 for a usage or config error.
    """
    from feedwatch.pipeline import run_fetch

    config = obj.config()
    known = {s.key for s in config.sources}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise click.UsageError(f"unknown source key(s): {', '.join(unknown)}")
    store = obj.store()
    classifier, version = _classifier()
    show = progress if progress is not None else (sys.stderr.isatty() and not obj.quiet)
    on_start, on_done, finish = _progress(show)
    try:
        result = asyncio.run(
            run_fetch(
                config,
                store,
                keys=list(keys) or None,
                every=every,
                classifier=classifier,
                classifier_version=version,
                on_start=on_start,
                on_done=on_done,
            )
        )
    finally:
        finish()
    if not obj.quiet:
        if result.outcomes:
            click.echo(_summary_table(result.outcomes))
        items = sum(o.new + o.updated + o.unchanged for o in result.outcomes)
        click.echo(
            f"{result.attempted} sources, {result.failed} failed, {result.new} new items, "
            f"{items} items read in {result.seconds:.2f} s"
            if result.attempted
            else "nothing due"
        )
    sys.exit(result.exit_code)


def _classifier() -> tuple[Any, str | None]:
    """The topic classifier over the configured topics, when topics are available."""
    try:
        from feedwatch.classify import classify, load_topics
    except ImportError:  # pragma: no cover - classification ships with the package
        return None, None
    path = Path("config/topics.yaml")
    topics = load_topics(path if path.exists() else None)

    def run(item: Any) -> Any:
        return classify(item.title, item.summary, topics, source=item.source)

    return run, topics.version


# ---------------------------------------------------------------------------------- sources


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _local(value: datetime | None) -> str:
    return value.astimezone(AMSTERDAM).strftime("%Y-%m-%d %H:%M") if value else "-"


@cli.command()
@click.option(
    "--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True
)
@click.pass_obj
def sources(obj: Context, fmt: str) -> None:
    """Every source with its kind, URL, state, last success and error, next check, items."""
    store = obj.store()
    try:
        store.sync_sources(obj.config().sources, datetime.now(UTC))
    except ConfigError:
        raise
    reports = store.source_reports()
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
                    },
                    ensure_ascii=False,
                )
            )
        return
    rows = [
        (
            r.key,
            r.kind,
            "yes" if r.enabled else ("removed" if not r.in_config else "no"),
            _local(r.last_success_at),
            str(r.consecutive_errors),
            _local(r.next_check_at),
            str(r.item_count),
            r.url,
            r.disabled_reason or r.last_error or "",
        )
        for r in reports
    ]
    click.echo(
        _table(
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


# ------------------------------------------------------------------------------------ items


def parse_cli_date(value: str, *, end: bool = False) -> datetime:
    """YYYY-MM-DD (an Amsterdam day; `end` gives the next midnight) or full ISO 8601."""
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=AMSTERDAM)
            if end:
                day = (day + timedelta(days=1)).replace(tzinfo=AMSTERDAM)
            return day.astimezone(UTC)
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"expected YYYY-MM-DD or an ISO 8601 date-time, got {value!r}"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=AMSTERDAM)
    return dt.astimezone(UTC)


def item_json(row: ItemRow) -> dict[str, Any]:
    it = row.item
    return {
        "id": it.id,
        "source": it.source,
        "url": it.url,
        "title": it.title,
        "summary": it.summary,
        "published": _iso(it.published),
        "date_source": it.date_source,
        "first_seen": _iso(it.first_seen),
        "topics": list(row.topics),
        "scores": {k: round(v, 3) for k, v in sorted(row.scores.items())},
        "lang": it.lang,
    }


def _item_rows(store: Store, query: ItemQuery) -> Iterator[ItemRow]:
    yield from store.iter_items(query)


@cli.command()
@click.option("--topic", "topics", multiple=True, metavar="T", help="Only items on this topic.")
@click.option("--source", "keys", multiple=True, metavar="KEY", help="Only items of this source.")
@click.option("--since", metavar="DATE", help="Published (or first seen) on or after DATE.")
@click.option("--until", metavar="DATE", help="Published (or first seen) before the end of DATE.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N items.")
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
    fmt: str,
) -> None:
    """Stored items, newest first."""
    query = ItemQuery(
        topics=topics,
        sources=keys,
        since=parse_cli_date(since) if since else None,
        until=parse_cli_date(until, end=True) if until else None,
        limit=limit if limit is not None else (None if fmt == "jsonl" else 50),
    )
    rows = _item_rows(obj.store(), query)
    if fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(item_json(row), ensure_ascii=False))
        return
    table = [
        (
            _local(r.item.published) if r.item.published else f"({_local(r.item.first_seen)})",
            r.item.source,
            ",".join(r.topics) or "-",
            r.item.id,
            r.item.title[:90],
        )
        for r in rows
    ]
    click.echo(_table(("published", "source", "topics", "id", "title"), table, numeric=set()))


# --------------------------------------------------------------------------------------- db


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command()
@click.pass_obj
def upgrade(obj: Context) -> None:
    """Apply the Alembic migrations up to the newest schema."""
    store = Store(obj.database_url, auto_upgrade=False)
    try:
        revision = store.upgrade()
    finally:
        store.close()
    if not obj.quiet:
        click.echo(f"database at revision {revision}")


def main() -> None:
    cli(prog_name="feedwatch")
