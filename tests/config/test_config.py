"""Config validation: one clear message with file, line and expectation; exit 2 before any fetch."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from httpserver import TestServer

from feedwatch.cli import cli
from feedwatch.config.sources import load_config, parse_duration
from feedwatch.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
defaults:
  interval: 2h
network:
  allow_private: ["127.0.0.1/32"]
sources:
  - key: ind-nieuws
    name: IND nieuws
    organisation: IND
    url: https://ind.nl/nl/nieuws
    kind: html
    selectors:
      item: article
  - key: ecre
    name: ECRE
    url: https://ecre.org/feed/
    kind: rss
    interval: 30m
    enabled: false
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "feeds.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_good_config_loads(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD), environ={})
    a, b = cfg.sources
    assert a.key == "ind-nieuws" and a.interval == timedelta(hours=2) and a.line == 6
    assert a.selectors is not None and a.selectors.item == "article"
    assert b.interval == timedelta(minutes=30) and b.enabled is False and b.kind == "rss"
    assert cfg.network.allow_private == ("127.0.0.1/32",)


def test_shipped_config_loads() -> None:
    cfg = load_config(ROOT / "config" / "feeds.yaml", environ={})
    assert len(cfg.sources) >= 15
    assert any(s.enabled for s in cfg.sources)
    assert cfg.network.allow_private is False
    orgs = {s.organisation for s in cfg.sources}
    for org in ("Rijksoverheid", "IND", "COA", "Raad van State", "VluchtelingenWerk", "Amnesty"):
        assert any(org in o for o in orgs), org


def test_demo_config_loads() -> None:
    cfg = load_config(ROOT / "demo" / "feeds.yaml", environ={})
    assert all(s.url.startswith("http://127.0.0.1:") for s in cfg.sources)


def test_env_turns_private_addresses_on(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD), environ={"FEEDWATCH_ALLOW_PRIVATE": "1"})
    assert cfg.network.allow_private is True


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            GOOD.replace("    kind: rss\n", "    kind: rss\n    colour: red\n"),
            17,
            "unknown key 'sources[1].colour'",
        ),
        (GOOD.replace("    name: ECRE\n", ""), 13, "missing field 'sources[1].name'"),
        (
            GOOD.replace("https://ecre.org/feed/", "ftp://ecre.org/feed/"),
            15,
            "expected an http(s) URL",
        ),
        (GOOD.replace("https://ecre.org/feed/", "not a url"), 15, "expected an http(s) URL"),
        (
            GOOD.replace("key: ecre", "key: ind-nieuws"),
            13,
            "duplicate source key 'ind-nieuws' (first used on line 6)",
        ),
        (
            GOOD.replace("    interval: 30m\n", "    interval: 30 minutes\n"),
            17,
            "expected a duration such as 30m, 1h or 1d",
        ),
        (GOOD.replace("  interval: 2h\n", "  interval: -1h\n"), 2, "expected a duration"),
        (
            GOOD.replace("    kind: rss\n", "    kind: rss\n    kind: atom\n"),
            17,
            "duplicate key 'kind' (first given on line 16)",
        ),
        (
            GOOD.replace("    kind: rss\n", "    kind: podcast\n"),
            16,
            "sources[1].kind: expected 'rss', 'atom'",
        ),
        (
            GOOD.replace("key: ecre", "key: ECRE News"),
            13,
            "expected lower-case letters, digits and '-'",
        ),
        (GOOD.replace('["127.0.0.1/32"]', '["localhost"]'), 4, "expected an address or network"),
        (GOOD.replace("    enabled: false\n", "    enabled: maybe\n"), 18, "enabled"),
        (
            GOOD.replace("      item: article\n", "      item: article\n      colour: x\n"),
            13,
            "unknown key 'sources[0].selectors.colour'",
        ),
        (
            GOOD
            + "  - key: x\n    name: X\n    url: https://x.org/\n    kind: rss\n    selectors: {item: a}\n",
            23,
            "only html sources take selectors",
        ),
        ("sources:\n  - key: a\n    name: [unclosed\n", 4, "not valid YAML"),
        ("- just\n- a list\n", 1, "expected a mapping"),
    ],
)
def test_config_errors_name_file_line_and_expectation(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    err = info.value
    assert err.path == path
    assert err.line == line, str(err)
    assert words in str(err)
    assert str(err).startswith(f"{path}:{line}: ")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml", environ={})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 1800),
        ("1h", 3600),
        ("1d", 86400),
        ("2h30m", 9000),
        ("1w", 604800),
        ("45s", 45),
        (90, 90),
    ],
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["", "h", "1x", "one hour", "0m", True, -5, "1.5h"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_cli_config_error_exits_2_before_any_request(
    tmp_path: Path, http_server: TestServer
) -> None:
    http_server.route("/feed.xml", body=b"<rss version='2.0'><channel></channel></rss>")
    text = (
        "network: {allow_private: true}\nsources:\n"
        f"  - key: ok\n    name: OK\n    url: {http_server.url('/feed.xml')}\n    kind: rss\n"
        "  - key: bad\n    name: Bad\n    url: https://example.org/\n    intervall: 1h\n"
    )
    path = write(tmp_path, text)
    result = CliRunner().invoke(
        cli, ["--config", str(path), "--database-url", f"sqlite:///{tmp_path}/db.sqlite", "fetch"]
    )
    assert result.exit_code == 2
    assert f"{path}:10: unknown key 'sources[1].intervall'" in result.output
    assert http_server.hits() == 0


def test_env_allow_private_is_one_rule(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)  # network.allow_private: ["127.0.0.1/32"]
    assert load_config(path, environ={"FEEDWATCH_ALLOW_PRIVATE": ""}).network.allow_private == (
        "127.0.0.1/32",
    )
    for on in ("1", "true", "YES", "on"):
        cfg = load_config(path, environ={"FEEDWATCH_ALLOW_PRIVATE": on})
        assert cfg.network.allow_private is True
    # "0" refuses private addresses; an explicit allow-list in the file stays
    off = load_config(path, environ={"FEEDWATCH_ALLOW_PRIVATE": "0"})
    assert off.network.allow_private == ("127.0.0.1/32",)
    plain = write(tmp_path, GOOD.replace('allow_private: ["127.0.0.1/32"]', "allow_private: true"))
    assert (
        load_config(plain, environ={"FEEDWATCH_ALLOW_PRIVATE": "false"}).network.allow_private
        is False
    )
    with pytest.raises(ConfigError, match="FEEDWATCH_ALLOW_PRIVATE: expected 1 or 0"):
        load_config(path, environ={"FEEDWATCH_ALLOW_PRIVATE": "maybe"})


BAD_SELECTOR = """\
network:
  allow_private: true
sources:
  - key: krant
    name: Krant
    url: http://127.0.0.1:9/nieuws
    kind: html
    selectors:
      item: "div[["
"""


def test_a_bad_css_selector_is_a_config_error_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, BAD_SELECTOR), environ={})
    assert info.value.line == 9
    assert "selectors.item" in str(info.value) and "'div[['" in str(info.value)


def test_fetch_with_a_bad_selector_exits_2_naming_file_line_and_selector(tmp_path: Path) -> None:
    path = write(tmp_path, BAD_SELECTOR)
    result = CliRunner().invoke(
        cli,
        ["--config", str(path), "--database-url", f"sqlite:///{tmp_path / 'fw.db'}", "fetch"],
    )
    assert result.exit_code == 2
    assert f"{path}:9: sources[0].selectors.item: expected a CSS selector, got 'div[['" in (
        result.output
    )
    assert "Traceback" not in result.output
    assert not (tmp_path / "fw.db").exists()  # nothing ran, not even the database
