"""The feedwatch command line: parse options, call one function, print; honest exit codes."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from feedwatch import __version__
from feedwatch.cli import db as db_module
from feedwatch.cli import digest as digest_module
from feedwatch.cli import fetch as fetch_module
from feedwatch.cli import items as items_module
from feedwatch.cli import run as run_module
from feedwatch.cli import sources as sources_module
from feedwatch.cli._common import Context, interactive, parse_cli_date, stderr_console
from feedwatch.cli.items import check_topic, topics_of
from feedwatch.errors import ConfigError, FeedwatchError, StorageError

__all__ = ["Context", "cli", "main", "parse_cli_date"]


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
    show = interactive(obj) and total > 0
    if show:
        from rich.progress import Progress

        with Progress(console=stderr_console(), transient=True) as progress:
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
        check_topic(obj, topic)
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

    topics = topics_of(obj)
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


# ------------------------------------------------------------------------------- commands

for _command in (
    fetch_module.fetch,
    sources_module.sources,
    sources_module.add,
    items_module.items,
    digest_module.digest,
    digest_module.export_cmd,
    digest_module.publish,
    db_module.db,
    run_module.run,
    run_module.status,
):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="feedwatch")
