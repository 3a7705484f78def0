"""The pure decide step (core/decide.py): bytes and values in, the decided update out."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from feedwatch.core.decide import decide, process
from feedwatch.types import FetchResult, Item, Source, SourceState, StoredItems

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SOURCE = Source(key="s", name="s", url="http://127.0.0.1/feed.xml", kind="rss")


def feed(entries: list[tuple[str | None, str, str]]) -> bytes:
    """RSS of (guid, link, title) entries."""
    guid = "<guid isPermaLink='false'>{}</guid>"
    items = "".join(
        f"<item>{guid.format(g) if g is not None else ''}"
        f"<title>{t}</title><link>{link}</link><description>{t}, het COA.</description>"
        f"<pubDate>Fri, {20 - i:02d} Nov 2026 10:00:00 +0000</pubDate></item>"
        for i, (g, link, t) in enumerate(entries)
    )
    return f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()


def read(body: bytes) -> tuple[Item, ...]:
    result = FetchResult(
        source_key="s", url=SOURCE.url, final_url=SOURCE.url, status=200, body=body, fetched_at=NOW
    )
    upd = process(SOURCE, SourceState(key="s", url=SOURCE.url), result, NOW)
    assert upd.outcome == "ok", upd.error
    return upd.items


def decided(body: bytes, stored: StoredItems | None = None) -> list[tuple[str, str]]:
    result = FetchResult(
        source_key="s", url=SOURCE.url, final_url=SOURCE.url, status=200, body=body, fetched_at=NOW
    )
    upd = process(SOURCE, SourceState(key="s", url=SOURCE.url), result, NOW)
    out = decide(upd, stored or StoredItems())
    assert out.writes is not None
    return [(w.action, w.item.title) for w in out.writes]


def test_two_articles_sharing_one_guid_are_both_kept() -> None:
    body = feed([("g", "https://x.nl/a", "Eerste artikel"), ("g", "https://x.nl/b", "Tweede")])
    items = read(body)
    assert sorted(i.title for i in items) == ["Eerste artikel", "Tweede"]
    assert len({i.id for i in items}) == 2
    # the ids do not depend on the order in the feed
    swapped = read(
        feed([("g", "https://x.nl/b", "Tweede"), ("g", "https://x.nl/a", "Eerste artikel")])
    )
    assert {i.id for i in swapped} == {i.id for i in items}
    assert decided(body) == [("new", "Eerste artikel"), ("new", "Tweede")]


def test_a_verbatim_repeat_is_stored_once() -> None:
    body = feed([("g", "https://x.nl/a", "Een"), ("g", "https://x.nl/a", "Een")])
    assert [i.title for i in read(body)] == ["Een"]
    assert decided(body) == [("new", "Een")]


def test_an_empty_guid_counts_as_missing() -> None:
    with_empty = read(feed([("", "https://x.nl/a", "Een"), ("  ", "https://x.nl/b", "Twee")]))
    without = read(feed([(None, "https://x.nl/a", "Een"), (None, "https://x.nl/b", "Twee")]))
    assert [i.id for i in with_empty] == [i.id for i in without]
    assert len({i.id for i in with_empty}) == 2


def test_new_changed_unchanged_and_a_guid_that_changed_for_the_same_url() -> None:
    first = read(feed([("g1", "https://x.nl/1", "Een"), ("g2", "https://x.nl/2", "Twee")]))
    stored = StoredItems(
        by_id={first[0].id: first[0].content_hash, first[1].id: "old-hash"},
        by_url={"https://x.nl/3": ("stored-3", "h3")},
        recent=(("a", NOW - timedelta(days=9)), ("b", NOW - timedelta(days=6))),
    )
    body = feed(
        [
            ("g1", "https://x.nl/1", "Een"),
            ("g2", "https://x.nl/2", "Twee"),
            ("new-guid", "https://x.nl/3", "Drie"),
        ]
    )
    upd = process(
        SOURCE,
        SourceState(key="s", url=SOURCE.url),
        FetchResult(
            source_key="s",
            url=SOURCE.url,
            final_url=SOURCE.url,
            status=200,
            body=body,
            fetched_at=NOW,
        ),
        NOW,
    )
    out = decide(upd, stored)
    assert out.writes is not None
    assert [(w.action, w.item.title) for w in out.writes] == [
        ("changed", "Twee"),
        ("changed", "Drie"),
    ]
    assert out.writes[1].item.id == "stored-3"  # the stored item keeps its id
    assert out.counts == (0, 2, 1)
    assert out.typical_gap is None  # nothing new: nothing learned


def test_new_items_learn_the_typical_gap_from_the_newest() -> None:
    body = feed([(f"g{i}", f"https://x.nl/{i}", f"Bericht {i}") for i in range(3)])
    stored = StoredItems(recent=(("old", datetime(2026, 11, 10, 10, tzinfo=UTC)),))
    upd = process(
        SOURCE,
        SourceState(key="s", url=SOURCE.url),
        FetchResult(
            source_key="s",
            url=SOURCE.url,
            final_url=SOURCE.url,
            status=200,
            body=body,
            fetched_at=NOW,
        ),
        NOW,
    )
    out = decide(upd, stored)
    # dates 18, 19, 20 Nov and the stored 10 Nov: gaps of 8 days, 1 day, 1 day -> median 1 day
    assert out.typical_gap == 86400.0


def test_an_error_has_nothing_to_write() -> None:
    result = FetchResult(
        source_key="s", url=SOURCE.url, final_url=SOURCE.url, status=304, fetched_at=NOW
    )
    out = decide(process(SOURCE, SourceState(key="s", url=SOURCE.url), result, NOW), StoredItems())
    assert out.writes == () and out.counts == (0, 0, 0)


def test_the_worker_entry_imports_the_pure_core_only() -> None:
    """What a worker process imports (app/workers.py): no HTTP client, no database."""
    code = (
        "import sys, feedwatch.app.workers\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('httpx', 'httpcore', 'anyio', 'sqlalchemy', 'alembic', 'psycopg', 'apscheduler'))\n"
        "print(' '.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    # and the check can fail: the fetch run does import them
    code2 = code.replace("feedwatch.app.workers", "feedwatch.app.pipeline")
    out2 = subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True, check=True)
    assert "httpx" in out2.stdout.split() and "sqlalchemy" in out2.stdout.split()
