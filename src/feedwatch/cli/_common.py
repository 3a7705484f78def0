"""What the command modules share: the typed context, dates on the command line, tables."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from feedwatch.config.sources import Config, load_config
from feedwatch.edges.store import Store
from feedwatch.types import AMSTERDAM


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


def local(value: datetime | None) -> str:
    return value.astimezone(AMSTERDAM).strftime("%Y-%m-%d %H:%M") if value else "-"


def stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def interactive(obj: Context) -> bool:
    """Progress bars only for a person at a terminal: not in pipes, cron or CI."""
    return sys.stderr.isatty() and not obj.quiet and not os.environ.get("CI")


def table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]], numeric: set[int]) -> str:
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
