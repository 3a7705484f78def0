"""When to check a source next: interval, backoff with jitter, Retry-After, max-age. Pure."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
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


def _jitter(key: str, salt: int) -> float:
    """A deterministic factor in [1 - JITTER, 1 + JITTER] per source and attempt, so that
    sources failing together do not all come back at the same moment."""
    h = hashlib.blake2b(f"{key}:{salt}".encode(), digest_size=4).digest()
    fraction = int.from_bytes(h, "big") / 0xFFFFFFFF
    return 1 - JITTER + 2 * JITTER * fraction


def next_check_at(
    key: str,
    interval: timedelta,
    now: datetime,
    *,
    consecutive_errors: int = 0,
    retry_after: float | None = None,
    cache_max_age: float | None = None,
) -> datetime:
    """The next time to fetch a source after a fetch that ended at `now`.

    consecutive_errors counts this fetch: 0 after a success, n >= 1 after the n-th failure in a row.
    """
    if consecutive_errors > 0:
        factor = 2 ** min(consecutive_errors - 1, 20)
        delay = min(interval * factor, MAX_BACKOFF) * _jitter(key, consecutive_errors)
        delay = min(delay, MAX_BACKOFF)
    else:
        delay = interval
        if cache_max_age is not None:
            delay = max(delay, min(timedelta(seconds=cache_max_age), MAX_MAX_AGE))
    if retry_after is not None:
        wanted = min(max(timedelta(seconds=retry_after), timedelta(0)), MAX_RETRY_AFTER)
        delay = max(delay, wanted)
    result: datetime = now + delay
    return result
