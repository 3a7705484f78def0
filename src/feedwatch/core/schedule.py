"""When to check a source next: adaptive interval, backoff with jitter, Retry-After, max-age. Pure.

- After a success the base is the configured interval, adapted to the source's observed gap
  between new items (half the typical gap), kept within the source's minimum and maximum.
- After the n-th failure in a row: the interval doubled n-1 times, with jitter, capped at a day:
  a failing source is retried at least daily and never silently dropped.
- `Retry-After` (429/503) and `Cache-Control: max-age` can only push the next check later,
  within limits (7 days and 1 day).
"""

from __future__ import annotations

import hashlib
import re
import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

MAX_BACKOFF = timedelta(hours=24)  # a failing source is still retried at least daily
MAX_RETRY_AFTER = timedelta(days=7)
MAX_MAX_AGE = timedelta(days=1)
JITTER = 0.1  # +-10 %

_MAX_AGE_RE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*(\d+)", re.I)


def max_age(headers: Mapping[str, str]) -> float | None:
    """Seconds from Cache-Control max-age, or None."""
    value = headers.get("cache-control")
    if not value:
        return None
    m = _MAX_AGE_RE.search(value)
    return float(m.group(1)) if m else None


def typical_gap(times: Sequence[datetime], *, minimum: int = 3) -> float | None:
    """The median gap in seconds between distinct publication times, or None with fewer than
    `minimum` of them. The one rule of how often a source publishes: adaptive polling uses it,
    and so does the digest's quiet-source warning (with more evidence asked)."""
    ordered = sorted(set(times))
    if len(ordered) < max(minimum, 2):
        return None
    gaps = [(b - a).total_seconds() for a, b in zip(ordered, ordered[1:], strict=False)]
    return float(statistics.median(gaps))


def _jitter(key: str, salt: int) -> float:
    """A deterministic factor in [1 - JITTER, 1 + JITTER] per source and attempt, so that
    sources failing together do not all come back at the same moment."""
    h = hashlib.blake2b(f"{key}:{salt}".encode(), digest_size=4).digest()
    fraction = int.from_bytes(h, "big") / 0xFFFFFFFF
    return 1 - JITTER + 2 * JITTER * fraction


def adaptive_interval(
    interval: timedelta, bounds: tuple[timedelta, timedelta], gap_seconds: float | None
) -> timedelta:
    """Half the observed gap between new items, within bounds; the interval when unknown."""
    if gap_seconds is None or gap_seconds <= 0:
        return interval
    low, high = bounds
    return min(max(timedelta(seconds=gap_seconds / 2), low), high)


def next_check_at(
    key: str,
    interval: timedelta,
    now: datetime,
    *,
    consecutive_errors: int = 0,
    retry_after: float | None = None,
    cache_max_age: float | None = None,
    bounds: tuple[timedelta, timedelta] | None = None,
    gap_seconds: float | None = None,
) -> datetime:
    """The next time to fetch a source after a fetch that ended at `now`.

    consecutive_errors counts this fetch: 0 after a success, n >= 1 after the n-th failure in a row.
    """
    if consecutive_errors > 0:
        factor = 2 ** min(consecutive_errors - 1, 20)
        delay = min(interval * factor, MAX_BACKOFF) * _jitter(key, consecutive_errors)
        delay = min(delay, MAX_BACKOFF)
    else:
        delay = adaptive_interval(interval, bounds or (interval, interval), gap_seconds)
        if cache_max_age is not None:
            delay = max(delay, min(timedelta(seconds=cache_max_age), MAX_MAX_AGE))
    if retry_after is not None:
        wanted = min(max(timedelta(seconds=retry_after), timedelta(0)), MAX_RETRY_AFTER)
        delay = max(delay, wanted)
    result: datetime = now + delay
    return result
