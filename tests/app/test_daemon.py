"""`feedwatch run` as a real process: ticks, clean stop on signals, reload, and scale-out of
several workers over one PostgreSQL with leases (a killed worker loses nothing)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from httpserver import Request, TestServer

from feedwatch.edges.store import Store

pytestmark = pytest.mark.slow


def feed(key: str, n: int = 2) -> bytes:
    items = "".join(
        f"<item><title>{key} bericht {i}</title><link>https://bron.example.nl/{key}/{i}</link>"
        f"<guid>{key}-{i}</guid><pubDate>Fri, 20 Nov 2026 1{i}:00:00 +0000</pubDate></item>"
        for i in range(n)
    )
    return f"<rss version='2.0'><channel><title>{key}</title>{items}</channel></rss>".encode()


def write_config(path: Path, server: TestServer, keys: list[str], interval: str = "1h") -> None:
    lines = ["network: {allow_private: ['127.0.0.1/32'], host_delay: 0, per_host: 4}", "sources:"]
    for k in keys:
        lines.append(
            f"  - {{key: {k}, name: {k}, url: '{server.url('/' + k + '.xml')}', kind: rss, "
            f"interval: {interval}}}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def start_worker(
    config: Path, db: str, *extra: str, log: Path | None = None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FEEDWATCH_DATABASE_URL": db,
        "FEEDWATCH_OUTPUT_DIR": str(config.parent / "out"),
    }
    env.pop("FEEDWATCH_ALLOW_PRIVATE", None)
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "feedwatch",
            "--config",
            str(config),
            "--log-format",
            "json",
            "run",
            "--tick",
            "0.5",
            *extra,
        ],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def wait_for(predicate, timeout: float = 20.0, step: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return False


def ticks(db: str, pid: int) -> int:
    """How many ticks the worker with this pid has reported in its heartbeat row."""
    with Store(db) as store:
        rows = [w for w in store.worker_rows() if w["pid"] == pid]
    return max((int((w["info"] or {}).get("ticks", 0)) for w in rows), default=0)


def count_items(db: str) -> int:
    with Store(db) as store:
        return store.count_items()


def fetches_per_source(db: str) -> dict[str, int]:
    with Store(db) as store:
        log = store.fetch_log(limit=100000)
    out: dict[str, int] = {}
    for row in log:
        out[row["source"]] = out.get(row["source"], 0) + 1
    return out


def logged(log: Path, words: str) -> bool:
    return log.exists() and words in log.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Mailbox:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.received.append(envelope.content)
        return "250 OK"


@pytest.fixture
def worker_procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_run_fetches_and_stops_cleanly_on_sigterm(
    tmp_path: Path, http_server: TestServer, worker_procs: list[subprocess.Popen[bytes]]
) -> None:
    keys = ["a", "b", "c"]
    for k in keys:
        http_server.route(f"/{k}.xml", body=feed(k), etag=f'"{k}"')
    cfg = tmp_path / "feeds.yaml"
    write_config(cfg, http_server, keys)
    db = f"sqlite:///{tmp_path / 'fw.db'}"
    log = tmp_path / "run.log"
    proc = start_worker(cfg, db, log=log)
    worker_procs.append(proc)
    assert wait_for(lambda: all(http_server.hits(f"/{k}.xml") == 1 for k in keys))
    assert wait_for(lambda: count_items(db) == 6)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    fetched = [entry for entry in lines if entry.get("source")]
    assert {e["source"] for e in fetched} == set(keys)
    assert all({"status", "http", "new", "duration"} <= set(e) for e in fetched)
    assert any(e["message"] == "stopped cleanly" for e in lines)
    # not due again within the hour: a restart resumes the plan instead of refetching
    proc = start_worker(cfg, db)
    worker_procs.append(proc)
    assert wait_for(lambda: ticks(db, proc.pid) >= 3)  # three ticks that found nothing due
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0
    assert all(http_server.hits(f"/{k}.xml") == 1 for k in keys)
    with Store(db) as store:
        workers = store.worker_rows()
        assert len(workers) == 2 and all(w["stopped_at"] is not None for w in workers)


def fetching_slowly(
    tmp_path: Path,
    server: TestServer,
    procs: list[subprocess.Popen[bytes]],
    grace: str,
    log: Path | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """A worker (and its database URL) in the middle of its first tick: fetching a feed that
    drips for 20 s. The worker joins `procs` (killed at the end of the test)."""

    def slow(r: Request) -> None:
        r.drip(feed("slow"), interval=0.5, step=40)

    server.route("/slow.xml", handler=slow)
    cfg = tmp_path / "feeds.yaml"
    write_config(cfg, server, ["slow"])
    db = f"sqlite:///{tmp_path / 'fw.db'}"
    proc = start_worker(cfg, db, "--grace", grace, log=log)
    procs.append(proc)
    assert wait_for(lambda: server.hits("/slow.xml") == 1)
    return proc, db


def test_sigterm_waits_for_a_slow_fetch_then_a_second_signal_exits_at_once(
    tmp_path: Path, http_server: TestServer, worker_procs: list[subprocess.Popen[bytes]]
) -> None:
    log = tmp_path / "run.log"
    proc, db = fetching_slowly(tmp_path, http_server, worker_procs, "30", log=log)
    proc.send_signal(signal.SIGTERM)
    assert wait_for(lambda: logged(log, "finishing in-flight fetches"))
    assert proc.poll() is None  # still finishing the in-flight fetch (it drips for 20 s)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) != 0  # the second signal: out at once
    with Store(db) as store:  # the database is intact and holds nothing half-written
        assert store.count_items() in (0, 2)
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_a_worker_stopped_during_its_first_tick_is_listed_with_its_stop(
    tmp_path: Path, http_server: TestServer, worker_procs: list[subprocess.Popen[bytes]]
) -> None:
    proc, db = fetching_slowly(tmp_path, http_server, worker_procs, "0.5")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    with Store(db) as store:
        workers = store.worker_rows()
    assert [w["pid"] for w in workers] == [proc.pid]
    assert workers[0]["stopped_at"] is not None


def test_sighup_reloads_the_config(
    tmp_path: Path, http_server: TestServer, worker_procs: list[subprocess.Popen[bytes]]
) -> None:
    for k in ("a", "b", "c"):
        http_server.route(f"/{k}.xml", body=feed(k))
    cfg = tmp_path / "feeds.yaml"
    write_config(cfg, http_server, ["a", "b"])
    db = f"sqlite:///{tmp_path / 'fw.db'}"
    proc = start_worker(cfg, db)
    worker_procs.append(proc)
    assert wait_for(lambda: http_server.hits("/a.xml") == 1 and http_server.hits("/b.xml") == 1)
    write_config(cfg, http_server, ["a", "c"])  # b removed, c added
    proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: http_server.hits("/c.xml") == 1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    with Store(db) as store:
        reports = {r.key: r for r in store.source_reports()}
    assert reports["b"].enabled is False and reports["b"].in_config is False
    assert reports["b"].item_count == 2  # kept, not deleted
    assert reports["c"].enabled is True and reports["c"].item_count == 2


def test_health_and_metrics_endpoint(
    tmp_path: Path, http_server: TestServer, worker_procs: list[subprocess.Popen[bytes]]
) -> None:
    import socket
    import urllib.request

    http_server.route("/a.xml", body=feed("a"))
    cfg = tmp_path / "feeds.yaml"
    write_config(cfg, http_server, ["a"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = start_worker(cfg, f"sqlite:///{tmp_path / 'fw.db'}", "--metrics", f"127.0.0.1:{port}")
    worker_procs.append(proc)

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                return r.status, r.read().decode()
        except OSError:
            return 0, ""

    assert wait_for(lambda: get("/healthz")[0] == 200)
    assert wait_for(lambda: 'feedwatch_fetches_total{outcome="ok"} 1.0' in get("/metrics")[1])
    assert "feedwatch_new_items_total 2.0" in get("/metrics")[1]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


@pytest.mark.postgres
def test_three_workers_share_200_sources_and_survive_a_kill(
    tmp_path: Path,
    http_server: TestServer,
    postgres,
    worker_procs: list[subprocess.Popen[bytes]],  # type: ignore[no-untyped-def]
) -> None:
    """200 sources due every 6 s, 3 workers on one PostgreSQL: every source fetched once per
    period; then one worker is killed with SIGKILL mid-cycle and its sources come back to the
    others after the lease (4 s) expires; nothing is stored twice."""
    keys = [f"s{i:03d}" for i in range(200)]

    def slowish(key: str):  # type: ignore[no-untyped-def]
        def handler(r: Request) -> None:
            time.sleep(0.02)
            r.respond(200, feed(key), {"Content-Type": "application/rss+xml"})

        return handler

    for k in keys:
        http_server.route(f"/{k}.xml", handler=slowish(k))
    cfg = tmp_path / "feeds.yaml"
    write_config(cfg, http_server, keys, interval="6s")
    mails = _Mailbox()
    smtp = Controller(mails, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    # A digest profile whose time (midnight) has passed today: every worker that starts tries
    # to catch it up at once; it must leave exactly once.
    (tmp_path / "digests.yaml").write_text(
        f"smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none, retries: 0}}\n"
        "profiles:\n"
        "  - name: team\n"
        "    schedule: '0 0 * * *'\n"
        "    outputs: {markdown: false, email: {to: [team@example.org], from: fw@example.org}}\n",
        encoding="utf-8",
    )
    db = postgres.new_database()
    Store(db).close()  # create the schema once, as `feedwatch db upgrade` would
    for n in range(3):
        worker_procs.append(
            start_worker(cfg, db, "--lease", "10", "--batch", "40", log=tmp_path / f"w{n}.log")
        )
    t_start = time.monotonic()
    # first period: every source fetched exactly once
    assert wait_for(lambda: all(http_server.hits(f"/{k}.xml") >= 1 for k in keys), timeout=60)
    first_round = {k: http_server.hits(f"/{k}.xml") for k in keys}
    assert set(first_round.values()) == {1}
    # a second period for every source, then one worker is killed in the middle of a cycle
    assert wait_for(lambda: min(fetches_per_source(db).values()) >= 2, timeout=60)
    victim = worker_procs[0]
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    # a replacement worker starts: it catches up today's digest too, which was already sent
    worker_procs.append(
        start_worker(cfg, db, "--lease", "10", "--batch", "40", log=tmp_path / "w3.log")
    )
    # every source, the victim's included, fetched in two more periods after the kill
    assert wait_for(lambda: min(fetches_per_source(db).values()) >= 4, timeout=90)
    total_time_s = round(time.monotonic() - t_start)
    for p in worker_procs[1:]:
        p.send_signal(signal.SIGTERM)
    for p in worker_procs[1:]:
        assert p.wait(timeout=15) == 0
    smtp.stop()
    assert len(mails.received) == 1, [m[:300] for m in mails.received]
    with Store(db) as store:
        assert store.count_items() == 400  # nothing lost, nothing doubled
        log = store.fetch_log(limit=100000)
        by_source: dict[str, list] = {}
        for row in log:
            by_source.setdefault(row["source"], []).append(row["started_at"])
        assert set(by_source) == set(keys)
        min_gap = float("inf")
        for k, times in by_source.items():
            times.sort()
            gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
            min_gap = min([min_gap, *gaps])
            # due every 6 s: never fetched twice within a period, never skipped for long
            assert all(g >= 5.0 for g in gaps), (k, gaps)
            assert len(times) >= 3, (k, len(times))
        reports = store.source_reports()
        assert all(r.consecutive_errors == 0 for r in reports)
        assert all(r.item_count == 2 for r in reports)
    hits = [http_server.hits(f"/{k}.xml") for k in keys]
    fetches = [len(t) for t in by_source.values()]
    sys.stderr.write(
        f"\nscale-out: 200 sources x 6 s periods over ~{total_time_s} s with 3 workers + 1 "
        f"replacement: requests per source min {min(hits)} max {max(hits)} "
        f"mean {sum(hits) / len(hits):.2f}; stored fetches per source min {min(fetches)} "
        f"max {max(fetches)}; smallest gap between two fetches of one source "
        f"{min_gap:.2f} s; digests mailed {len(mails.received)}\n"
    )
    # requests the server saw: one per stored fetch, plus at most one the kill cut short
    for k in keys:
        assert http_server.hits(f"/{k}.xml") <= len(by_source[k]) + 1


def test_due_today() -> None:
    from datetime import UTC, datetime

    from apscheduler.triggers.cron import CronTrigger

    from feedwatch.app.daemon import due_today

    seven = CronTrigger.from_crontab("0 7 * * *", timezone="Europe/Amsterdam")
    # 05:59 UTC is 06:59 in Amsterdam (winter): not yet; 06:01 UTC is 07:01: due
    assert not due_today(seven, datetime(2026, 11, 22, 5, 59, tzinfo=UTC))
    assert due_today(seven, datetime(2026, 11, 22, 6, 1, tzinfo=UTC))
    # 23:30 UTC on the 22nd is already the 23rd in Amsterdam, before 07:00
    assert not due_today(seven, datetime(2026, 11, 22, 23, 30, tzinfo=UTC))
    weekly = CronTrigger.from_crontab("0 7 * * mon", timezone="Europe/Amsterdam")
    assert not due_today(weekly, datetime(2026, 11, 22, 12, 0, tzinfo=UTC))  # a Sunday
