"""Scheduling is pure: backoff, jitter, caps, Retry-After, max-age and adaptive intervals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from feedwatch.core.schedule import adaptive_interval, max_age, next_check_at, typical_gap
from feedwatch.types import Source

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_success_uses_the_interval() -> None:
    assert next_check_at("a", H, NOW) == NOW + H


def test_backoff_doubles_with_jitter_and_is_capped_at_a_day() -> None:
    delays = [next_check_at("a", H, NOW, consecutive_errors=n) - NOW for n in range(1, 12)]
    for n, d in enumerate(delays, start=1):
        expected = min(H * 2 ** (n - 1), timedelta(days=1))
        assert expected * 0.9 <= d <= min(expected * 1.1, timedelta(days=1))
    assert delays[-1] <= timedelta(days=1)  # never dropped: retried at least daily
    assert next_check_at("a", H, NOW, consecutive_errors=3) == next_check_at(
        "a", H, NOW, consecutive_errors=3
    )
    spread = {next_check_at(f"s{i}", H, NOW, consecutive_errors=3) for i in range(20)}
    assert len(spread) > 10  # sources failing together come back spread out


def test_retry_after_and_max_age_only_push_later() -> None:
    assert next_check_at("a", H, NOW, retry_after=7200) == NOW + 2 * H
    assert next_check_at("a", H, NOW, retry_after=60) == NOW + H
    assert next_check_at("a", H, NOW, retry_after=10**9) == NOW + timedelta(days=7)
    assert next_check_at("a", H, NOW, cache_max_age=3 * 3600) == NOW + 3 * H
    assert next_check_at("a", H, NOW, cache_max_age=10**7) == NOW + timedelta(days=1)
    assert max_age({"cache-control": "public, max-age=600"}) == 600
    assert max_age({"cache-control": "no-cache"}) is None


def test_adaptive_interval_follows_the_gap_within_bounds() -> None:
    src = Source(key="a", name="a", url="https://x.nl/", interval=H)
    low, high = src.interval_bounds
    assert (low, high) == (timedelta(minutes=15), 4 * H)
    assert adaptive_interval(H, (low, high), None) == H
    assert adaptive_interval(H, (low, high), 24 * 3600) == 4 * H  # daily publisher: at most 4 h
    assert adaptive_interval(H, (low, high), 600) == low  # very busy: at least 15 min
    assert adaptive_interval(H, (low, high), 3 * 3600) == 1.5 * H
    daily = Source(key="b", name="b", url="https://x.nl/", interval=timedelta(days=1))
    assert daily.interval_bounds == (timedelta(hours=6), timedelta(days=1))


def test_typical_gap() -> None:
    times = [NOW - timedelta(hours=h) for h in (0, 2, 4, 10)]
    assert typical_gap(times) == 2 * 3600
    assert typical_gap(times[:2]) is None


@given(st.integers(min_value=0, max_value=200), st.floats(min_value=0, max_value=1e9) | st.none())
def test_next_check_is_always_ahead_and_bounded(errors: int, retry: float | None) -> None:
    at = next_check_at("k", H, NOW, consecutive_errors=errors, retry_after=retry)
    assert NOW < at <= NOW + timedelta(days=7)
