"""Crash safety (issues 7 and 13): SIGKILL during `feedwatch fetch --all` (with a worker
process) and `feedwatch digest` at random moments (tests/crashkill.py), on SQLite and
PostgreSQL: no process is left, the next run does not hang and stores what a clean run stores,
and a digest whose run was killed after its claim goes out with the next run, exactly once.
A few trials here; `python tests/crashkill.py` runs 25 per database and prints the figures."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import crashkill
import pytest
from aiosmtpd.controller import Controller

from feedwatch.edges.store import Store
from feedwatch.types import Item, SourceUpdate

pytestmark = pytest.mark.slow


def test_sigkill_during_fetch_and_digest_loses_doubles_and_leaves_nothing(
    db_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261204)
    fetch, db_url = crashkill.fetch_trials(tmp_path, 3, rng, n_sources=20, db_url=db_url)
    assert fetch.trials == 3
    assert fetch.leftover == [0, 0, 0]  # the worker process ended with its parent
    assert fetch.hung == 0 and fetch.rerun_failed == [], fetch.rerun_failed
    assert set(fetch.integrity) == {"ok"}, fetch.integrity
    assert fetch.half_stored == [], fetch.half_stored  # every source: a whole fetch or nothing
    assert fetch.final_exit == 0 and fetch.final_ok
    digest = crashkill.digest_trials(tmp_path, db_url, 2, rng, smtp_delay=0.3)
    assert digest.trials == 2
    assert digest.rerun_in_progress == 0  # the killed run's claim ended with it
    assert digest.lost == 0, digest.final_output  # every killed digest arrived with the rerun
    assert digest.doubled_outside_window == 0
    assert digest.duplicates <= digest.killed_after_accept_unmarked
    assert set(digest.integrity) == {"ok"}


class _HoldFirst:
    """An SMTP server that keeps the first client waiting at RCPT (it never gets to DATA);
    later clients are served at once. Records the messages it accepted."""

    def __init__(self) -> None:
        self.sessions = 0
        self.messages: list[bytes] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.sessions += 1
        if self.sessions == 1:
            await asyncio.sleep(120)  # the first client is killed meanwhile
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


def test_a_digest_killed_after_its_claim_goes_out_with_the_next_run_once(
    db_url: str, tmp_path: Path
) -> None:
    with Store(db_url) as store:  # one item for the digest to hold
        store.sync_sources([_source()], _now())
        from feedwatch.app.pipeline import write_update

        write_update(store, _update())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    handler = _HoldFirst()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    (tmp_path / "feeds.yaml").write_text("sources: []\n", encoding="utf-8")
    (tmp_path / "digests.yaml").write_text(
        f"smtp: {{host: 127.0.0.1, port: {port}, security: none, timeout: 60s, retries: 0}}\n"
        "profiles:\n"
        "  - {name: team, outputs: {markdown: false, email: {to: [team@example.org], "
        "from: fw@example.org}}}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDWATCH_")}
    env |= {"FEEDWATCH_DATABASE_URL": db_url, "FEEDWATCH_OUTPUT_DIR": str(tmp_path / "out")}
    cmd = [sys.executable, "-m", "feedwatch", "--config", str(tmp_path / "feeds.yaml"), "digest"]
    store = Store(db_url)
    try:
        first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.monotonic() + 60
        while handler.sessions == 0 and time.monotonic() < end and first.poll() is None:
            time.sleep(0.05)
        assert handler.sessions == 1, first.stderr.read() if first.stderr else ""
        record = store.get_digest("team", _today(store))
        assert record is not None and record.status == "pending"
        assert store.claim_holder("digest", str(record.id)) is not None  # claimed, not sent
        first.send_signal(signal.SIGKILL)
        first.wait()
        if first.stderr is not None:
            first.stderr.close()
        # the next run, at once: no lease to wait for
        again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        assert "team" in again.stdout and "sent" in again.stdout, again.stdout
        assert "in-progress" not in again.stdout
        assert len(handler.messages) == 1
        third = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert "already-sent" in third.stdout and len(handler.messages) == 1  # exactly once
        record = store.get_digest("team", _today(store))
        assert record is not None and record.status == "sent"
        assert store.claim_holder("digest", str(record.id)) is None
    finally:
        controller.stop()
        store.close()


def _today(store: Store) -> str:
    rows = store.last_digests()
    return rows["team"].period


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _source() -> Any:
    from feedwatch.types import Source

    return Source(key="s", name="Bron", url="http://127.0.0.1:9/feed.xml", kind="rss")


def _update() -> SourceUpdate:
    now = _now()
    item = Item(
        id="i1",
        source="s",
        url="https://bron.example.nl/1",
        title="Opvang van asielzoekers in de gemeente",
        summary="Het COA opent een azc.",
        published=now,
        date_source="feed",
        first_seen=now,
        content_hash="h1",
    )
    return SourceUpdate(
        key="s", started_at=now, duration=0.1, outcome="ok", url="http://x", items=(item,)
    )
