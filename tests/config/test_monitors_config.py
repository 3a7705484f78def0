"""config/monitors.yaml: the shipped file loads; every mistake names file and line; a
digests.yaml beside it is read as daily monitors with a deprecation warning."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from feedwatch.config.monitors import load_monitors, monitors_path, parse_monitors
from feedwatch.core.search.cadence import Cadence
from feedwatch.core.search.query import query_problem
from feedwatch.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_monitors_file_loads_and_its_examples_are_disabled() -> None:
    cfg = load_monitors(ROOT / "config" / "monitors.yaml", legacy_digests=False)
    assert cfg.monitors and not any(m.enabled for m in cfg.monitors)


GOOD = """
smtp: {host: smtp.example.org}
monitors:
  - name: spreidingswet
    query: 'spreidingswet OR "spreiding van asielzoekers"'
    topics: [asielzoekerscentrum]
    sources: [coa-nieuws]
    entities: ["kamerstuk:36704", "ecli:ECLI:NL:RVS:2026:7012"]
    cadence: weekly mon 07:00
    deliver:
      markdown: true
      email: {to: [redactie@example.org]}
      webhook: {url: "https://hooks.example.org/x", secret_env: FEEDWATCH_WEBHOOK_SECRET}
      apprise: ["ntfys://ntfy.example/asiel"]
"""


def test_a_full_monitor() -> None:
    [m] = parse_monitors(GOOD, Path("m.yaml"), check_query=query_problem).monitors
    assert m.cadence == Cadence("weekly", 7, 0, 0)
    assert m.entities == ("kamerstuk:36704", "ecli:ECLI:NL:RVS:2026:7012")
    assert (
        m.deliver.webhook is not None and m.deliver.webhook.secret_env == "FEEDWATCH_WEBHOOK_SECRET"
    )
    assert m.deliver.apprise == ("ntfys://ntfy.example/asiel",)
    assert m.query_text is not None and m.deliver.email is not None


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("monitors:\n  - name: x\n    query: 'azc (ter'\n", 3, "never closed (at character 5)"),
        ("monitors:\n  - name: x\n    query: azc\n    cadence: daily 7\n", 4, "expected immediate"),
        ("monitors:\n  - name: x\n    query: azc\n    colour: red\n", 4, "unknown key"),
        (
            "monitors:\n  - name: x\n    query: azc\n    deliver: {email: {to: [a@b.nl]}}\n",
            4,
            "smtp",
        ),
        (
            "monitors:\n  - name: x\n    query: a\n  - name: x\n    query: b\n",
            4,
            "duplicate monitor name",
        ),
        ("monitors:\n  - name: x\n    cadence: hourly\n", 2, "at least one of query"),
        ("monitors:\n  - name: x\n    entities: [36704]\n", 3, "expected a valid string"),
        ("monitors:\n  - name: x\n    entities: ['dossier:36704']\n", 3, "KIND:ID"),
        (
            "monitors:\n  - name: x\n    query: a\n    deliver: {webhook: {url: 'ftp://x'}}\n",
            4,
            "http(s) URL",
        ),
        (
            "monitors:\n  - name: x\n    query: a\n    deliver: {webhook: {url: 'https://x.org', secret_env: 'a b'}}\n",
            4,
            "environment variable",
        ),
        (
            "monitors:\n  - name: x\n    query: a\n    deliver: {markdown: false}\n",
            4,
            "at least one of markdown",
        ),
        ("monitors:\n  - name: X Y\n    query: a\n", 2, "lower-case"),
        (
            "monitors:\n  - name: x\n    query: a\n    deliver: {email: {to: [a@b.nl], subject: '{nope}'}}\nsmtp: {host: h}\n",
            4,
            "placeholders",
        ),
    ],
)
def test_mistakes_name_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_monitors(text, Path("monitors.yaml"), check_query=query_problem)
    assert info.value.line == line, str(info.value)
    assert words in str(info.value)
    assert str(info.value).startswith(f"monitors.yaml:{line}: ")


def test_where_the_file_is_found(tmp_path: Path) -> None:
    feeds = tmp_path / "conf" / "feeds.yaml"
    assert monitors_path(None, feeds, {}) == tmp_path / "conf" / "monitors.yaml"
    assert monitors_path(None, feeds, {"FEEDWATCH_MONITORS": "/x/m.yaml"}) == Path("/x/m.yaml")
    assert monitors_path("own.yaml", feeds, {"FEEDWATCH_MONITORS": "/x/m.yaml"}) == Path("own.yaml")


def test_digest_profiles_are_read_as_daily_monitors_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "digests.yaml").write_text(
        "profiles:\n  - name: ochtend\n    topics: [migratie]\n    schedule: '30 6 * * *'\n",
        encoding="utf-8",
    )
    (tmp_path / "monitors.yaml").write_text(
        "monitors:\n  - name: azc\n    query: azc\n", encoding="utf-8"
    )
    with caplog.at_level(logging.WARNING, logger="feedwatch.config"):
        cfg = load_monitors(tmp_path / "monitors.yaml", sources_config=tmp_path / "feeds.yaml")
    assert [m.name for m in cfg.monitors] == ["azc", "ochtend"]
    legacy = cfg.monitor("ochtend")
    assert legacy.digest_profile and legacy.topics == ("migratie",)
    assert legacy.cadence == Cadence("daily", 6, 30)
    assert "deprecated" in caplog.text
    # a missing monitors file with digests beside it: the profiles alone
    (tmp_path / "monitors.yaml").unlink()
    cfg = load_monitors(tmp_path / "monitors.yaml", sources_config=tmp_path / "feeds.yaml")
    assert [m.name for m in cfg.monitors] == ["ochtend"]
    with pytest.raises(ConfigError, match="file not found"):
        load_monitors(tmp_path / "monitors.yaml", required=True, legacy_digests=False)
