"""Hostile world: every fault of tests/faultserver.py through the real pipeline (run_fetch on
SQLite and PostgreSQL), the address policy on redirects and DNS answers, and digests and exports
built from what the hostile sources left in the store.

One run_fetch over all faults plus good sources per database backend (module-scoped), then one
test per fault on its recorded outcome and stored items. Sources are named `<fault>.example.test`
and resolved by a fake DNS to 127.0.0.1; the policy allows exactly 127.0.0.1/32, so a redirect to
127.0.0.2 (the canary), 169.254.169.254 or 10.0.0.1 must be refused before any connect.
"""

from __future__ import annotations

import asyncio
import csv
import email
import io
import json
import re
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import feedparser
import pytest
from builders import assert_inert_html
from faultserver import FAR_FUTURE, FAULTS, GOOD, SECRET, Fault, FaultServer, rss, rss_item
from httpserver import TestServer
from markdown_it import MarkdownIt

from feedwatch.app.pipeline import RunResult, run_fetch
from feedwatch.config.digests import DigestProfile
from feedwatch.config.sources import Config, NetworkConfig
from feedwatch.core import export
from feedwatch.core.digest import build_digest, period_for, render_email, render_markdown
from feedwatch.core.extract.feeds import parse_feed
from feedwatch.core.normalise import MAX_SUMMARY, MAX_TITLE
from feedwatch.edges import mail
from feedwatch.edges.http import netpolicy
from feedwatch.edges.store import ItemRow, Store
from feedwatch.types import Item, Source

DEADLINE = 2.0
SLACK = 1.5  # seconds over the deadline a source may take (scheduling, parse, store)
MEMORY_LIMIT = 48 * 1024 * 1024  # traced Python allocations over the whole hostile run
NETWORK = NetworkConfig(
    allow_private=("127.0.0.1/32",),  # the fault server only; the canary on 127.0.0.2 is refused
    concurrency=64,
    per_host=2,
    host_delay=0.0,
    connect_timeout=1.0,
    read_timeout=1.5,  # longer than the drip's 1 s gaps: only the wall-clock deadline can stop it
    deadline=DEADLINE,
    max_body=1024 * 1024,
)
_CTRL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")

pytestmark = pytest.mark.anyio


# ------------------------------------------------------------------------------- servers, DNS


@pytest.fixture(scope="module")
def canary() -> Iterator[TestServer]:
    """127.0.0.2: where external entities and private redirects point. Must see no request."""
    server = TestServer(host="127.0.0.2").start()
    server.route("/secret", b"interne gegevens")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def faults(canary: TestServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultServer]:
    secret = tmp_path_factory.mktemp("secret") / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    server = FaultServer(canary, secret_file=str(secret)).start()
    yield server
    server.stop()


FAKE_DNS: dict[str, list[str]] = {
    "mixed.example.test": ["10.9.8.7", "169.254.169.254", "127.0.0.1"],
    "metadata.example.test": ["169.254.169.254"],
    "intranet.example.test": ["10.0.0.1", "192.168.1.1", "127.0.0.2"],
    "v6-private.example.test": ["fd00::1", "::ffff:127.0.0.2", "fe80::1"],
}


async def fake_resolve(host: str, port: int) -> Sequence[str]:
    """`*.example.test` is a 'public' name of the fault server (127.0.0.1), except the names of
    FAKE_DNS; anything else goes to the real resolver (which knows 2852039166 and localhost)."""
    name = host.lower().rstrip(".")
    if name in FAKE_DNS:
        return FAKE_DNS[name]
    if name.endswith(".example.test"):
        return ["127.0.0.1"]
    return await REAL_RESOLVE(host, port)


REAL_RESOLVE = netpolicy.resolve


@pytest.fixture(scope="module")
def dns() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(netpolicy, "resolve", fake_resolve)
        yield


def fault_source(server: FaultServer, f: Fault) -> Source:
    return Source(
        key=f.name,
        name=f.name,
        url=f"http://{f.name}.example.test:{server.port}{f.path}",
        kind="rss",
    )


def good_sources(server: FaultServer) -> list[Source]:
    return [
        Source(
            key=f"good{i}",
            name=f"Goede bron {i}",
            url=f"http://good{i}.example.test:{server.port}{p}",
            kind="rss",
        )
        for i, p in enumerate(GOOD)
    ]


# ------------------------------------------------------------------------------- the run


