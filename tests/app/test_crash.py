"""Crash safety (issue 7 point 3): SIGKILL during `feedwatch fetch --all` and `feedwatch digest`
at random moments (tests/crashkill.py); the store stays whole and digests go out exactly once."""

from __future__ import annotations

import random
from pathlib import Path

import crashkill
import pytest

pytestmark = pytest.mark.slow


def test_sigkill_during_fetch_and_digest_loses_and_doubles_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    fetch, db_url = crashkill.fetch_trials(tmp_path, 10, rng, n_sources=20)
    assert fetch.trials == 10
    assert set(fetch.integrity) == {"ok"}, fetch.integrity
    assert fetch.half_stored == [], fetch.half_stored  # every source: a whole fetch or nothing
    assert fetch.final_exit == 0 and fetch.final_ok  # the next run completes the work
    digest = crashkill.digest_trials(tmp_path, db_url, 5, rng, smtp_delay=0.3)
    assert digest.trials == 5
    assert digest.lost == 0, digest.final_output  # every killed digest arrived after the rerun
    assert digest.doubled_outside_window == 0
    assert digest.duplicates <= digest.killed_after_accept_unmarked
    assert set(digest.integrity) == {"ok"}
