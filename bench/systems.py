"""The systems under test, each run in its own process: feedwatch, reader, httpx + feedparser.

    python bench/systems.py feedwatch --base URL --feeds LIST --runs 5 --db sqlite|URL ...
    python bench/systems.py reader --base URL --feeds LIST --runs 5
    python bench/systems.py baseline --base URL --feeds LIST --runs 5

Prints one JSON object on its last line: per pass a list of (seconds, items) per run, and the
process's peak RSS. A fresh database for every run; the server's mode is switched through its
/__mode/ URL. `LIST` is a file of "path kind" lines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: getrusage's figure starts at the parent's on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mb() -> float:
    """The largest peak RSS of the worker processes that have ended (0 without workers)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 1024 / 1024


def _kb(path: str, fields: tuple[str, ...]) -> int:
    total = 0
    try:
        with open(path) as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name in fields:
                    total += int(rest.split()[0])
    except OSError:
        pass
    return total


class Footprint:
    """Samples, every 0.1 s, this process's RSS plus the private pages (USS) of its worker
    processes: what the pair holds in memory, a forked worker's shared pages counted once."""

    def __init__(self, pids: list[int]) -> None:
        import threading

        self.pids = pids
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def sample(self) -> float:
        kb = _kb("/proc/self/status", ("VmRSS",))
        for pid in self.pids:
            kb += _kb(f"/proc/{pid}/smaps_rollup", ("Private_Clean", "Private_Dirty"))
        self.peak_mb = max(self.peak_mb, kb / 1024)
        return self.peak_mb

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.sample()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.sample()


def set_mode(base: str, mode: str) -> None:
    with urllib.request.urlopen(f"{base}/__mode/{mode}") as r:
        r.read()


