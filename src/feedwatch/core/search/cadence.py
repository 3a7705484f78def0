"""Monitor cadences: when a monitor is due (pure; times are aware, the calendar is Amsterdam's).

immediate            whenever it has matches not yet delivered
hourly               on the hour
daily 07:00          every day at that time
weekly mon 07:00     every week on that day and time
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

__all__ = ["AMSTERDAM", "Cadence", "is_due", "next_run", "parse_cadence"]

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FORM = re.compile(
    r"^\s*(?:(immediate)|(hourly)|daily\s+(\d{1,2}):(\d{2})|weekly\s+([a-z]{3})\s+(\d{1,2}):(\d{2}))\s*$"
)


@dataclass(frozen=True, slots=True)
class Cadence:
    kind: Literal["immediate", "hourly", "daily", "weekly"]
    hour: int = 0
    minute: int = 0
    weekday: int = 0  # 0 = Monday

    def __str__(self) -> str:
        if self.kind in ("immediate", "hourly"):
            return self.kind
        at = f"{self.hour:02d}:{self.minute:02d}"
        return f"daily {at}" if self.kind == "daily" else f"weekly {DAYS[self.weekday]} {at}"


def parse_cadence(text: str) -> Cadence:
    """A cadence from its spelling; ValueError in plain words."""
    m = _FORM.match(text.lower()) if isinstance(text, str) else None
    expected = "expected immediate, hourly, 'daily HH:MM' or 'weekly DAY HH:MM' (DAY: mon..sun)"
    if m is None:
        raise ValueError(f"{expected}, got {text!r}")
    if m.group(1):
        return Cadence("immediate")
    if m.group(2):
        return Cadence("hourly")
    if m.group(3) is not None:
        hour, minute, day = int(m.group(3)), int(m.group(4)), 0
        kind: Literal["daily", "weekly"] = "daily"
    else:
        if m.group(5) not in DAYS:
            raise ValueError(f"{expected}, got the day {m.group(5)!r}")
        hour, minute, day = int(m.group(6)), int(m.group(7)), DAYS.index(m.group(5))
        kind = "weekly"
    if hour > 23 or minute > 59:
        raise ValueError(f"{expected}, got the time {hour}:{minute:02d}")
    return Cadence(kind, hour, minute, day)


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
