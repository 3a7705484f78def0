"""The feedwatch command line: parse options, call one function, print; honest exit codes."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, NoReturn

import click

from feedwatch import __version__
from feedwatch.cli import db as db_module
from feedwatch.cli import digest as digest_module
from feedwatch.cli import dossier as dossier_module
from feedwatch.cli import fetch as fetch_module
from feedwatch.cli import items as items_module
from feedwatch.cli import monitors as monitors_module
from feedwatch.cli import run as run_module
from feedwatch.cli import search as search_module
from feedwatch.cli import sources as sources_module
from feedwatch.cli import topics as topics_module
from feedwatch.cli import web as web_module
from feedwatch.cli._common import Context, parse_cli_date
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
    topics_module.why,
    topics_module.classify,
    topics_module.label,
    topics_module.eval_cmd,
    topics_module.train,
    dossier_module.dossier,
    dossier_module.entities_cmd,
    search_module.search,
    monitors_module.notify,
    monitors_module.monitors,
    web_module.web,
):
    cli.add_command(_command)
monitors_module.add_monitors_option(cli)


def main() -> None:
    cli(prog_name="feedwatch")
