"""`feedwatch fetch`: one pass over the due sources, with a summary table."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from typing import Any

import click

from feedwatch.app.pipeline import make_classifier, run_fetch
from feedwatch.app.workers import ProcessPool
from feedwatch.cli._common import Context, interactive, stderr_console, table
from feedwatch.edges.store import FetchOutcome

# `fetch` adds a worker process by itself from this many sources on (auto_processes)
AUTO_POOL_SOURCES = 50


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
        console=stderr_console(),
    )
    task: list[Any] = []

    def on_start(total: int) -> None:
        progress.start()
        task.append(progress.add_task("", total=total))

    def on_done(o: FetchOutcome) -> None:
        progress.update(task[0], advance=1, description=o.key)

    return on_start, on_done, progress.stop


def _summarytable(outcomes: tuple[FetchOutcome, ...]) -> str:
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
    return table(headers, rows, numeric={2, 3, 4, 5})


@click.command()
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
    show = progress if progress is not None else interactive(obj)
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
            click.echo(_summarytable(result.outcomes))
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
