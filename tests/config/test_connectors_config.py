"""Connector sources in feeds.yaml: their keys, and every mistake named with file and line (#17)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from feedwatch.config.sources import Config, load_config
from feedwatch.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

HEAD = "sources:\n"
TK = """  - key: tk
    name: Tweede Kamer
    kind: tweedekamer
    url: https://gegevensmagazijn.tweedekamer.nl/OData/v4/2.0
"""


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ={})


def test_kind_url_and_since_are_enough(tmp_path: Path) -> None:
    cfg = load(tmp_path, HEAD + TK + "    since: 2026-01-01\n")
    (src,) = cfg.sources
    assert src.kind == "tweedekamer" and src.connector is not None
    assert src.connector.since == date(2026, 1, 1) and src.connector.dossiers == ()


def test_the_keys_of_each_connector(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        HEAD
        + TK
        + """    dossiers: [36704, 36855]
    words: [asiel, vreemdelingen]
    committee: AM
    collections: [Zaak]
    pause: 2s
    domain: asiel
""",
    )
    q = cfg.sources[0].connector
    assert q is not None and q.dossiers == (36704, 36855) and q.collections == ("Zaak",)
    assert (q.words, q.committee, q.pause) == (("asiel", "vreemdelingen"), "AM", 2.0)
    assert cfg.sources[0].domain == "asiel"


@pytest.mark.parametrize(
    ("extra", "line", "message"),
    [
        ("    table: 83102NED\n", 6, "a tweedekamer source does not take 'table'"),
        ("    since: gisteren\n", 6, "since"),
        ("    words: [asiel migratie]\n", 6, "expected single words"),
        ("    dossiers: [12]\n", 6, "dossiers[0]"),
        ("    collections: [Persoon]\n", 6, "collections[0]"),
        ("    page_size: 5000\n", 6, "page_size"),
    ],
)
def test_bad_connector_values_name_file_and_line(
    tmp_path: Path, extra: str, line: int, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, HEAD + TK + extra)
    assert f"feeds.yaml:{line}:" in str(info.value)
    assert message in str(info.value)


def test_connector_keys_on_a_feed_and_cbs_without_table(tmp_path: Path) -> None:
    rss = "  - key: r\n    name: R\n    url: https://x.example/f\n    kind: rss\n    dossiers: [36704]\n"
    with pytest.raises(ConfigError, match=r"feeds.yaml:6: .*only connector sources"):
        load(tmp_path, HEAD + rss)
    cbs = (
        "  - key: c\n    name: C\n    kind: cbs\n    url: https://opendata.cbs.nl/ODataApi/OData\n"
    )
    with pytest.raises(ConfigError, match=r"feeds.yaml:2: .*needs 'table:'"):
        load(tmp_path, HEAD + cbs)


def test_follow_takes_kind_id_values(tmp_path: Path) -> None:
    cfg = load(tmp_path, 'follow: ["kamerstuk:36704"]\n' + HEAD + TK)
    assert cfg.follow == ("kamerstuk:36704",)
    with pytest.raises(ConfigError, match=r"feeds.yaml:1: .*expected KIND:ID"):
        load(tmp_path, 'follow: ["36704"]\n' + HEAD + TK)


def test_shipped_config_has_the_asylum_connectors() -> None:
    cfg = load_config(ROOT / "config" / "feeds.yaml", environ={})
    kinds = {s.kind for s in cfg.sources if s.connector is not None and s.enabled}
    assert kinds == {"tweedekamer", "officielebekendmakingen", "rechtspraak", "woo", "cbs"}
    assert all(s.domain == "asiel" for s in cfg.sources if s.connector is not None)
    tk = cfg.source("tk-asieldossiers").connector
    assert tk is not None and set(tk.dossiers) == {36871, 36703, 36704, 36855}
    assert "kamerstuk:36704" in cfg.follow
