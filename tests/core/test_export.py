"""Exports: every format from an iterator, feedparser reads the Atom, JSON Feed 1.1 shape,
JSON Lines fields of INTERFACE.md, spreadsheet-safe CSV, flat memory, and the CLI commands."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from builders import T0, make_rows, put
from click.testing import CliRunner

from feedwatch.app.deliver import publish_feeds
from feedwatch.cli import cli
from feedwatch.core import export
from feedwatch.edges.store import ItemRow, Store
from feedwatch.types import Item

JSONL_FIELDS = {
    "id", "source", "url", "title", "summary", "published", "date_source", "first_seen",
    "topics", "scores", "lang", "entities",
}  # fmt: skip


def rows() -> list[ItemRow]:
    return make_rows()


def render(fmt: str, data: list[ItemRow]) -> str:
    out = io.StringIO()
    n = export.write(fmt, iter(data), out, export.FeedInfo(title="feedwatch — test"))
    assert n == len(data)
    return out.getvalue()


def test_jsonl_has_the_interface_fields_and_matches_the_items_command() -> None:
    lines = render("jsonl", rows()).splitlines()
    assert len(lines) == len(rows())
    for line, row in zip(lines, rows(), strict=True):
        obj = json.loads(line)
        assert set(obj) == JSONL_FIELDS
        assert (obj["id"], obj["source"], obj["url"], obj["title"]) == (
            row.item.id,
            row.item.source,
            row.item.url,
            row.item.title,
        )
        assert obj["topics"] == list(row.topics) and obj["date_source"] == row.item.date_source
        assert obj["published"] is None or obj["published"].endswith("Z")


def test_atom_is_read_back_by_feedparser() -> None:
    text = render("atom", rows())
    parsed = feedparser.parse(io.BytesIO(text.encode()))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert len(parsed.entries) == len(rows())
    by_title = {e.title: e for e in parsed.entries}
    hostile = by_title["Noodopvang in sporthal <script>alert('x')</script> blijft open"]
    assert hostile.link == "https://example.org/ngo/opvang?x=1&y=%3C2%3E"
    js = by_title["[Klik hier](javascript:alert(1)) **snel** _nu_ `code` # kop | cel | <b>vet</b>"]
    assert not js.get("links")  # javascript: links are left out (feedparser falls back to the id)
    crlf = by_title["Kop met regeleinde Bcc: slachtoffer@example.org X-Test: ja"]
    assert [t.term for t in crlf.tags] == ["integratie"]
    assert all(e.id.startswith("tag:feedwatch,2026:item:") for e in parsed.entries)
    assert (
        "published"
        not in by_title["Twee landen toegevoegd aan lijst van veilige landen van herkomst"]
    )


def test_empty_atom_and_jsonfeed_are_valid() -> None:
    parsed = feedparser.parse(io.BytesIO(render("atom", []).encode()))
    assert not parsed.bozo and parsed.version == "atom10" and parsed.entries == []
    feed = json.loads(render("jsonfeed", []))
    assert feed["items"] == [] and feed["version"] == "https://jsonfeed.org/version/1.1"


def test_jsonfeed_1_1_shape() -> None:
    feed = json.loads(render("jsonfeed", rows()))
    assert feed["version"] == "https://jsonfeed.org/version/1.1" and feed["title"]
    assert len(feed["items"]) == len(rows())
    for entry in feed["items"]:
        assert isinstance(entry["id"], str)
        assert "content_text" in entry or "content_html" in entry
        if "url" in entry:
            assert entry["url"].startswith(("http://", "https://"))
        for key in ("date_published", "date_modified"):
            if key in entry:
                assert datetime.fromisoformat(entry[key].replace("Z", "+00:00")).tzinfo
    urls = [e.get("url") for e in feed["items"]]
    assert None in urls and not any(u and "javascript" in u.lower() for u in urls if u)


def test_csv_round_trips_and_is_spreadsheet_safe() -> None:
    hostile = ItemRow(
        item=Item(
            id="f1", source="s", url="https://example.org/f", title="=HYPERLINK(\"http://x\")",
            summary="+31 20 123\r\nregel twee", published=None, date_source="first-seen",
            first_seen=T0,
        ),
        topics=("migratie", "integratie"),
    )  # fmt: skip
    text = render("csv", [*rows(), hostile])
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == len(rows()) + 1
    last = table[-1]
    assert last["title"] == '\'=HYPERLINK("http://x")' and last["summary"].startswith("'+31")
    assert last["topics"] == "migratie;integratie" and last["published"] == ""


def test_markdown_export_escapes_and_links_only_http() -> None:
    text = render("md", rows())
    assert text.count("\n- ") == len(rows())
    assert "](javascript" not in text and "](data:" not in text
    assert "\\<script\\>" in text


def fake_rows(n: int) -> Iterator[ItemRow]:
    for i in range(n):
        yield ItemRow(
            item=Item(
                id=f"{i:040d}", source="bron", url=f"https://example.org/{i}",
                title=f"Bericht {i} over opvang", summary="Samenvatting " * 20,
                published=T0 - timedelta(minutes=i), date_source="feed", first_seen=T0,
            ),
            topics=("migratie",),
            scores={"migratie": 1.0},
        )  # fmt: skip


class Counter(io.TextIOBase):
    def __init__(self) -> None:
        self.chars = 0

    def write(self, s: str) -> int:
        self.chars += len(s)
        return len(s)


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_memory_stays_flat(fmt: str) -> None:
    n = 10_000
    sink = Counter()
    tracemalloc.start()
    try:
        written = export.write(fmt, fake_rows(n), sink)  # type: ignore[arg-type]
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == n and sink.chars > 800_000
    assert peak < 400_000, f"{fmt}: peak {peak} bytes for {sink.chars} characters out"


# ------------------------------------------------------------------------------------ CLI


@pytest.fixture
def filled(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    store = Store(url)
    put(store, make_rows(first_seen=T0))
    store.close()
    return url


def test_cli_export_atom_topic_parses_and_jsonl_to_file(filled: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--database-url", filled, "export", "--format", "atom", "--topic", "migratie"]
    )
    assert result.exit_code == 0, result.output
    parsed = feedparser.parse(io.BytesIO(result.output.encode()))
    assert not parsed.bozo and len(parsed.entries) == 3
    assert all("migratie" in [t.term for t in e.tags] for e in parsed.entries)
    target = tmp_path / "sub" / "items.jsonl"
    result = CliRunner().invoke(
        cli,
        ["--database-url", filled, "export", "--format", "jsonl", "--since", "2026-11-21",
         "--output", str(target)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    objs = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(objs) == 8 and all(set(o) == JSONL_FIELDS for o in objs)
    dates = [o["published"] or o["first_seen"] for o in objs]
    assert dates == sorted(dates, reverse=True)


def test_cli_export_needs_a_format(filled: str) -> None:
    assert CliRunner().invoke(cli, ["--database-url", filled, "export"]).exit_code == 2


def test_publish_writes_one_atom_and_one_json_feed_per_topic(filled: str, tmp_path: Path) -> None:
    store = Store(filled)
    titles = {"migratie": "Migratie", "integratie": "Integratie", "leeg": "Leeg"}
    paths = publish_feeds(store, titles, tmp_path, base_url="https://feeds.example.org/")
    store.close()
    assert sorted(p.name for p in paths) == sorted(
        f"{t}.{s}" for t in titles for s in ("xml", "json")
    )
    atom = feedparser.parse(io.BytesIO((tmp_path / "feeds" / "migratie.xml").read_bytes()))
    assert not atom.bozo and len(atom.entries) == 3
    assert atom.feed.links[0].href == "https://feeds.example.org/migratie.xml"
    feed = json.loads((tmp_path / "feeds" / "integratie.json").read_text())
    assert feed["feed_url"] == "https://feeds.example.org/integratie.json"
    assert len(feed["items"]) == 2
    assert json.loads((tmp_path / "feeds" / "leeg.json").read_text())["items"] == []
    assert not list((tmp_path / "feeds").glob(".*"))  # no temporary files left behind
    _ = datetime.now(UTC)
