"""`feedwatch dossier`, `feedwatch entities`, `export --entity`, dossier feeds from `publish`; the
entities of a plain feed's items found in the ordinary fetch path (#17). SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
from click.testing import CliRunner
from httpserver import TestServer

from feedwatch.cli import cli

DATA = Path(__file__).resolve().parents[1] / "data" / "connectors"

RSS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Ministerie van Asiel en Migratie</title>
<item><title>Kabinet dient Asielnoodmaatregelenwet in</title>
<link>{base}/nieuws/asielnoodmaatregelenwet</link><guid>n1</guid>
<description>Het wetsvoorstel (Kamerstuk 36704) gaat naar de Tweede Kamer. Zie ook
ECLI:NL:RVS:2026:7012 en &lt;b&gt;niets&lt;/b&gt;.</description>
<pubDate>Wed, 30 Sep 2026 08:00:00 +0000</pubDate></item>
<item><title>Opvang in Ter Apel</title><link>{base}/nieuws/ter-apel</link><guid>n2</guid>
<description>In 2026 zijn 36704 bedden nodig; bel 070 3456789.</description>
<pubDate>Thu, 01 Oct 2026 08:00:00 +0000</pubDate></item>
</channel></rss>"""


def setup(http_server: TestServer, tmp_path: Path, db_url: str) -> tuple[CliRunner, list[str]]:
    base = http_server.url("")
    odata = http_server.url("/OData/v4/2.0")
    http_server.route("/am/nieuws.rss", RSS.format(base=base))

    def page(name: str) -> bytes:
        return (DATA / "tweedekamer" / name).read_text().replace("{base}", odata).encode()

    http_server.route(
        "/OData/v4/2.0/Document",
        handler=lambda req: req.respond(
            200,
            page("document-page2.json" if "skip" in req.query else "document-page1.json"),
            {"Content-Type": "application/json"},
        ),
    )
    http_server.route(
        "/OData/v4/2.0/Zaak",
        handler=lambda req: req.respond(
            200, page("zaak-page1.json"), {"Content-Type": "application/json"}
        ),
    )
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(
        f"""network: {{allow_private: true, host_delay: 0}}
follow: ["kamerstuk:36704"]
sources:
  - key: am-nieuws
    name: Ministerie van Asiel en Migratie — nieuws
    url: {base}/am/nieuws.rss
    kind: rss
    domain: asiel
  - key: tk-asiel
    name: Tweede Kamer — dossier 36704
    kind: tweedekamer
    url: {odata}
    since: 2026-09-01
    dossiers: [36704]
    pause: 0
    domain: asiel
""",
        encoding="utf-8",
    )
    runner = CliRunner()
    args = ["--config", str(cfg), "--database-url", db_url]
    res = runner.invoke(cli, [*args, "fetch", "--all"])
    assert res.exit_code == 0, res.output
    return runner, args