@dataclass
class HostileRun:
    store: Store
    result: RunResult
    seconds: float
    now: datetime
    config: Config

    def items(self, key: str | None = None) -> list[Item]:
        return [r.item for r in self.store.iter_items() if key is None or r.item.source == key]

    def log(self, key: str) -> dict[str, Any]:
        rows = self.store.fetch_log(key)
        assert len(rows) == 1, (key, rows)
        return rows[0]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hostile(
    request: pytest.FixtureRequest,
    faults: FaultServer,
    canary: TestServer,
    dns: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[HostileRun]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'fw.db'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    store = Store(url)
    faults.reset()
    canary.reset()
    canary.route("/secret", b"interne gegevens")
    sources = [fault_source(faults, f) for f in FAULTS] + good_sources(faults)
    cfg = Config(path=None, sources=tuple(sources), network=NETWORK)
    now = datetime.now(UTC)
    started = time.perf_counter()
    result = asyncio.run(run_fetch(cfg, store, every=True))
    seconds = time.perf_counter() - started
    yield HostileRun(store, result, seconds, now, cfg)
    store.close()


def test_the_whole_hostile_run_is_bounded_and_the_good_sources_go_on(
    hostile: HostileRun, canary: TestServer, faults: FaultServer
) -> None:
    assert hostile.seconds < DEADLINE + SLACK + 1.0, hostile.seconds
    assert hostile.result.attempted == len(FAULTS) + len(GOOD)
    outcomes = {o.key: o for o in hostile.result.outcomes}
    for i in range(len(GOOD)):
        assert outcomes[f"good{i}"].outcome == "ok" and outcomes[f"good{i}"].new == 3
    assert canary.hits() == 0, [r.target for r in canary.requests()]
    assert faults.errors == []  # the fault handlers themselves worked as meant


def _check_stored(it: Item, now: datetime) -> None:
    where = f"{it.source}: {it.title!r}"
    assert it.url == "" or re.match(r"https?://[^\s]+$", it.url), where
    assert not _CTRL.search(it.title) and not _CTRL.search(it.summary), where
    assert 0 < len(it.title) <= MAX_TITLE + 1 and len(it.summary) <= MAX_SUMMARY + 1, where
    for when in (it.published, it.updated):
        if when is not None:
            assert datetime(1995, 1, 1, tzinfo=UTC) <= when <= now + timedelta(days=1), where
    assert SECRET not in it.title + it.summary + it.url, where
    assert "lollol" not in it.title + it.summary, where
    assert it.date_source in ("feed", "first-seen"), where
    if it.published is None:
        assert it.date_source == "first-seen", where


def test_nothing_wrong_is_stored(hostile: HostileRun) -> None:
    stored = hostile.items()
    assert stored
    for it in stored:
        _check_stored(it, hostile.now + timedelta(minutes=5))


def _titles(run: HostileRun, key: str) -> set[str]:
    return {i.title for i in run.items(key)}


# Per-fault checks on the stored items and the source's state, beyond the error kind and words.
def _slow_drip(run: HostileRun) -> None:
    assert run.log("slow-drip")["duration"] < DEADLINE + 0.5


def _quadratic(run: HostileRun) -> None:
    (item,) = run.items("quadratic")
    assert item.title == "Kop" and len(item.summary) <= MAX_SUMMARY + 1
    assert "a" * 1000 not in item.summary  # the 64 KiB entity was never expanded


def _billion(run: HostileRun) -> None:
    assert all(len(i.title) < 50 for i in run.items("billion-laughs"))


def _xxe(run: HostileRun) -> None:
    for key in ("xxe-file", "xxe-http"):
        for it in run.items(key):
            assert SECRET not in it.title + it.summary
            assert "interne gegevens" not in it.title + it.summary


def _retry_429(run: HostileRun) -> None:
    state = run.store.source_states()["too-many-429"]
    assert state.next_check_at is not None
    assert state.next_check_at >= run.now + timedelta(seconds=3600)


def _retry_503(run: HostileRun) -> None:
    state = run.store.source_states()["http-503"]
    assert state.next_check_at is not None
    assert state.next_check_at >= run.now + timedelta(hours=2) - timedelta(seconds=10)


def _gone(run: HostileRun) -> None:
    report = {r.key: r for r in run.store.source_reports()}["gone-410"]
    assert report.enabled is False and "410" in (report.disabled_reason or "")


def _moved(run: HostileRun) -> None:
    assert len(run.items("moved-301")) == 2


def _charset(run: HostileRun) -> None:
    (item,) = run.items("wrong-charset")
    assert item.title == "Coëfficiënt van de café-ruïne"
    assert item.summary == "Ingeëxporteerde ideeën over één reünie"


def _truncated(run: HostileRun) -> None:
    assert _titles(run, "truncated") == {"Eerste heel bericht", "Tweede heel bericht"}
    assert any("cut off" in w for w in run.log("truncated")["warnings"])


def _duplicates(run: HostileRun) -> None:
    # three articles (own links, own text) that share one guid: all kept apart (issue 13)
    assert _titles(run, "duplicate-guids") == {f"Dubbel bericht {i}" for i in range(3)}


def _changing(run: HostileRun) -> None:
    assert len(run.items("changing-guids")) == 1


def _no_dates(run: HostileRun) -> None:
    stored = run.items("no-dates")
    assert len(stored) == 2
    assert all(i.published is None and i.date_source == "first-seen" for i in stored)


def _future(run: HostileRun) -> None:
    stored = run.items("future-dates")
    assert len(stored) == 4
    assert all(i.published is None and i.updated is None for i in stored)
    assert FAR_FUTURE.year == 2099


def _markup(run: HostileRun) -> None:
    # markup is dropped; text the publisher escaped twice stays text (escaped when rendered)
    assert _titles(run, "markup-titles") == {"Vet nieuws", "<i>dubbel</i> geëscaped", "Klik hier"}


def _script(run: HostileRun) -> None:
    (item,) = run.items("script")
    assert item.title == "Raad besluit over opvang" and item.summary == "Tekst"


def _javascript(run: HostileRun) -> None:
    stored = run.items("javascript-links")
    assert len(stored) == 6
    for it in stored:
        assert it.url == "" or it.url.startswith(("http://", "https://")), it.url
        assert not it.url.lower().startswith(("javascript:", "data:", "vbscript:"))


def _crlf(run: HostileRun) -> None:
    assert _titles(run, "crlf-titles") == {
        "Onderwerp Bcc: slachtoffer@example.org",
        "Regel een X-Injected: ja regel twee",
        "Tab nul…eindlijn",  # feedparser reads the C1 control U+0085 as windows-1252 "…"
    }


EXTRA: dict[str, Callable[[HostileRun], None]] = {
    "slow-drip": _slow_drip,
    "quadratic": _quadratic,
    "billion-laughs": _billion,
    "xxe-file": _xxe,
    "xxe-http": _xxe,
    "too-many-429": _retry_429,
    "http-503": _retry_503,
    "gone-410": _gone,
    "moved-301": _moved,
    "wrong-charset": _charset,
    "truncated": _truncated,
    "duplicate-guids": _duplicates,
    "changing-guids": _changing,
    "no-dates": _no_dates,
    "future-dates": _future,
    "markup-titles": _markup,
    "script": _script,
    "javascript-links": _javascript,
    "crlf-titles": _crlf,
}


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault(hostile: HostileRun, fault: Fault) -> None:
    log = hostile.log(fault.name)
    state = hostile.store.source_states()[fault.name]
    assert log["duration"] < DEADLINE + SLACK, log
    if fault.error_kind is None:
        assert log["outcome"] == "ok", log
        assert state.consecutive_errors == 0
    else:
        assert log["outcome"] == "error", log
        assert log["error_kind"] == fault.error_kind, log
        assert fault.words in (log["error"] or "").lower(), log
        assert state.consecutive_errors == 1 and state.last_error == log["error"]
        assert state.next_check_at is not None and state.next_check_at > hostile.now
        assert hostile.items(fault.name) == []  # an error stores no items
    check = EXTRA.get(fault.name)
    if check is not None:
        check(hostile)


# --------------------------------------------------- digests and exports of the hostile items

PROFILE = DigestProfile(name="vijandig", title="vijandige bronnen", topics=("migratie",))


def _rows(run: HostileRun) -> list[ItemRow]:
    return [ItemRow(item=r.item, topics=("migratie",)) for r in run.store.iter_items()]


def _digest(run: HostileRun):  # type: ignore[no-untyped-def]
    since, until = run.now - timedelta(days=1), run.now + timedelta(minutes=5)
    facts = run.store.source_facts(since, until)
    from feedwatch.core.digest import assess_health

    health = assess_health(facts, since, until, "nl")
    assert any(h.source == "redirect-loopback" for h in health)  # hostile error texts are in it
    return build_digest(
        _rows(run),
        health,
        period_for(date.today()),
        PROFILE,
        since=since,
        until=until,
        topic_titles={"migratie": "Migratie"},
        source_names={s.key: s.name for s in run.config.sources},
    )


def test_markdown_digest_of_hostile_items_is_inert(hostile: HostileRun) -> None:
    text = render_markdown(_digest(hostile))
    html = MarkdownIt("commonmark").enable("table").render(text)
    links = assert_inert_html(html)
    assert links and all(not re.match(r"(?i)\s*(javascript|data|vbscript):", u) for u in links)
    assert "<script" not in html.lower() and "<i>" not in html and "<b>" not in html
    assert "&lt;i&gt;dubbel" in html  # shown as text
    assert not any(ln.startswith(("Bcc:", "X-Injected:")) for ln in text.splitlines())


def test_email_digest_of_hostile_items_has_no_live_markup_or_injected_header(
    hostile: HostileRun,
) -> None:
    subject, text, html = render_email(_digest(hostile))
    assert not _CTRL.search(subject)
    assert_inert_html(html)
    assert "<script" not in html.lower() and "&lt;i&gt;dubbel" in html
    msg = mail.build_message(
        subject=subject + " Onderwerp\r\nBcc: x@example.org",
        text=text,
        html=html,
        sender="fw@example.org",
        to=["team@example.org"],
        date=hostile.now,
    )
    parsed = email.message_from_bytes(msg.as_bytes(), policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Bcc"] is None and parsed["X-Injected"] is None
    assert sorted(k.lower() for k in parsed) == sorted(
        ["subject", "from", "to", "date", "message-id", "auto-submitted", "mime-version",
         "content-type"]
    )  # fmt: skip
    body = parsed.get_body(("plain",))
    assert body is not None
    assert not any(ln.startswith(("Bcc:", "X-Injected:")) for ln in body.get_content().splitlines())


def test_exports_of_hostile_items_are_inert(hostile: HostileRun) -> None:
    rows = _rows(hostile)
    out = {}
    for fmt in ("md", "atom", "jsonfeed", "csv", "jsonl"):
        buf = io.StringIO()
        assert export.write(fmt, iter(rows), buf, export.FeedInfo(title="feedwatch")) == len(rows)
        out[fmt] = buf.getvalue()
    assert_inert_html(MarkdownIt("commonmark").render(out["md"]))
    parsed = feedparser.parse(io.BytesIO(out["atom"].encode()), sanitize_html=False)
    assert not parsed.bozo and len(parsed.entries) == len(rows)
    for entry in parsed.entries:
        for link in entry.get("links", []):
            assert link["href"].startswith(("http://", "https://")), link
        assert not _CTRL.search(entry.title)
    feed = json.loads(out["jsonfeed"])
    for item in feed["items"]:
        assert item.get("url", "https://").startswith(("http://", "https://"))
    for row in csv.reader(io.StringIO(out["csv"])):
        assert all(not cell.startswith(("=", "+", "-", "@")) for cell in row), row
    for line in out["jsonl"].splitlines():
        json.loads(line)


@pytest.mark.parametrize(
    "name", ["gzip-bomb", "endless", "quadratic", "billion-laughs", "xxe-http", "slow-drip"]
)
def test_memory_stays_bounded(name: str, faults: FaultServer, dns: None, tmp_path: Path) -> None:
    """Python allocations (tracemalloc) over a whole run_fetch of one memory-hungry fault
    stay far below what the fault would take if it were read, inflated or expanded."""
    f = next(f for f in FAULTS if f.name == name)
    cfg = Config(path=None, sources=(fault_source(faults, f),), network=NETWORK)
    with Store(f"sqlite:///{tmp_path / 'fw.db'}") as store:
        tracemalloc.start()
        try:
            started = time.perf_counter()
            result = asyncio.run(run_fetch(cfg, store, every=True))
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"{name}: {peak / 1e6:.1f} MB traced"
    assert seconds < DEADLINE + SLACK + 1.0
    assert result.outcomes[0].outcome == ("ok" if f.error_kind is None else "error")


# ----------------------------------------------------------------- more than one fetch, daemon


async def test_changing_guids_stay_one_item_over_fetches(
    store: Store, faults: FaultServer, dns: None
) -> None:
    f = next(f for f in FAULTS if f.name == "changing-guids")
    cfg = Config(path=None, sources=(fault_source(faults, f),), network=NETWORK)
    for _ in range(3):
        result = await run_fetch(cfg, store, every=True)
        assert result.outcomes[0].outcome == "ok"
    assert store.count_items() == 1


async def test_truncated_then_whole_feed_stores_each_item_once(
    store: Store, faults: FaultServer, dns: None
) -> None:
    """Fails without the cut-off check: the half item (title only) got a title-based id, and the
    whole feed later added it again under its guid."""
    whole = rss(
        rss_item("Eerste heel bericht", "https://bron.example.nl/t1", "t1")
        + rss_item("Derde bericht wordt afgebroken", "https://bron.example.nl/t3", "t3")
    )
    cut = whole.index(b"<link>https://bron.example.nl/t3")
    faults.route("/grows.rss", whole[:cut], content_type="application/rss+xml")
    src = Source(
        key="grows", name="g", url=f"http://grows.example.test:{faults.port}/grows.rss", kind="rss"
    )
    cfg = Config(path=None, sources=(src,), network=NETWORK)
    await run_fetch(cfg, store, every=True)
    assert {r.item.title for r in store.iter_items()} == {"Eerste heel bericht"}
    faults.route("/grows.rss", whole, content_type="application/rss+xml")
    await run_fetch(cfg, store, every=True)
    assert sorted(r.item.title for r in store.iter_items()) == [
        "Derde bericht wordt afgebroken",
        "Eerste heel bericht",
    ]


def test_a_cut_off_feed_drops_only_a_cut_off_entry() -> None:
    whole = rss(
        rss_item("Een", "https://bron.example.nl/1", "1", summary="Volledige tekst van één")
        + rss_item("Twee", "https://bron.example.nl/2", "2", summary="Volledige tekst van twee")
    )
    now = datetime.now(UTC)
    parsed = parse_feed(
        "k", whole[: whole.index(b"van twee") + 4], {}, "https://bron.example.nl/", now
    )
    assert [i.title for i in parsed.items] == ["Een"]
    assert "cut off" in parsed.warnings[0]
    # a body that stops after a complete item keeps it (#14)
    for cut in (whole.index(b"</channel>"), len(whole) - 3):
        parsed = parse_feed("k", whole[:cut], {}, "https://bron.example.nl/", now)
        assert [i.title for i in parsed.items] == ["Een", "Twee"], cut
        assert "not well-formed" in parsed.warnings[0]
    whole_parsed = parse_feed("k", whole, {}, "https://bron.example.nl/", now)
    assert [i.title for i in whole_parsed.items] == ["Een", "Twee"]
    assert whole_parsed.warnings == ()


def test_the_daemon_goes_on_through_every_fault(
    tmp_path: Path, faults: FaultServer, canary: TestServer
) -> None:
    """`feedwatch run` as a process over all faults and good sources (127.0.0.1 literals): it
    records an outcome for every source, stores the good ones, keeps running, stops cleanly."""
    faults.reset()
    canary.reset()
    lines = [
        "network: {allow_private: ['127.0.0.1/32'], host_delay: 0, per_host: 4, concurrency: 40,"
        f" deadline: {DEADLINE}, read_timeout: 1.5, connect_timeout: 1, max_body: 1048576}}",
        "sources:",
    ]
    keys = []
    for f in FAULTS:
        lines.append(
            f"  - {{key: {f.name}, name: {f.name}, url: '{faults.url(f.path)}', kind: rss}}"
        )
        keys.append(f.name)
    for i, p in enumerate(GOOD):
        lines.append(f"  - {{key: good{i}, name: good{i}, url: '{faults.url(p)}', kind: rss}}")
        keys.append(f"good{i}")
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db_url = f"sqlite:///{tmp_path / 'fw.db'}"
    Store(db_url).close()
    env = {"FEEDWATCH_DATABASE_URL": db_url, "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "feedwatch", "--config", str(cfg), "-q", "run", "--tick", "0.5"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        done: set[str] = set()
        while time.monotonic() < deadline and len(done) < len(keys):
            time.sleep(0.3)
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            with Store(db_url) as store:
                done = {r["source"] for r in store.fetch_log(limit=1000)}
        assert done == set(keys)
        time.sleep(0.5)
        assert proc.poll() is None  # still running after every fault
        with Store(db_url) as store:
            reports = {r.key: r for r in store.source_reports()}
            assert all(reports[f"good{i}"].item_count == 3 for i in range(len(GOOD)))
            assert reports["slow-drip"].consecutive_errors == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert canary.hits() == 0


# -------------------------------------------------------------- address policy (point 2)


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Store]:
    """SQLite only: the policy tests are about the network, the store is just where it lands."""
    with Store(f"sqlite:///{tmp_path / 'fw.db'}") as s:
        yield s


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("metadata.example.test", "resolves to 169.254.169.254, a link-local address"),
        ("intranet.example.test", "resolves to 10.0.0.1, a private address"),
        ("v6-private.example.test", "resolves to fd00::1, a private address"),
        ("[::1]", "::1 is a loopback address"),
    ],
)
async def test_names_resolving_only_to_private_addresses_are_refused_before_connect(
    lite: Store, faults: FaultServer, canary: TestServer, dns: None, host: str, words: str
) -> None:
    canary.reset()
    src = Source(key="s", name="s", url=f"http://{host}:{canary.port}/secret", kind="rss")
    cfg = Config(path=None, sources=(src,), network=NETWORK)
    result = await run_fetch(cfg, lite, every=True)
    (o,) = result.outcomes
    assert o.outcome == "error" and o.http_status is None
    assert words in (o.error or "") and "allow_private" in (o.error or "")
    assert lite.fetch_log("s")[0]["error_kind"] == "refused-address"
    assert canary.hits() == 0


