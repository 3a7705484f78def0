"""Monitor cadences: when a monitor is due (pure; times are aware, the calendar is Amsterdam's).

The spelling and its parser live with the config (`config.monitors.parse_cadence`).

immediate            whenever it has matches not yet delivered
hourly               on the hour
daily 07:00          every day at that time
weekly mon 07:00     every week on that day and time
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feedwatch.types import AMSTERDAM, DAYS, Cadence

__all__ = ["AMSTERDAM", "DAYS", "Cadence", "is_due", "next_run"]


def next_run(cadence: Cadence, after: datetime) -> datetime | None:
    """The first scheduled time strictly after `after` (None for immediate), in UTC."""
    if cadence.kind == "immediate":
        return None
    local = after.astimezone(AMSTERDAM)
    if cadence.kind == "hourly":
        base = local.replace(minute=0, second=0, microsecond=0)
        out = base + timedelta(hours=1)
        return out.astimezone(UTC)
    day = local.replace(tzinfo=None).replace(hour=0, minute=0, second=0, microsecond=0)
    for offset in range(0, 9):
        candidate = (day + timedelta(days=offset)).replace(hour=cadence.hour, minute=cadence.minute)
        if cadence.kind == "weekly" and candidate.weekday() != cadence.weekday:
            continue
        aware = candidate.replace(tzinfo=AMSTERDAM)
        if aware > local:
            return aware.astimezone(UTC)
    raise AssertionError("a weekly time comes within 8 days")  # pragma: no cover


def is_due(cadence: Cadence, last_run: datetime, now: datetime) -> bool:
    """Whether a scheduled time has come since `last_run` (immediate: always)."""
    when = next_run(cadence, last_run)
    return when is None or when <= now
