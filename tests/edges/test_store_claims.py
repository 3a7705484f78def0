"""Claims that end with their holder (edges/store/claims.py), worker processes that hold no
database connection and end with their parent (app/workers.py); SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from feedwatch.app.workers import ProcessPool
from feedwatch.edges.store import Store
from feedwatch.edges.store.models import holders
from feedwatch.types import Source

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
HOLD = """
import sys, time
from datetime import datetime
from feedwatch.edges.store import Store
from feedwatch.types import Source
store = Store(sys.argv[1])
now = datetime.fromisoformat(sys.argv[2])
print(store.claim("test", "k", now), store.holder_id, flush=True)
store.sync_sources([Source(key="a", name="a", url="http://127.0.0.1/a.xml")], now)
print([s.key for s in store.claim_due(now, store.holder_id)], flush=True)
time.sleep(120)
"""


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _holder_process(db_url: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, db_url, NOW.isoformat()],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    claimed, holder = proc.stdout.readline().split()
    assert claimed == "True"
    assert proc.stdout.readline().strip() == "['a']"
    return proc, holder


def test_a_live_holder_keeps_its_claim_a_dead_one_loses_it_at_once(db_url: str) -> None:
    store = Store(db_url)
    proc, holder = _holder_process(db_url)
    try:
        assert store.claim_holder("test", "k") == holder
        assert not store.claim("test", "k", NOW)  # alive: refused, lease or not
        assert store.claim_due(NOW, "other") == []  # its lease on source a holds too
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # dead: taken over at once, long before the ten-minute lease would end
        assert wait_for(lambda: store.claim("test", "k", NOW + timedelta(seconds=1)))
        assert store.claim_holder("test", "k") == store.holder_id
        assert [s.key for s in store.claim_due(NOW, "other")] == ["a"]
        assert not store.claim("test", "k", NOW)  # and now this one holds it
        assert store.release_claim("test", "k")
        assert store.claim_holder("test", "k") is None
        # the dead holder is forgotten once nothing names it; the live ones stay
        store.release(None, "other")
        assert store.prune_holders() == 1
        assert store.prune_holders() == 0
        assert store.claim("test", "k", NOW)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        store.close()


def test_postgresql_tells_a_dead_holder_by_its_session(postgres: object) -> None:
    """A holder on another host: only its database session can tell that it died."""
    db_url = postgres.new_database()  # type: ignore[attr-defined]
    store = Store(db_url)
    proc, holder = _holder_process(db_url)
    try:
        with store.engine.begin() as conn:  # as if it ran elsewhere: no pid to look at
            conn.execute(update(holders).where(holders.c.id == holder).values(hostname="x"))
        assert not store.claim("test", "k", NOW)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert wait_for(lambda: store.claim("test", "k", NOW))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        store.close()


def test_an_unknown_holder_keeps_its_claim_until_the_lease_ends(store: Store) -> None:
    assert store.claim("test", "k", NOW, holder="elsewhere:1:abc")
    with store.engine.begin() as conn:
        conn.execute(holders.delete().where(holders.c.id == "elsewhere:1:abc"))
    assert not store.claim("test", "k", NOW + timedelta(minutes=9))
    assert store.claim("test", "k", NOW + timedelta(minutes=11))


def _fds(pid: int) -> list[str]:
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return out


def _socket(conn: Any) -> str:
    """What /proc shows for the socket of a PostgreSQL connection of the store."""
    return os.readlink(f"/proc/self/fd/{conn.connection.dbapi_connection.fileno()}")


def test_worker_processes_hold_no_database_connection(db_url: str, tmp_path: Path) -> None:
    store = Store(db_url)  # connected (schema check), as `feedwatch fetch` is before the pool
    store.sync_sources([Source(key="a", name="a", url="http://127.0.0.1/a.xml")], NOW)
    assert store.register_holder()  # on PostgreSQL: the holder's own session is open too
    db_file = db_url.removeprefix("sqlite:///")
    ours: set[str] = set()  # the database connections of the parent, as /proc names them
    if db_url.startswith("sqlite"):
        ours.add(db_file)
    else:
        with store.engine.connect() as conn:  # a pooled connection, kept open after this
            ours.add(_socket(conn))
        ours.add(_socket(store._anchor))
    assert ours <= set(_fds(os.getpid()))  # the check below can fail: the parent has them
    with ProcessPool(1) as pool:
        children = [p.pid for p in pool._pool._processes.values()]
        assert children
        for pid in children:
            assert not ours & set(_fds(pid))
    # the parent's store still works: its connections come back on use
    assert store.source_states()["a"].url == "http://127.0.0.1/a.xml"
    assert store.claim("test", "k", NOW)
    store.close()


POOL = """
import sys
from feedwatch.app.workers import ProcessPool
pool = ProcessPool(2)
print(*[p.pid for p in pool._pool._processes.values()], flush=True)
sys.stdin.read()
"""


def test_worker_processes_end_with_their_parent() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", POOL], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    workers = [int(p) for p in parent.stdout.readline().split()]
    assert len(workers) == 2 and all(Path(f"/proc/{w}").exists() for w in workers)
    parent.send_signal(signal.SIGKILL)
    parent.wait()

    def gone(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        return state == "Z"  # ended, waiting for init to reap it

    assert wait_for(lambda: all(gone(w) for w in workers))


def test_racing_takers_never_hold_one_claim_together(store: Store) -> None:
    """Threads of one holder (as the digest command's) and of another take and give back one
    claim in a loop: never two at once."""
    import threading

    holding: list[str] = []
    overlaps: list[int] = []
    wins: list[str] = []

    def taker(holder: str) -> None:
        for _ in range(25):
            if store.claim("test", "k", NOW, holder=holder):
                holding.append(holder)
                overlaps.append(len(holding) - 1)
                wins.append(holder)
                time.sleep(0.002)
                holding.remove(holder)
                assert store.release_claim("test", "k", holder)

    threads = [threading.Thread(target=taker, args=(h,)) for h in ("a", "a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins and not any(overlaps)
