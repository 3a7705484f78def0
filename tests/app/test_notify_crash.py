"""A `feedwatch notify` killed (SIGKILL) while its webhook request is in flight: the next run
delivers at once (the claim died with its holder), every match arrives, none in two messages."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from builders import put
from httpserver import Request, TestServer

from feedwatch.app.notify import notify_for
from feedwatch.config.sources import load_config
from feedwatch.edges.store import ItemRow, Store
from feedwatch.edges.store import deliveries as db
from feedwatch.types import Item

NOW = datetime.now(UTC).replace(microsecond=0)


def _row(i: int) -> ItemRow:
    at = NOW - timedelta(minutes=30) + timedelta(seconds=i)
    item = Item(
        id=f"k{i}",
        source="coa",
        url=f"https://coa.example/k{i}",
        title=f"Nieuw azc nummer {i}",
        summary="",
        published=at,
        date_source="feed",
        first_seen=at,
        lang="nl",
        content_hash=hashlib.sha256(f"k{i}".encode()).hexdigest(),
    )
    return ItemRow(item=item)


class HangingReceiver:
    """Holds the first request open (never answers it); answers later ones with 200."""

    def __init__(self, server: TestServer) -> None:
        self.got_first = threading.Event()
        self.release = threading.Event()
        self.answered: list[tuple[str, dict[str, object]]] = []  # (idempotency key, body)
        self.hung: list[tuple[str, dict[str, object]]] = []
        server.route("/hook", handler=self)
        self.url = server.url("/hook")

    def __call__(self, req: Request) -> None:
        body = json.loads(req.raw.rfile.read(int(req.headers["content-length"])))
        key = req.headers["idempotency-key"]
        if not self.got_first.is_set():
            self.hung.append((key, body))
            self.got_first.set()
            self.release.wait(60)
            return
        self.answered.append((key, body))
        req.respond(200, b"ok")


def _run_notify(root: Path, db_url: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, FEEDWATCH_DATABASE_URL=db_url, FEEDWATCH_OUTPUT_DIR=str(root / "out"))
    return subprocess.Popen(
        [sys.executable, "-m", "feedwatch", "--config", str(root / "feeds.yaml"), "notify"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_sigkill_during_delivery_then_restart_delivers_every_match_once(
    db_url: str, http_server: TestServer, tmp_path: Path
) -> None:
    recv = HangingReceiver(http_server)
    (tmp_path / "feeds.yaml").write_text(
        "network: {allow_private: true}\nsources: []\n", encoding="utf-8"
    )
    (tmp_path / "monitors.yaml").write_text(
        f"monitors:\n  - name: azc\n    query: azc\n    cadence: immediate\n"
        f"    deliver: {{webhook: {{url: '{recv.url}'}}}}\n",
        encoding="utf-8",
    )
    store = Store(db_url)
    config = load_config(tmp_path / "feeds.yaml")
    assert notify_for(config, store, NOW - timedelta(hours=1)) == []  # the monitor starts
    put(store, [_row(i) for i in range(25)])

    first = _run_notify(tmp_path, db_url)
    try:
        assert recv.got_first.wait(60), first.communicate(timeout=5)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        recv.release.set()
    assert first.returncode == -signal.SIGKILL

    second = _run_notify(tmp_path, db_url)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err.decode()
    assert b"sent, 25 items" in out

    [(hung_key, hung_body)] = recv.hung
    [(key, body)] = recv.answered
    assert key == hung_key  # the same message, retried: a receiver can tell a repeat
    ids = [i["id"] for i in body["items"]]  # type: ignore[union-attr]
    assert sorted(ids) == sorted(f"k{i}" for i in range(25))
    assert db.pending_deliveries(store.engine) == []
    # nothing is left to send: a third run sends nothing
    third = _run_notify(tmp_path, db_url)
    out, _err = third.communicate(timeout=120)
    assert b"nothing to deliver" in out
    assert len(recv.answered) == 1
    store.close()