def test_dossier_timeline_across_sources_oldest_first(
    http_server: TestServer, tmp_path: Path, db_url: str
) -> None:
    runner, args = setup(http_server, tmp_path, db_url)
    res = runner.invoke(cli, [*args, "dossier", "kamerstuk:36 704", "--format", "jsonl"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert [(r["source"], r["doc_kind"]) for r in rows] == [
        ("tk-asiel", "Wetgeving"),  # the Zaak, started 30 September (Amsterdam midnight)
        ("am-nieuws", "bericht"),  # 30 September, 10:00
        ("tk-asiel", "Memorie van toelichting"),
        ("tk-asiel", "Advies Raad van State"),
        ("tk-asiel", "Motie"),
    ]
    dates = [r["date"] for r in rows]
    assert dates == sorted(dates)
    assert all("kamerstuk:36704" in r["entities"] for r in rows)
    assert rows[1]["entities"] == ["ecli:ECLI:NL:RVS:2026:7012", "kamerstuk:36704"]

    table = runner.invoke(cli, [*args, "dossier", "kamerstuk:36704"])
    assert table.exit_code == 0
    lines = table.output.splitlines()
    assert lines[0].split() == ["date", "source", "kind", "title", "link"]
    assert len(lines) == 6 and "Memorie van toelichting" in lines[3]

    md = runner.invoke(cli, [*args, "dossier", "kamerstuk:36704", "--format", "md"])
    assert md.exit_code == 0
    assert "https://zoek.officielebekendmakingen.nl/dossier/36704" in md.output
    assert "[36704](https://zoek.officielebekendmakingen.nl/dossier/36704)" in md.output
    assert "<b>" not in md.output  # the source's markup stays text


def test_plain_feed_items_get_entities_and_bare_numbers_do_not(
    http_server: TestServer, tmp_path: Path, db_url: str
) -> None:
    runner, args = setup(http_server, tmp_path, db_url)
    res = runner.invoke(cli, [*args, "items", "--source", "am-nieuws", "--format", "jsonl"])
    by_title = {r["title"]: r for r in map(json.loads, res.output.splitlines())}
    assert by_title["Opvang in Ter Apel"]["entities"] == []
    assert by_title["Kabinet dient Asielnoodmaatregelenwet in"]["entities"] == [
        "ecli:ECLI:NL:RVS:2026:7012",
        "kamerstuk:36704",
    ]


def test_entities_export_entity_and_dossier_feeds(
    http_server: TestServer, tmp_path: Path, db_url: str
) -> None:
    runner, args = setup(http_server, tmp_path, db_url)
    res = runner.invoke(cli, [*args, "entities", "--format", "jsonl"])
    assert res.exit_code == 0, res.output
    counts = [json.loads(line) for line in res.output.splitlines()]
    assert counts[0]["entity"] == "kamerstuk:36704" and counts[0]["items"] == 5
    assert counts[0]["sources"] == 2
    assert {c["entity"]: c["items"] for c in counts}["ecli:ECLI:NL:RVS:2026:7012"] == 1
    only_ecli = runner.invoke(cli, [*args, "entities", "--kind", "ecli", "--format", "jsonl"])
    assert [json.loads(x)["entity"] for x in only_ecli.output.splitlines()] == [
        "ecli:ECLI:NL:RVS:2026:7012"
    ]
    later = runner.invoke(cli, [*args, "entities", "--since", "2026-10-19", "--format", "jsonl"])
    assert [json.loads(x)["items"] for x in later.output.splitlines()] == [1]  # the Motie

    exp = runner.invoke(
        cli, [*args, "export", "--entity", "ecli:ECLI:NL:RVS:2026:7012", "--format", "jsonl"]
    )
    assert exp.exit_code == 0, exp.output
    assert [json.loads(x)["source"] for x in exp.output.splitlines()] == ["am-nieuws"]
    none = runner.invoke(
        cli, [*args, "export", "--entity", "celex:32024R1347", "--format", "jsonl"]
    )
    assert (none.exit_code, none.output) == (0, "")
    atom = runner.invoke(cli, [*args, "export", "--entity", "kamerstuk:36704", "--format", "atom"])
    assert len(feedparser.parse(atom.output).entries) == 5

    out = tmp_path / "out"
    pub = runner.invoke(cli, [*args, "publish", "--output-dir", str(out)])
    assert pub.exit_code == 0, pub.output
    feed = feedparser.parse((out / "feeds" / "dossier-kamerstuk-36704.xml").read_bytes())
    assert feed.feed.title == "feedwatch — dossier kamerstuk:36704" and len(feed.entries) == 5
    jf = json.loads((out / "feeds" / "dossier-kamerstuk-36704.json").read_text())
    assert len(jf["items"]) == 5

    srcs = runner.invoke(cli, [*args, "sources", "--format", "jsonl"])
    assert {json.loads(x)["key"]: json.loads(x)["domain"] for x in srcs.output.splitlines()} == {
        "am-nieuws": "asiel",
        "tk-asiel": "asiel",
    }


def test_a_bad_entity_is_a_usage_error(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    res = CliRunner().invoke(cli, ["--database-url", db, "dossier", "kamerstuk:2026"])
    assert res.exit_code == 2
    assert "not a valid kamerstuk reference: '2026'" in res.output
    res = CliRunner().invoke(cli, ["--database-url", db, "dossier", "zaak:1"])
    assert res.exit_code == 2 and "unknown entity kind 'zaak'" in res.output
    res = CliRunner().invoke(
        cli, ["--database-url", db, "export", "--entity", "ecli:x", "--format", "jsonl"]
    )
    assert res.exit_code == 2 and "not a valid ecli reference" in res.output


def test_publish_names_a_bad_followed_entity(tmp_path: Path) -> None:
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text('follow: ["kamerstuk:2026"]\nsources: []\n', encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'x.db'}"
    res = CliRunner().invoke(
        cli, ["--config", str(cfg), "--database-url", db, "publish", "--output-dir", str(tmp_path)]
    )
    assert res.exit_code == 2 and "follow: not a valid kamerstuk reference: '2026'" in res.output