def read_list(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text().splitlines():
        p, k = line.split()
        out.append((p, k))
    return out


# ---------------------------------------------------------------------------- feedwatch


def feedwatch(args: argparse.Namespace) -> dict[str, Any]:
    from feedwatch.app.pipeline import make_classifier, run_fetch
    from feedwatch.config.sources import Config, NetworkConfig
    from feedwatch.edges.store import Store
    from feedwatch.types import Source

    docs = read_list(args.feeds)
    sources = tuple(
        Source(
            key=f"s{i:04d}",
            name=f"Bron {i}",
            url=args.base + path,
            kind=kind,  # type: ignore[arg-type]
            interval=timedelta(hours=1),
        )
        for i, (path, kind) in enumerate(docs)
    )
    config = Config(
        path=None,
        sources=sources,
        network=NetworkConfig(
            allow_private=True,
            concurrency=args.concurrency,
            per_host=args.concurrency,  # one loopback host stands in for a thousand sites
            host_delay=0.0,
        ),
    )
    classifier, version = make_classifier(None)
    pool = None
    if args.processes:  # before any thread: the workers fork from a single-threaded process
        from feedwatch.app.workers import ProcessPool

        pool = ProcessPool(args.processes)
        assert pool.classifier_version == version
    after_import = current_rss_mb()
    footprint = Footprint(list(pool._pool._processes) if pool is not None else [])
    passes: dict[str, list[tuple[float, int]]] = {"first": [], "304": [], "unchanged": []}
    tmp = Path(tempfile.mkdtemp(prefix="fw-bench-"))

    def cycle(store: Store) -> tuple[float, int]:
        started = time.perf_counter()
        result = asyncio.run(
            run_fetch(
                config,
                store,
                every=True,
                classifier=classifier,
                classifier_version=version,
                enrich_limit=0,
                offload=pool.process if pool is not None else None,
            )
        )
        seconds = time.perf_counter() - started
        if result.failed:
            errs = [o.error for o in result.outcomes if o.outcome == "error"][:3]
            raise SystemExit(f"{result.failed} sources failed: {errs}")
        return seconds, sum(o.new + o.updated + o.unchanged for o in result.outcomes)

    if args.sweep:  # one first cycle, then only the 304 and unchanged-body passes
        store = Store(f"sqlite:///{tmp / 'sweep.db'}")
        set_mode(args.base, "validators")
        cycle(store)
        for _ in range(args.runs):
            passes["304"].append(cycle(store))
            set_mode(args.base, "novalidators")
            passes["unchanged"].append(cycle(store))
            set_mode(args.base, "validators")
            cycle(store)  # the validators back in the store for the next 304 pass
        store.close()
        footprint.stop()
        return {"passes": passes, "rss_after_import": after_import, "peak_rss": peak_rss_mb()}
    for run in range(args.runs):
        url = (
            f"sqlite:///{tmp / f'run{run}.db'}"
            if args.db == "sqlite"
            else new_pg_database(args.db, f"fwbench_{run}")
        )
        store = Store(url)
        set_mode(args.base, "validators")
        passes["first"].append(cycle(store))
        passes["304"].append(cycle(store))
        set_mode(args.base, "novalidators")
        passes["unchanged"].append(cycle(store))
        set_mode(args.base, "validators")
        store.close()
    peak_footprint = footprint.stop()
    if pool is not None:
        pool.close()
    return {
        "passes": passes,
        "rss_after_import": after_import,
        "peak_rss": peak_rss_mb(),
        "worker_peak_rss": children_peak_rss_mb(),
        "peak_footprint": peak_footprint,
    }


def new_pg_database(server_uri: str, name: str) -> str:
    import psycopg

    with psycopg.connect(server_uri, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, query = server_uri.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}" + (f"?{query}" if query else "")


# ------------------------------------------------------------------------------- reader


def reader_runs(args: argparse.Namespace) -> dict[str, Any]:
    from reader import make_reader

    docs = read_list(args.feeds)
    after_import = current_rss_mb()
    passes: dict[str, list[tuple[float, int]]] = {"first": [], "304": [], "unchanged": []}
    tmp = Path(tempfile.mkdtemp(prefix="reader-bench-"))
    for run in range(args.runs):
        rd = make_reader(str(tmp / f"run{run}.sqlite"))
        for path, _kind in docs:
            rd.add_feed(args.base + path)

        def cycle(rd: Any = rd) -> tuple[float, int]:
            started = time.perf_counter()
            results = list(rd.update_feeds_iter(workers=args.workers, scheduled=False))
            seconds = time.perf_counter() - started
            errors = [r for r in results if isinstance(r.value, Exception)]
            if errors:
                raise SystemExit(f"reader: {len(errors)} feeds failed: {errors[:2]}")
            seen = sum(
                (r.value.new + r.value.modified) if r.value is not None else 0 for r in results
            )
            return seconds, seen

        set_mode(args.base, "validators")
        passes["first"].append(cycle())
        passes["304"].append(cycle())
        set_mode(args.base, "novalidators")
        passes["unchanged"].append(cycle())
        set_mode(args.base, "validators")
        counts = rd.get_entry_counts()
        passes.setdefault("entries", []).append((0.0, counts.total))
        rd.close()
    return {"passes": passes, "rss_after_import": after_import, "peak_rss": peak_rss_mb()}


# ----------------------------------------------------------------------------- baseline


def baseline(args: argparse.Namespace) -> dict[str, Any]:
    """httpx.AsyncClient fetches, feedparser (defaults) parses, nothing is stored."""
    import io

    import feedparser
    import httpx

    docs = read_list(args.feeds)
    after_import = current_rss_mb()
    passes: dict[str, list[tuple[float, int]]] = {"first": []}

    async def one_pass() -> int:
        sem = asyncio.Semaphore(args.concurrency)
        total = 0
        limits = httpx.Limits(max_connections=args.concurrency)
        async with httpx.AsyncClient(limits=limits) as client:

            async def one(path: str) -> None:
                nonlocal total
                async with sem:
                    r = await client.get(args.base + path)
                parsed = feedparser.parse(io.BytesIO(r.content))
                total += len(parsed.entries)

            await asyncio.gather(*(one(p) for p, _k in docs))
        return total

    set_mode(args.base, "validators")
    for _ in range(args.runs):
        started = time.perf_counter()
        n = asyncio.run(one_pass())
        passes["first"].append((time.perf_counter() - started, n))
    return {"passes": passes, "rss_after_import": after_import, "peak_rss": peak_rss_mb()}


SYSTEMS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "feedwatch": feedwatch,
    "reader": reader_runs,
    "baseline": baseline,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system", choices=sorted(SYSTEMS))
    parser.add_argument("--base", required=True)
    parser.add_argument("--feeds", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--processes", type=int, default=0, help="feedwatch: worker processes")
    parser.add_argument("--sweep", action="store_true", help="feedwatch: 304/unchanged passes only")
    args = parser.parse_args()
    print(json.dumps(SYSTEMS[args.system](args)), flush=True)


if __name__ == "__main__":
    main()
