"""The feedwatch command line: parse options, call one function, print; honest exit codes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import click

from feedwatch import __version__
from feedwatch.config.sources import Config, load_config
from feedwatch.core.export import iso as _iso
from feedwatch.core.export import item_record
from feedwatch.edges.store import FetchOutcome, ItemQuery, Store
from feedwatch.errors import ConfigError, FeedwatchError, StorageError

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# `fetch` adds a worker process by itself from this many sources on (auto_processes)
AUTO_POOL_SOURCES = 50


@dataclass
class Context:
    config_path: str | None
    database_url: str | None
    verbose: int
    quiet: bool
    log_format: str
    topics_path: str | None = None
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
@click.option(
    "--topics",
    "topics_path",
    metavar="PATH",
    envvar="FEEDWATCH_TOPICS",
    help="Topic rules [env FEEDWATCH_TOPICS; default config/topics.yaml if present, "
    "else the topics that ship with feedwatch].",
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
    topics_path: str | None,
    verbose: int,
    quiet: bool,
    log_format: str,
) -> None:
    """feedwatch: follow what Dutch government bodies and NGOs publish on asylum and migration."""
    _setup_logging(verbose, quiet, log_format)
    state = Context(config_path, database_url, verbose, quiet, log_format, topics_path)
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


def _interactive(obj: Context) -> bool:
    """Progress bars only for a person at a terminal: not in pipes, cron or CI."""
    return sys.stderr.isatty() and not obj.quiet and not os.environ.get("CI")


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
@click.option(
    "--processes",
    type=click.IntRange(min=1, max=64),
    default=None,
    help="Processes for parsing and classifying: N > 1 adds N - 1 worker processes. "
    f"[default: 2 when {AUTO_POOL_SOURCES} sources or more are to be fetched on 2 cores or more, "
    "else 1]",
)
@click.pass_obj
def fetch(
    obj: Context, keys: tuple[str, ...], every: bool, progress: bool | None, processes: int | None
) -> None:
    """One pass over the due sources: fetch, extract, classify, store.

    Prints a summary table. Exit 0 if at least one source succeeded or nothing was due,
    1 if every attempted source failed, 2 for a usage or config error.
    """
    from feedwatch.app.pipeline import make_classifier, run_fetch
    from feedwatch.app.workers import ProcessPool

    config = obj.config()
    known = {s.key for s in config.sources}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise click.UsageError(f"unknown source key(s): {', '.join(unknown)}")
    store = obj.store()
    classifier, version = make_classifier(obj.topics_path)
    if processes is None:  # a worker process only for a pass large enough to gain from it
        enabled = [s.key for s in config.sources if s.enabled]
        size = len(keys) or (len(enabled) if every else store.count_due(datetime.now(UTC), enabled))
        processes = auto_processes(size)
    # Worker processes start before any thread or event loop exists (they fork).
    pool = ProcessPool(processes - 1, obj.topics_path) if processes > 1 else None
    show = progress if progress is not None else _interactive(obj)
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
                offload=pool.process if pool is not None else None,
            )
        )
    finally:
        finish()
        if pool is not None:
            pool.close()
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


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def auto_processes(sources: int) -> int:
    """One worker process beside the main one when a pass is large enough to gain from it
    and a second core is there: parsing and classifying then overlap fetching and writing."""
    return 2 if sources >= AUTO_POOL_SOURCES and usable_cores() >= 2 else 1


# ---------------------------------------------------------------------------------- sources


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


@cli.command()
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
        score_topics=_topics(obj).keys if fmt == "jsonl" else (),
    )
    rows = obj.store().iter_items(query)
    if fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(item_record(row), ensure_ascii=False))
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


def _topics(obj: Context) -> Any:
    from feedwatch.app.pipeline import configured_topics

    return configured_topics(obj.topics_path)


def _check_topic(obj: Context, topic: str) -> None:
    keys = _topics(obj).keys
    if topic not in keys:
        raise click.UsageError(f"unknown topic {topic!r}: expected one of {', '.join(keys)}")


def _near_miss(obj: Context, topic: str, limit: int, fmt: str) -> None:
    from feedwatch.edges.store.topics import near_misses

    _check_topic(obj, topic)
    rows = near_misses(obj.store(), topic, limit=limit)
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


@cli.command()
@click.argument("item_ref", metavar="ITEM_ID")
@click.pass_obj
def why(obj: Context, item_ref: str) -> None:
    """The topic scores of one item and the terms that produced them."""
    from feedwatch.app.pipeline import configured_topics
    from feedwatch.edges.store.topics import TopicRow, classifier_version, find_item, topic_rows

    store = obj.store()
    item = find_item(store, item_ref)
    rows = topic_rows(store, item.id)
    click.echo(f"{item.id}  {item.title}")
    click.echo(f"{item.source}  {item.url}")
    if not rows and classifier_version(store, item.id) is None:
        click.echo("not classified yet: run `feedwatch classify`")
        return
    manual = {r.topic: r.assigned for r in rows if r.origin == "manual"}
    rule = {r.topic: r for r in rows if r.origin == "rule"}
    # A topic the item scored nothing on has no stored row: it is shown as 0.
    for configured in configured_topics(obj.topics_path).topics:
        if configured.key not in rule:
            rule[configured.key] = TopicRow(
                configured.key, "rule", 0.0, configured.threshold, False, ()
            )
    for r in sorted(rule.values(), key=lambda r: r.topic):
        decided = manual.get(r.topic, r.assigned)
        mark = "yes" if decided else "no "
        note = ""
        if r.topic in manual:
            note = f"  (label by hand: {'added' if manual[r.topic] else 'removed'})"
        click.echo(f"{mark} {r.topic:<20} score {r.score:6.2f}  threshold {r.threshold:5.2f}{note}")
        for term in r.terms:
            click.echo(f"      {term}")
    for topic, assigned in manual.items():
        if topic not in rule:  # a label on a topic the rules no longer have
            click.echo(f"{'yes' if assigned else 'no '} {topic:<20} (label by hand)")


@cli.command()
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Re-score every stored item, not only those scored by other rules.",
)
@click.pass_obj
def classify(obj: Context, every: bool) -> None:
    """(Re)classify stored items: new ones, or those scored by an older topics.yaml."""
    from feedwatch.app.pipeline import make_classifier
    from feedwatch.edges.store.topics import count_to_rescore, reclassify

    store = obj.store()
    classifier, version = make_classifier(obj.topics_path)
    assert classifier is not None and version is not None
    total = store.count_items() if every else count_to_rescore(store, version)
    show = _interactive(obj) and total > 0
    if show:
        from rich.progress import Progress

        with Progress(console=_stderr_console(), transient=True) as progress:
            task = progress.add_task("classifying", total=total)
            done = reclassify(
                store,
                classifier,
                version,
                every=every,
                progress=lambda n: progress.advance(task, n),
            )
    else:
        done = reclassify(store, classifier, version, every=every)
    if not obj.quiet:
        click.echo(f"classified {done} items with topics version {version}")


@cli.command()
@click.argument("item_ref", metavar="ITEM_ID")
@click.option("--add", "add", multiple=True, metavar="TOPIC", help="File the item under TOPIC.")
@click.option(
    "--remove", "remove", multiple=True, metavar="TOPIC", help="Take the item out of TOPIC."
)
@click.option(
    "--clear",
    "clear",
    multiple=True,
    metavar="TOPIC",
    help="Forget the human decision on TOPIC; the rules decide again.",
)
@click.pass_obj
def label(
    obj: Context,
    item_ref: str,
    add: tuple[str, ...],
    remove: tuple[str, ...],
    clear: tuple[str, ...],
) -> None:
    """A human decision that wins over the rules and survives re-classification."""
    from feedwatch.edges.store.topics import clear_label, find_item, set_label

    if not (add or remove or clear):
        raise click.UsageError("give --add TOPIC, --remove TOPIC or --clear TOPIC")
    both = set(add) & set(remove)
    if both:
        raise click.UsageError(f"both --add and --remove for {', '.join(sorted(both))}")
    for topic in (*add, *remove, *clear):
        _check_topic(obj, topic)
    store = obj.store()
    item = find_item(store, item_ref)
    for topic in add:
        set_label(store, item.id, topic, True)
    for topic in remove:
        set_label(store, item.id, topic, False)
    for topic in clear:
        clear_label(store, item.id, topic)
    if not obj.quiet:
        parts = [f"+{t}" for t in add] + [f"-{t}" for t in remove] + [f"?{t}" for t in clear]
        click.echo(f"{item.id}: {' '.join(parts)}")


@cli.command(name="eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object (n, macro_f1, topics).")
@click.pass_obj
def eval_cmd(obj: Context, file: Path, as_json: bool) -> None:
    """Classify labelled items (JSON Lines with title, text, labels) and report precision,
    recall, F1 per topic and macro-F1; without --json also the false positives and negatives."""
    from feedwatch.core.classify import evaluate

    topics = _topics(obj)
    records = []
    with file.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as exc:
                raise click.UsageError(f"{file}:{n}: not a JSON object: {exc}") from None
            if not isinstance(rec, dict) or not isinstance(rec.get("labels", []), list):
                raise click.UsageError(f"{file}:{n}: expected an object with title, text, labels")
            records.append(rec)
    report = evaluate(records, topics)
    if as_json:
        click.echo(json.dumps(report.to_json()))
        return
    click.echo(report.format_table())
    misses = report.format_misses()
    if misses:
        click.echo("")
        click.echo(misses)


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


# ---------------------------------------------------------------------------- run / status


def _host_port(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    host, _, port = value.rpartition(":")
    try:
        return (host or "127.0.0.1", int(port))
    except ValueError:
        raise click.BadParameter(f"expected HOST:PORT or PORT, got {value!r}") from None


@cli.command()
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
    from feedwatch.app.daemon import DaemonSettings, run_daemon

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


@cli.command()
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
            f"{j['id']} {_local(_parse_iso(j['next_run']))}" for j in w["info"].get("jobs", [])
        )
        click.echo(f"  {w['id']}  heartbeat {_local(w['heartbeat_at'])}  next: {jobs or '-'}")
    click.echo(
        f"sources: {len(reports)} ({sum(1 for r in reports if r.enabled)} enabled), "
        f"next check {_local(next_due)}"
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
    try:
        from feedwatch.edges.store.digests import last_digests
    except ImportError:  # pragma: no cover - digests ship with the package
        return []
    return [
        {
            "profile": r.profile,
            "period": r.period,
            "status": r.status,
            "sent": _iso(r.sent_at),
            "items": r.item_count,
            "error": r.last_error,
        }
        for r in sorted(last_digests(store).values(), key=lambda r: r.profile)
    ]


def _register_more_commands() -> None:
    from feedwatch.cli.digest import register as register_digest_commands

    register_digest_commands(cli)
    try:
        from feedwatch.cli.sources import register as register_source_commands
    except ImportError:  # pragma: no cover - in progress
        return
    register_source_commands(cli)


_register_more_commands()
cli.add_command(__import__("feedwatch.cli.web", fromlist=["web"]).web)  # feedwatch web (#18)


def main() -> None:
    cli(prog_name="feedwatch")
