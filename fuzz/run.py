"""Fuzz feed bytes -> items: parse_feed() then normalise() on every item, for a bounded time;
the same bytes also go to the public extract_listing() and article_date().

    .venv/bin/python fuzz/run.py --seconds 120            # atheris when installed, else mutation
    .venv/bin/python fuzz/run.py --seconds 60 --engine mutate --seed 3

A finding is any exception other than ExtractError from parse_feed or extract_listing (any
exception from article_date or normalise), or a normalised item breaking an invariant (a non-http(s) URL, a control character
or line break in the title, a date after `now` + 1 day). Each finding's input is saved under
fuzz/crashes/ (named by its hash; gitignored), and the run ends with a summary: executions,
executions per second, findings by kind. Exit status 1 when something was found.

Seeds: the feeds of tests/data/feeds, a dozen pages of tests/data/articles and every
feed-like file of demo/site (read in place),
plus a few hostile shapes written here. Coverage-guided with atheris (libFuzzer), over
feedparser, sgmllib and feedwatch.core.extract; without atheris a mutation loop (bit flips, byte
runs, splices of two seeds, XML-ish token insertions) does the same job less cleverly.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import sys
import time
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRASHES = ROOT / "fuzz" / "crashes"
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}
MAX_INPUT = 64 * 1024

TOKENS = [
    b"<item>", b"</item>", b"<entry>", b"</entry>", b"<title>", b"</title>", b"<link>",
    b"</link>", b"<guid>", b"</guid>", b"<pubDate>", b"</pubDate>", b"<updated>", b"<published>",
    b"<description>", b"<![CDATA[", b"]]>", b"&amp;", b"&#0;", b"&#xD800;", b"&#13;&#10;",
    b"&lt;script&gt;", b"<!DOCTYPE rss [<!ENTITY a 'aaaa'>]>", b"&a;", b"<?xml version='1.0'?>",
    b"encoding='utf-16'", b"encoding='x-unknown'", b"\xef\xbb\xbf", b"\xff\xfe", b"\x00",
    b"javascript:", b"xmlns='http://www.w3.org/2005/Atom'", b"<link href='", b"'/>",
    b"Fri, 31 Dec 9999 23:59:59 +0000", b"0000-00-00T00:00:00Z", b"2024-13-45T99:99:99Z",
    b"-62135596800", b"3 mei 2024", b"\r\n", b"\xe2\x80\xa8", b"{\"version\": ",
    b"\"https://jsonfeed.org/version/1.1\"", b"\"items\": [", b"\"date_published\": ",
]  # fmt: skip

EXTRA_SEEDS = [
    b"<rss version='2.0'><channel><title>t</title><item><title>a\r\nBcc: x</title>"
    b"<link>javascript:alert(1)</link><pubDate>Fri, 31 Dec 9999 23:59:59 +0000</pubDate>"
    b"</item></channel></rss>",
    b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>t</title><entry>"
    b"<title type='html'>&lt;b&gt;x&lt;/b&gt;</title><link href='/rel'/><id>1</id>"
    b"<updated>2024-01-01T00:00:00+02:00</updated></entry></feed>",
    b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1", '
    b'"url": "https://x.nl/1", "title": "a", "date_published": "2024-02-30T00:00:00Z"}]}',
    b"<!DOCTYPE rss [<!ENTITY a 'b'>]><rss><channel><item><title>&a;</title></item></channel></rss>",
    b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' xmlns='http://purl.org/rss/1.0/'>"
    b"<item><title>x</title><link>https://x.nl/</link></item></rdf:RDF>",
]


def seeds() -> list[bytes]:
    """Seed inputs read in place from the repository (nothing is copied into fuzz/)."""
    found: list[bytes] = list(EXTRA_SEEDS)
    paths = sorted((ROOT / "tests" / "data" / "feeds").glob("*"))
    paths += sorted((ROOT / "tests" / "data" / "articles").glob("*.html"))[:12]
    demo = ROOT / "demo" / "site"
    if demo.is_dir():
        paths += sorted(
            p
            for p in demo.rglob("*")
            if p.is_file() and p.suffix in (".xml", ".rss", ".atom", ".json")
        )
    for p in paths:
        data = p.read_bytes()[:MAX_INPUT]
        if data.strip():
            found.append(data)
    return found


class Finding(Exception):
    """An invariant broke; the message says which."""


def target(data: bytes) -> None:
    """One execution: raises for a finding, returns quietly otherwise."""
    import feedwatch
    from feedwatch.core.extract.feeds import parse_feed
    from feedwatch.core.normalise import normalise
    from feedwatch.errors import ExtractError

    # The public API: only ExtractError, whatever the bytes; article_date never raises.
    with contextlib.suppress(ExtractError):
        feedwatch.extract_listing(data, url="https://bron.example.nl/nieuws", now=NOW)
    when, source = feedwatch.article_date(data, url="https://bron.example.nl/nieuws/1")
    if (when is None) != (source is None) or (when is not None and when.tzinfo is None):
        raise Finding(f"article_date gave {when!r}, {source!r}")
    try:
        parsed = parse_feed("fuzz", data, HEADERS, "https://bron.example.nl/feed.xml", NOW)
    except ExtractError:
        return
    for raw in parsed.items:
        item = normalise("fuzz", raw, NOW, base_url="https://bron.example.nl/feed.xml")
        if item is None:
            continue
        if item.url and not item.url.startswith(("http://", "https://")):
            raise Finding(f"non-http url {item.url[:80]!r}")
        if any(ch in item.title for ch in "\r\n\x00\u2028\u2029\x85"):
            raise Finding(f"line break or NUL in title {item.title[:80]!r}")
        for when in (item.published, item.updated):
            if when is not None and (when.tzinfo is None or when > NOW + timedelta(days=1)):
                raise Finding(f"bad date {when!r}")


class Stats:
    def __init__(self, seconds: float) -> None:
        self.started = time.monotonic()
        self.seconds = seconds
        self.execs = 0
        self.kinds: Counter[str] = Counter()
        self.saved: dict[str, Path] = {}

    def record(self, data: bytes, exc: BaseException) -> None:
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f"{Path(frame.filename).name}:{frame.lineno}" if frame else "?"
        kind = f"{type(exc).__name__} at {where}"
        if isinstance(exc, Finding):
            kind = f"Finding: {str(exc).split(' ', 2)[0:2]}"
        first = kind not in self.kinds
        self.kinds[kind] += 1
        if first:
            CRASHES.mkdir(parents=True, exist_ok=True)
            name = hashlib.sha256(data).hexdigest()[:16]
            path = CRASHES / f"crash-{name}"
            path.write_bytes(data)
            (CRASHES / f"crash-{name}.txt").write_text(
                "".join(traceback.format_exception(exc)), encoding="utf-8"
            )
            self.saved[kind] = path
            out(f"new finding: {kind}: {str(exc)[:160]!r} -> {path.relative_to(ROOT)}")

    def done(self) -> bool:
        return time.monotonic() - self.started >= self.seconds

    def report(self, engine: str) -> int:
        elapsed = time.monotonic() - self.started
        out(
            f"engine {engine}: {self.execs} executions in {elapsed:.0f} s "
            f"({self.execs / max(elapsed, 1e-9):.0f}/s); "
            f"{sum(self.kinds.values())} findings of {len(self.kinds)} kinds"
        )
        for kind, n in self.kinds.most_common():
            out(f"  {n:6d} x {kind} (first input: {self.saved[kind].relative_to(ROOT)})")
        return 1 if self.kinds else 0


def out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def run_one(stats: Stats, data: bytes) -> None:
    stats.execs += 1
    try:
        target(data)
    except RecursionError as exc:
        stats.record(data, exc)
    except Exception as exc:  # every exception is a finding; record and go on
        stats.record(data, exc)


def mutate(rng: random.Random, pool: list[bytes]) -> bytes:
    data = bytearray(rng.choice(pool))
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(7)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:  # flip bits
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # insert a token
            data[pos:pos] = rng.choice(TOKENS)
        elif op == 2 and data:  # delete a run
            del data[pos : pos + rng.randint(1, 64)]
        elif op == 3:  # splice with another seed
            other = rng.choice(pool)
            cut = rng.randrange(len(other) + 1)
            data[pos:] = other[cut:]
        elif op == 4 and data:  # duplicate a run
            i = rng.randrange(len(data))
            data[pos:pos] = data[i : i + rng.randint(1, 256)]
        elif op == 5:  # random bytes
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:  # truncate
            del data[pos:]
    return bytes(data[:MAX_INPUT])


def run_mutation(seconds: float, seed: int) -> int:
    rng = random.Random(seed)
    pool = seeds()
    stats = Stats(seconds)
    for s in pool:
        run_one(stats, s)
    if stats.kinds:
        out("the seeds themselves raise: see above")
    while not stats.done():
        data = mutate(rng, pool)
        before = sum(stats.kinds.values())
        run_one(stats, data)
        if sum(stats.kinds.values()) == before and rng.random() < 0.01 and len(pool) < 5000:
            pool.append(data)  # keep some survivors to go deeper
    return stats.report(f"mutation (seed {seed})")


def run_atheris(seconds: float, seed: int) -> int:
    import atheris

    with atheris.instrument_imports(include=["feedparser", "sgmllib", "feedwatch"]):
        import feedparser  # noqa: F401

        import feedwatch.core.extract.feeds
        import feedwatch.core.normalise  # noqa: F401
    stats = Stats(seconds)
    corpus = Path(os.environ.get("FUZZ_CORPUS", "")) if os.environ.get("FUZZ_CORPUS") else None
    import tempfile

    corpus_dir = corpus or Path(tempfile.mkdtemp(prefix="fw-fuzz-corpus-"))
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for data in seeds():
        (corpus_dir / hashlib.sha256(data).hexdigest()[:16]).write_bytes(data)

    def one(data: bytes) -> None:
        if stats.done():
            code = stats.report(f"atheris (seed {seed})")
            sys.stdout.flush()
            os._exit(code)
        run_one(stats, data)

    atheris.Setup(
        [
            sys.argv[0],
            f"-seed={seed}",
            f"-max_len={MAX_INPUT}",
            "-rss_limit_mb=2048",
            str(corpus_dir),
        ],
        one,
    )
    atheris.Fuzz()
    return stats.report("atheris")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fuzz feed bytes -> items for a bounded time.")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--engine", choices=["auto", "atheris", "mutate"], default="auto")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    sys.path.insert(0, str(ROOT / "src"))
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "mutate"
    out(f"fuzzing parse_feed + normalise for {args.seconds:g} s with {engine}, seed {seed}")
    if engine == "atheris":
        return run_atheris(args.seconds, seed)
    return run_mutation(args.seconds, seed)


if __name__ == "__main__":
    sys.exit(main())