async def test_mixed_dns_answer_connects_only_to_the_allowed_address(
    lite: Store, faults: FaultServer, canary: TestServer, dns: None
) -> None:
    """mixed.example.test -> 10.9.8.7, 169.254.169.254, 127.0.0.1: the refused ones are
    skipped without a connect attempt, the allowed one is used."""
    attempts: list[str] = []
    inner_connect = netpolicy.httpcore.AnyIOBackend.connect_tcp

    async def spy(self, host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        attempts.append(host)
        return await inner_connect(self, host, port, *args, **kwargs)

    src = Source(
        key="m", name="m", url=f"http://mixed.example.test:{faults.port}{GOOD[0]}", kind="rss"
    )
    cfg = Config(path=None, sources=(src,), network=NETWORK)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(netpolicy.httpcore.AnyIOBackend, "connect_tcp", spy)
        result = await run_fetch(cfg, lite, every=True)
    assert result.outcomes[0].outcome == "ok" and result.outcomes[0].new == 3
    assert attempts == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/to-metadata.rss", "169.254.169.254 is a link-local address"),
        ("/to-loopback.rss", "127.0.0.2 is a loopback address"),
        ("/to-private.rss", "10.0.0.1 is a private address"),
        ("/to-decimal.rss", "2852039166 resolves to 169.254.169.254, a link-local address"),
    ],
)
async def test_public_source_redirecting_inward_is_refused_before_connect(
    lite: Store, faults: FaultServer, canary: TestServer, dns: None, path: str, words: str
) -> None:
    canary.reset()
    attempts: list[str] = []
    inner_connect = netpolicy.httpcore.AnyIOBackend.connect_tcp

    async def spy(self, host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        attempts.append(host)
        return await inner_connect(self, host, port, *args, **kwargs)

    src = Source(key="p", name="p", url=f"http://news.example.test:{faults.port}{path}", kind="rss")
    cfg = Config(path=None, sources=(src,), network=NETWORK)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(netpolicy.httpcore.AnyIOBackend, "connect_tcp", spy)
        result = await run_fetch(cfg, lite, every=True)
    (o,) = result.outcomes
    assert o.outcome == "error" and words in (o.error or ""), o.error
    assert attempts == ["127.0.0.1"]  # only the first hop was ever connected to
    assert canary.hits() == 0


async def test_dns_rebinding_is_checked_on_every_connection(
    lite: Store, faults: FaultServer, canary: TestServer
) -> None:
    """The name answers 127.0.0.1 (allowed) first, then the canary's 127.0.0.2: the second
    fetch is refused, because every connection resolves and checks again."""
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])

    async def rebinding(host: str, port: int) -> Sequence[str]:
        return next(answers)

    canary.reset()
    canary.route(GOOD[0], b"interne gegevens")
    src = Source(
        key="r", name="r", url=f"http://rebind.example.test:{faults.port}{GOOD[0]}", kind="rss"
    )
    cfg = Config(path=None, sources=(src,), network=replace(NETWORK))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(netpolicy, "resolve", rebinding)
        first = await run_fetch(cfg, lite, every=True)
        second = await run_fetch(cfg, lite, every=True)
    assert first.outcomes[0].outcome == "ok"
    assert second.outcomes[0].outcome == "error"
    assert "127.0.0.2, a loopback address" in (second.outcomes[0].error or "")
    assert canary.hits() == 0
