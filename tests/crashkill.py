"""Crash safety: SIGKILL `feedwatch fetch --all` and `feedwatch digest` at random moments.

    .venv/bin/python tests/crashkill.py --fetch-trials 25 --digest-trials 25 --seed 7

Fetch: a local server (127.0.0.1) serves many sources of known item counts, slowly enough that
a run takes about a second; each trial starts `python -m feedwatch fetch --all` on one SQLite
file and kills it with SIGKILL after a random delay. After every kill: `PRAGMA integrity_check`
is "ok" and every source holds 0 or all of its items (a fetch is stored whole or not at all).
At the end one normal run completes the work.

Digest: an SMTP server (aiosmtpd) that waits before accepting each message; each trial has its
own profile; `feedwatch digest --profile <p>` is killed at a random moment, then (after the
delivery claim's lease is made to expire, as 10 minutes would) run again without a kill. The
digest must arrive at least once (never lost); a second copy is allowed only in the window
"accepted by SMTP but not yet marked sent", and those are counted. Used by tests/app/test_crash.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from httpserver import Request, TestServer

ROOT = Path(__file__).resolve().parents[1]
GROWTH = 7  # items added to every feed per trial; a count off this step is a half fetch


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
    full_run_seconds: float = 0.0
    final_ok: bool = False
    final_exit: int | None = None


def fetch_trials(
    workdir: Path, trials: int, rng: random.Random, n_sources: int = 40
) -> tuple[FetchReport, str]:
    """Kill fetch runs; returns the report and the database URL (filled by the final run)."""
    base = {f"s{i:02d}": 5 + (i * 7) % 40 for i in range(n_sources)}
    generation = [0]  # every trial adds GROWTH items to every feed

    def count(key: str, gen: int) -> int:
        return base[key] + GROWTH * gen

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
    db_path = workdir / "crash.db"
    db_url = f"sqlite:///{db_path}"
    env = _env(db_url, workdir / "out")
    cmd = [sys.executable, "-m", "feedwatch", "--config", str(cfg), "-q", "fetch", "--all"]
    report = FetchReport()
    try:
        # one timed run on a scratch database: kills are spread over a run's whole length
        scratch = {**env, "FEEDWATCH_DATABASE_URL": f"sqlite:///{workdir / 'scratch.db'}"}
        started = time.monotonic()
        subprocess.run(cmd, env=scratch, check=True, capture_output=True, timeout=60)
        report.full_run_seconds = time.monotonic() - started
        for _ in range(trials):
            generation[0] += 1
            proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            delay = rng.uniform(0.3, report.full_run_seconds * 1.1)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            report.trials += 1
            report.kill_delays.append(delay)
            if not db_path.exists():
                report.partial_states.append(0)
                continue
            with sqlite3.connect(db_path) as conn:
                report.integrity.append(conn.execute("PRAGMA integrity_check").fetchone()[0])
                stored = dict(conn.execute("SELECT source, count(*) FROM items GROUP BY source"))
            conn.close()
            # a source holds the items of one whole fetch of some generation, nothing between
            fresh = sum(1 for k, n in stored.items() if n == count(k, generation[0]))
            report.partial_states.append(fresh)
            for key, n in stored.items():
                if (n - base[key]) % GROWTH or n > count(key, generation[0]):
                    report.half_stored.append(f"{key}: {n} items")
        done = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
        report.final_exit = done.returncode
        with sqlite3.connect(db_path) as conn:
            stored = dict(conn.execute("SELECT source, count(*) FROM items GROUP BY source"))
            report.integrity.append(conn.execute("PRAGMA integrity_check").fetchone()[0])
        conn.close()
        report.final_ok = stored == {k: count(k, generation[0]) for k in base}
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
    lost: int = 0
    doubled_outside_window: int = 0
    duplicates: int = 0
    integrity: list[str] = field(default_factory=list)
    final_output: str = ""


def digest_trials(
    workdir: Path, db_url: str, trials: int, rng: random.Random, smtp_delay: float = 0.4
) -> DigestReport:
    """Kill `feedwatch digest --profile kill-NN` once per profile, then one normal run for all."""
    import socket

    from aiosmtpd.controller import Controller

    db_path = Path(db_url.removeprefix("sqlite:///"))
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
    base_cmd = [sys.executable, "-m", "feedwatch", "--config", str(workdir / "feeds.yaml"), "-q"]
    env = _env(db_url, workdir / "out")
    report = DigestReport()

    def accepted(name: str) -> int:
        return sum(1 for subject, _ in handler.accepted if subject == name)

    def status(name: str) -> str | None:
        with sqlite3.connect(db_path) as conn:
            row = conn.execute("SELECT status FROM digests WHERE profile = ?", (name,)).fetchone()
        conn.close()
        return None if row is None else str(row[0])

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
        seen: dict[str, tuple[int, str | None]] = {}
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
            seen[name] = (accepted(name), status(name))
            n, st = seen[name]
            if n == 0:
                report.killed_before_accept += 1
            elif st == "sent":
                report.killed_after_sent += 1
            else:
                report.killed_after_accept_unmarked += 1
        with sqlite3.connect(db_path) as conn:
            # the lease of a killed worker's claim runs out after 10 minutes: expire it now
            conn.execute("UPDATE digests SET claimed_until = NULL WHERE status = 'pending'")
        conn.close()
        final = subprocess.run([*base_cmd, "digest"], env=env, timeout=120, capture_output=True)
        report.final_output = (final.stdout + final.stderr).decode(errors="replace")[-2000:]
        for name, (before, st) in seen.items():
            after = accepted(name)
            if after == 0 or status(name) != "sent":
                report.lost += 1
            if after > 1:
                report.duplicates += 1
                if not (before >= 1 and st != "sent"):
                    report.doubled_outside_window += 1
        with sqlite3.connect(db_path) as conn:
            report.integrity.append(conn.execute("PRAGMA integrity_check").fetchone()[0])
        conn.close()
    finally:
        controller.stop()
    return report


def out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fetch-trials", type=int, default=20)
    parser.add_argument("--digest-trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    import tempfile

    workdir = args.dir or Path(tempfile.mkdtemp(prefix="fw-crash-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    fetch, db_url = fetch_trials(workdir, args.fetch_trials, rng)
    out(f"seed {seed}; fetch: one full run {fetch.full_run_seconds:.2f} s")
    out(
        f"fetch: {fetch.trials} kills, integrity {sorted(set(fetch.integrity))}, "
        f"sources stored at the kills {fetch.partial_states}, half-stored {fetch.half_stored}, "
        f"final run exit {fetch.final_exit}, complete {fetch.final_ok}"
    )
    digest = digest_trials(workdir, db_url, args.digest_trials, rng)
    out(
        f"digest: accepted by SMTP {digest.accept_after:.2f} s after start; "
        f"{digest.trials} kills: {digest.killed_before_accept} before SMTP accepted, "
        f"{digest.killed_after_accept_unmarked} accepted but not yet marked sent (the window), "
        f"{digest.killed_after_sent} after marked sent; lost {digest.lost}, "
        f"duplicates {digest.duplicates} ({digest.doubled_outside_window} outside the window), "
        f"integrity {sorted(set(digest.integrity))}"
    )
    out(f"{time.monotonic() - started:.1f} s")
    bad = (
        fetch.half_stored
        or set(fetch.integrity) != {"ok"}
        or not fetch.final_ok
        or digest.lost
        or digest.doubled_outside_window
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
