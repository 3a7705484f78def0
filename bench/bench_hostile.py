"""Resource bounds (issue 7 point 5): run_fetch over 200 sources of which 50 are hostile.

    .venv/bin/python bench/bench_hostile.py [--runs 3] [--deadline 5]

150 ordinary feeds (20 items each) and 50 hostile sources cycling through every fault of
tests/faultserver.py (slow drip, endless body, gzip bomb, entity bombs, redirects inward, 429,
truncated XML, ...), all on 127.0.0.1 under distinct `*.example.test` names (a fake resolver),
with the default limits except the deadline. Each run is a fresh process on a fresh SQLite file;
it prints wall time, peak RSS (resource.getrusage, the whole process) and the outcome per fault;
the summary is the median of the runs. Fails (exit 1) when peak RSS reaches 300 MB or a run
takes longer than the deadline plus 20 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
RSS_LIMIT_MB = 300.0


def one_run(deadline: float) -> dict[str, object]:
    """One measured run in this process; returns the figures as a dict."""
    from faultserver import FAULTS, FaultServer, good_feed
    from httpserver import TestServer

    from feedwatch.app.pipeline import run_fetch
    from feedwatch.config.sources import Config, NetworkConfig
    from feedwatch.edges.http import netpolicy
    from feedwatch.edges.store import Store
    from feedwatch.types import Source

    async def fake_resolve(host: str, port: int) -> list[str]:
        if host.endswith(".example.test"):
            return ["127.0.0.1"]
        return list(await real(host, port))

    real = netpolicy.resolve
    netpolicy.resolve = fake_resolve  # type: ignore[assignment]
    canary = TestServer("127.0.0.2").start()
    server = FaultServer(canary).start()
    for i in range(150):
        server.route(f"/feed-{i}.rss", good_feed(f"bron{i}", 20))
    sources = [
        Source(
            key=f"good{i:03d}",
            name=f"bron {i}",
            url=f"http://good{i:03d}.example.test:{server.port}/feed-{i}.rss",
            kind="rss",
        )
        for i in range(150)
    ]
    hostile: dict[str, str] = {}
    for i in range(50):
        fault = FAULTS[i % len(FAULTS)]
        key = f"h{i:02d}-{fault.name}"
        hostile[key] = fault.name
        sources.append(
            Source(
                key=key,
                name=key,
                url=f"http://{key}.example.test:{server.port}{fault.path}",
                kind="rss",
            )
        )
    network = NetworkConfig(allow_private=("127.0.0.1/32",), deadline=deadline)
    cfg = Config(path=None, sources=tuple(sources), network=network)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        started = time.perf_counter()
        result = asyncio.run(run_fetch(cfg, store, every=True))
        wall = time.perf_counter() - started
        store.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    outcomes: dict[str, list[str]] = {}
    good = Counter[str]()
    for o in result.outcomes:
        if o.key in hostile:
            what = o.outcome if o.outcome != "error" else f"error: {(o.error or '')[:70]}"
            outcomes.setdefault(hostile[o.key], []).append(f"{what} ({o.duration:.1f} s)")
        else:
            good[o.outcome] += 1
    server.stop()
    canary.stop()
    return {
        "wall": wall,
        "peak_mb": peak_mb,
        "good": dict(good),
        "faults": outcomes,
        "canary_hits": canary.hits(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=5.0, help="network.deadline, seconds")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        sys.stdout.write(json.dumps(one_run(args.deadline)) + "\n")
        return 0
    runs = []
    for n in range(args.runs):
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--deadline", str(args.deadline)],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        runs.append(figures)
        sys.stdout.write(
            f"run {n + 1}: {figures['wall']:.2f} s, peak RSS {figures['peak_mb']:.0f} MB, "
            f"good sources {figures['good']}, canary hits {figures['canary_hits']}\n"
        )
    wall = statistics.median(float(r["wall"]) for r in runs)  # type: ignore[arg-type]
    peak = statistics.median(float(r["peak_mb"]) for r in runs)  # type: ignore[arg-type]
    sys.stdout.write(
        f"\n200 sources (50 hostile), deadline {args.deadline:g} s, median of {len(runs)}: "
        f"wall {wall:.2f} s, peak RSS {peak:.0f} MB (limit {RSS_LIMIT_MB:.0f} MB)\n\n"
        "fault outcomes (last run):\n"
    )
    faults = runs[-1]["faults"]
    assert isinstance(faults, dict)
    for name, seen in sorted(faults.items()):
        sys.stdout.write(f"  {name:18s} {'; '.join(sorted(set(seen)))}\n")
    ok = (
        peak < RSS_LIMIT_MB
        and wall < args.deadline + 20
        and all(r["canary_hits"] == 0 for r in runs)
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
