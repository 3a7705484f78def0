"""`feedwatch search`, `notify`, `monitors`, `monitors test` and the --monitors option, through
the CLI on a real database (SQLite; the backends are compared in tests/edges)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from builders import put
from click.testing import CliRunner
from httpserver import TestServer

from feedwatch.cli import cli
from feedwatch.edges.store import ItemRow, Store
from feedwatch.types import Item

NOW = datetime.now(UTC).replace(microsecond=0)
DATA = Path(__file__).resolve().parents[1] / "data" / "feeds"


def _row(iid: str, title: str, summary: str, topics: tuple[str, ...] = ()) -> ItemRow:
    at = NOW - timedelta(hours=1)
    item = Item(
        id=iid,
        source="coa",
        url=f"https://coa.example/{iid}",
        title=title,
        summary=summary,
        published=at,
        date_source="feed",
        first_seen=at,
        lang="nl",
        content_hash=hashlib.sha256(iid.encode()).hexdigest(),
    )
    return ItemRow(item=item, topics=topics)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[list[str], Path]:
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    (tmp_path / "feeds.yaml").write_text("sources: []\n", encoding="utf-8")
    (tmp_path / "monitors.yaml").write_text(
        "monitors:\n"
        "  - name: azc\n    query: azc -noodopvang\n    cadence: immediate\n"
        "    deliver: {markdown: true}\n"
        "  - name: wekelijks\n    topics: [migratie]\n    cadence: weekly mon 07:00\n",
        encoding="utf-8",
    )
    store = Store(url)
    put(
        store,
        [
            _row(
                "a1",
                "Nieuw AZC in Budel",
                "De gemeente Budel krijgt een azc voor 300 asielzoekers.",
            ),
            _row("a2", "Noodopvang in sporthal", "Tijdelijke opvang, geen azc.", ("migratie",)),
            _row(
                "a3", "Kabinet over gezinshereniging", "Nareizigers wachten langer.", ("migratie",)
            ),
        ],
    )
    store.close()
    return ["--config", str(tmp_path / "feeds.yaml"), "--database-url", url], tmp_path


def test_search_jsonl_has_the_item_fields_plus_snippet_and_rank(
    setup: tuple[list[str], Path],
) -> None:
    base, _ = setup
    result = CliRunner().invoke(cli, [*base, "search", "asielzoeker", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    record = json.loads(line)
    assert record["id"] == "a1" and record["rank"] > 0
    assert "«asielzoekers»" in record["snippet"]
    for key in (
        "source",
        "url",
        "title",
        "summary",
        "published",
        "date_source",
        "first_seen",
        "topics",
        "scores",
        "lang",
    ):
        assert key in record
    result = CliRunner().invoke(
        cli, [*base, "search", "azc OR gezinshereniging", "--sort", "date", "--limit", "2"]
    )
    assert result.exit_code == 0 and "Nieuw AZC in Budel" in result.output
    result = CliRunner().invoke(cli, [*base, "search", "azc", "--topic", "migratie"])
    assert "Noodopvang" in result.output and "Budel" not in result.output
    result = CliRunner().invoke(cli, [*base, "search", "zeldzaamwoord"])
    assert result.exit_code == 0 and "no matches" in result.output


def test_a_malformed_query_exits_2_and_points_at_the_position(
    setup: tuple[list[str], Path],
) -> None:
    base, _ = setup
    result = CliRunner().invoke(cli, [*base, "search", 'azc "ter apel'])
    assert result.exit_code == 2
    assert "query position 5: a quote is opened here and never closed" in result.output
    assert "Traceback" not in result.output
    assert "    ^" in result.output


def test_monitors_list_test_and_notify(setup: tuple[list[str], Path]) -> None:
    base, tmp = setup
    runner = CliRunner(env={"FEEDWATCH_OUTPUT_DIR": str(tmp / "out")})
    result = runner.invoke(cli, [*base, "monitors", "test", "azc"])
    assert result.exit_code == 0, result.output
    assert ": 1 items since" in result.output and "Nieuw AZC in Budel" in result.output
    assert "Noodopvang" not in result.output and "nothing is sent" in result.output
    assert not (tmp / "out").exists()
    result = runner.invoke(cli, [*base, "monitors", "test", "nope"])
    assert result.exit_code == 2 and "unknown monitor" in result.output
    # the first notify starts the monitors: existing items are not sent
    result = runner.invoke(cli, [*base, "notify"])
    assert result.exit_code == 0 and "nothing to deliver" in result.output
    result = runner.invoke(cli, [*base, "monitors", "--format", "jsonl"])
    records = {r["name"]: r for r in map(json.loads, result.output.splitlines())}
    assert records["azc"]["next_run"] == "on new matches" and records["azc"]["pending"] == 0
    assert records["wekelijks"]["cadence"] == "weekly mon 07:00"
    result = runner.invoke(cli, [*base, "monitors"])
    assert result.exit_code == 0 and "wekelijks" in result.output and "pending" in result.output
    # a new match goes out at once (markdown), once
    store = Store(base[3])
    put(store, [_row("a4", "Tweede azc in Budel", "Opnieuw een azc.")])
    store.close()
    result = runner.invoke(cli, [*base, "notify", "--monitor", "azc"])
    assert result.exit_code == 0 and "azc -> markdown: sent, 1 items" in result.output
    [md] = (tmp / "out" / "monitors" / "azc").glob("*.md")
    assert "Tweede azc in Budel" in md.read_text(encoding="utf-8")
    result = runner.invoke(cli, [*base, "notify"])
    assert "nothing to deliver" in result.output


def test_the_monitors_option_before_or_after_the_command_and_the_environment(
    setup: tuple[list[str], Path],
) -> None:
    base, tmp = setup
    other = tmp / "andere.yaml"
    other.write_text("monitors:\n  - name: ander\n    query: budel\n", encoding="utf-8")
    for args, env in (
        ([*base, "--monitors", str(other), "monitors"], {}),
        ([*base, "monitors", "--monitors", str(other)], {}),
        ([*base, "monitors"], {"FEEDWATCH_MONITORS": str(other)}),
    ):
        result = CliRunner(env=env).invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert "ander" in result.output and "wekelijks" not in result.output
    bad = tmp / "bad.yaml"
    bad.write_text("monitors:\n  - name: x\n    query: '(azc'\n", encoding="utf-8")
    result = CliRunner().invoke(cli, [*base, "--monitors", str(bad), "notify"])
    assert result.exit_code == 2 and f"{bad}:3:" in result.output


def test_fetch_has_no_notify_option() -> None:
    result = CliRunner().invoke(cli, ["fetch", "--help"])
    assert "--no-notify" in result.output


def test_fetch_delivers_immediate_monitors_at_the_end_unless_no_notify(
    tmp_path: Path, http_server: TestServer
) -> None:
    http_server.route("/feed.xml", body=(DATA / "rss2.xml").read_bytes())
    url = f"sqlite:///{tmp_path / 'fw.db'}"
    (tmp_path / "feeds.yaml").write_text(
        "network: {allow_private: true}\n"
        f"sources:\n  - key: test\n    name: Test\n    url: {http_server.url('/feed.xml')}\n    kind: rss\n",
        encoding="utf-8",
    )
    (tmp_path / "monitors.yaml").write_text(
        "monitors:\n  - name: opvang\n    query: opvanglocatie\n    cadence: immediate\n"
        "    deliver: {markdown: true}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    runner = CliRunner(env={"FEEDWATCH_OUTPUT_DIR": str(out)})
    cfg = ["--config", str(tmp_path / "feeds.yaml")]
    other = f"sqlite:///{tmp_path / 'other.db'}"
    result = runner.invoke(cli, [*cfg, "--database-url", other, "fetch", "--all", "--no-notify"])
    assert result.exit_code == 0, result.output
    assert not (out / "monitors").exists()
    # a monitor added before a fetch gets what that fetch finds
    base = [*cfg, "--database-url", url]
    result = runner.invoke(cli, [*base, "fetch", "--all"])
    assert result.exit_code == 0, result.output
    assert "monitors: 1 messages sent" in result.output
    [md] = (out / "monitors" / "opvang").glob("*.md")
    assert "Gemeente opent nieuwe opvanglocatie voor asielzoekers" in md.read_text(encoding="utf-8")
    result = runner.invoke(cli, [*base, "fetch", "--all"])
    assert result.exit_code == 0 and "monitors:" not in result.output
    assert len(list((out / "monitors" / "opvang").glob("*.md"))) == 1
