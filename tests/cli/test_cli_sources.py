"""`feedwatch add URL`: feed discovery, the listing fallback, the config edit, exit codes."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner
from httpserver import TestServer

from feedwatch.app.add_source import append_source, suggest_key
from feedwatch.cli import cli
from feedwatch.config.sources import load_config

CONFIG = """\
# Mijn bronnen: commentaar dat moet blijven staan.
defaults:
  interval: 6h   # standaard

network:
  allow_private: true
  host_delay: 0

sources:

  # ---- eerste groep
  - key: bestaand
    name: Bestaande bron
    url: https://bron.example.nl/feed.xml
    kind: rss     # een feed
"""

RSS = (
    "<?xml version='1.0'?><rss version='2.0'><channel><title>Nieuws van de gemeente</title>"
    "<item><title>Eerste bericht</title><link>https://g.example.nl/1</link><guid>1</guid>"
    "<pubDate>Fri, 20 Nov 2026 10:00:00 +0000</pubDate></item>"
    "<item><title>Tweede bericht</title><link>https://g.example.nl/2</link><guid>2</guid></item>"
    "</channel></rss>"
)


def listing(extra_head: str = "") -> str:
    cards = "".join(
        f"<article class='post'><h2><a href='/nieuws/{i}'>Bericht {i} over de nieuwe opvang</a></h2>"
        f"<time datetime='2026-11-1{i}'>1{i} november 2026</time><p>Samenvatting {i}.</p></article>"
        for i in range(3)
    )
    return (
        f"<!DOCTYPE html><html><head><title>Nieuws | Gemeente</title>{extra_head}</head>"
        f"<body><main>{cards}</main></body></html>"
    )


@pytest.fixture
def cli_group() -> click.Group:
    return cli


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def run(group: click.Group, config_file: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(group, ["--config", str(config_file), "add", *args])
    return result.exit_code, result.output


def test_add_a_page_that_declares_a_feed(
    cli_group: click.Group, config_file: Path, http_server: TestServer
) -> None:
    head = "<link rel='alternate' type='application/rss+xml' title='RSS' href='/rss.xml'>"
    http_server.route("/nieuws", listing(head), content_type="text/html; charset=utf-8")
    http_server.route("/rss.xml", RSS)
    code, out = run(cli_group, config_file, http_server.url("/nieuws"), "--key", "gemeente")
    assert code == 0, out
    assert "added gemeente: rss" in out and "a feed the page links to" in out
    source = load_config(config_file).source("gemeente")
    assert (source.kind, source.url, source.name) == (
        "rss",
        http_server.url("/rss.xml"),
        "Nieuws van de gemeente",
    )


def test_add_finds_a_feed_at_a_common_path(
    cli_group: click.Group, config_file: Path, http_server: TestServer
) -> None:
    http_server.route("/nieuws", listing(), content_type="text/html; charset=utf-8")
    http_server.route("/rss.xml", RSS)
    code, out = run(cli_group, config_file, http_server.url("/nieuws"))
    assert code == 0, out
    assert "common path" in out
    added = load_config(config_file).sources[-1]
    assert (added.kind, added.url) == ("rss", http_server.url("/rss.xml"))


def test_add_a_listing_page_without_feed_keeps_comments_and_order(
    cli_group: click.Group, config_file: Path, http_server: TestServer
) -> None:
    http_server.route("/nieuws", listing(), content_type="text/html; charset=utf-8")
    code, out = run(
        cli_group, config_file, http_server.url("/nieuws"), "--name", "Gemeente — nieuws"
    )
    assert code == 0, out
    assert "html" in out and "3 items now, 3 with a date" in out
    text = config_file.read_text(encoding="utf-8")
    assert text.startswith(CONFIG)  # every comment and line kept, the entry appended
    config = load_config(config_file)
    assert [s.key for s in config.sources] == ["bestaand", "nieuws"]
    added = config.sources[-1]
    assert (added.kind, added.url, added.name) == (
        "html",
        http_server.url("/nieuws"),
        "Gemeente — nieuws",
    )


def test_add_fails_with_1_when_nothing_is_found(
    cli_group: click.Group, config_file: Path, http_server: TestServer
) -> None:
    http_server.route("/leeg", "<html><body><p>Welkom</p></body></html>", content_type="text/html")
    code, out = run(cli_group, config_file, http_server.url("/leeg"))
    assert code == 1 and "no news listing" in out
    assert config_file.read_text(encoding="utf-8") == CONFIG
    code, out = run(cli_group, config_file, http_server.url("/bestaat-niet"))
    assert code == 1 and "404" in out


def test_add_usage_errors_exit_2(cli_group: click.Group, config_file: Path) -> None:
    assert run(cli_group, config_file, "ftp://x.example.nl/")[0] == 2
    assert run(cli_group, config_file, "https://x.example.nl/", "--key", "bestaand")[0] == 2
    assert run(cli_group, config_file, "https://x.example.nl/", "--key", "Hoofd Letters")[0] == 2
    assert config_file.read_text(encoding="utf-8") == CONFIG


def test_append_falls_back_to_round_trip_when_sources_is_not_last(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    text = "# boven\nsources:\n  - key: a  # bron a\n    name: A\n    url: https://a.example.nl/\n\n# onder\ndefaults:\n  interval: 1h\n"
    path.write_text(text, encoding="utf-8")
    append_source(
        path,
        {
            "key": "b",
            "name": "B: met dubbele punt",
            "url": "https://b.example.nl/?q=1#x",
            "kind": "html",
        },
    )
    new = path.read_text(encoding="utf-8")
    assert "# boven" in new and "# bron a" in new and "# onder" in new
    data = yaml.safe_load(new)
    assert [s["key"] for s in data["sources"]] == ["a", "b"]
    assert data["sources"][1]["name"] == "B: met dubbele punt"
    assert data["sources"][1]["url"] == "https://b.example.nl/?q=1#x"
    assert data["defaults"] == {"interval": "1h"}


def test_suggested_keys_are_valid_and_unique() -> None:
    assert suggest_key("https://www.coa.nl/nl/actueel/nieuws", set()) == "coa-nieuws"
    assert suggest_key("https://www.coa.nl/nl/actueel/nieuws", {"coa-nieuws"}) == "coa-nieuws-2"
    assert suggest_key("https://ecre.org/feed/", set()) == "ecre"
