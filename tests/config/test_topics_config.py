"""Tests of loading topics.yaml: the shipped rules, a fifth topic, and every kind of mistake."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from feedwatch.core.classify import classify, evaluate, load_topics, parse_topics
from feedwatch.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
PACKAGED = REPO / "src" / "feedwatch" / "data" / "topics.yaml"
FOUR = ("migratie", "integratie", "asielzoekerscentrum", "veiligelanders")


def test_packaged_default_loads_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    topics = load_topics()
    assert topics.keys == FOUR
    assert re.fullmatch(r"[0-9a-f]{12}", topics.version)
    assert all(t.title and t.description and t.threshold > 0 for t in topics.topics)
    assert load_topics().version == topics.version


def test_config_copy_matches_the_packaged_rules() -> None:
    shipped = load_topics()
    copy = load_topics(REPO / "config" / "topics.yaml")
    assert copy.version == shipped.version
    assert copy.path == REPO / "config" / "topics.yaml"


def test_version_follows_rules_not_comments() -> None:
    text = PACKAGED.read_text(encoding="utf-8")
    base = parse_topics(text).version
    assert parse_topics("# a new comment\n" + text).version == base
    changed = text.replace(
        "      asielbeleid|asylum polic*: 3\n", "      asielbeleid|asylum polic*: 2.5\n", 1
    )
    assert changed != text
    assert parse_topics(changed).version != base
    retitled = text.replace("    title: Migratie\n", "    title: Migratie en asiel\n", 1)
    assert retitled != text
    assert parse_topics(retitled).version == base


def test_fifth_topic_by_yaml_alone(tmp_path: Path) -> None:
    text = PACKAGED.read_text(encoding="utf-8")
    fifth = textwrap.indent(
        textwrap.dedent(
            """\
            - key: mensenhandel
              title: Mensenhandel
              description: Uitbuiting en mensenhandel.
              threshold: 4
              terms:
                mensenhandel*: 3
                uitbuit*: 2
                arbeidsuitbuiting: 2
              combinations:
                - all: [[slachtoffer*], [uitbuit*, mensenhandel*]]
                  weight: 1
            """
        ),
        "  ",
    )
    assert "\npriors:" in text
    path = tmp_path / "topics.yaml"
    path.write_text(text.replace("\npriors:", "\n" + fifth + "\npriors:", 1), encoding="utf-8")
    topics = load_topics(path)
    assert topics.keys == (*FOUR, "mensenhandel")
    scores = classify(
        "Arbeidsuitbuiting in de tuinbouw",
        "De inspectie vond slachtoffers van uitbuiting en mensenhandel bij drie kwekers.",
        topics,
    )
    assert [s.topic for s in scores][-1] == "mensenhandel"
    assert scores[-1].assigned
    report = evaluate([{"title": "x", "text": "mensenhandel", "labels": ["mensenhandel"]}], topics)
    assert "mensenhandel" in report.to_json()["topics"]


# ---------------------------------------------------------------------------------------------
# Mistakes: each names the file, the line and what was expected

GOOD = """\
topics:
  - key: alpha
    title: Alpha
    threshold: 3
    terms:
      appel*: 2
      peer: 1
    combinations:
      - all: [[appel*], [peer]]
        weight: 1
    exclude:
      - terms: [appeltaart]
priors:
  bron-a: {alpha: 1.0}
"""


def load_text(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "topics.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_topics(path)
    err = info.value
    assert err.path == path
    assert str(err).startswith(f"{path}:{err.line}: ")
    return err


def test_good_rules_load(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_topics(path).keys == ("alpha",)


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("    threshold: 3\n", "    treshold: 3\n", 4, "unknown key 'treshold'; expected one of"),
        ("    threshold: 3\n", "", 2, "missing key 'threshold'"),
        ("      peer: 1\n", "      peer: veel\n", 7, "the weight of term 'peer' must be a number"),
        ("    threshold: 3\n", "    threshold: drie\n", 4, "'topics.0.threshold' must be a number"),
        ("  bron-a: {alpha: 1.0}", "  bron-a: {beta: 1.0}", 14, "unknown topic 'beta'"),
        ("      appel*: 2\n", "      ap*pel: 2\n", 6, "'*' may only open or close a word"),
        ("      appel*: 2\n", "      ap*: 2\n", 6, "a wildcard needs at least 3 letters"),
        ("      peer: 1\n", "      peer: 1\n      peer: 2\n", 8, "duplicate key 'peer'"),
        ("  - key: alpha\n", "  - key: Alpha\n", 2, "'topics.0.key'"),
        ("      - all: [[appel*], [peer]]\n", "      - all: [[appel*]]\n", 9, "at least 2"),
        (
            "      - terms: [appeltaart]\n",
            "      - terms: [appeltaart]\n        mask: false\n",
            12,
            "needs 'mask: true' or a 'weight' above 0",
        ),
        (
            "      peer: 1\n",
            "      peer: 1\n      gaan: 1\n    near: []\n    extra: 1\n",
            10,
            "unknown key 'extra'",
        ),
        ("      - terms: [appeltaart]\n", "      - terms: [*appeltaart]\n", 12, "must be quoted"),
        (
            "    terms:\n      appel*: 2\n      peer: 1\n",
            "    terms: [appel]\n",
            5,
            "'topics.0.terms' must be a mapping",
        ),
        ("      peer: 1\n", "      peer: true\n", 7, "the weight of term 'peer' must be a number"),
        ("      - all: [[appel*], [peer]]\n", '      - all: [[appel*], ["  "]]\n', 9, "empty term"),
    ],
)
def test_mistakes_are_reported_with_file_and_line(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    assert old in GOOD
    err = load_text(tmp_path, GOOD.replace(old, new, 1))
    assert err.line == line, str(err)
    assert message in err.message, str(err)


def test_duplicate_topic_key(tmp_path: Path) -> None:
    text = GOOD.replace(
        "priors:", "  - key: alpha\n    title: B\n    threshold: 1\n    terms: {x: 1}\npriors:"
    )
    err = load_text(tmp_path, text)
    assert err.line == 13 and "duplicate topic key 'alpha'" in err.message


def test_topic_without_positive_rule(tmp_path: Path) -> None:
    text = (
        GOOD.replace("      appel*: 2\n      peer: 1\n", "      appel*: -2\n")
        .replace("        weight: 1\n", "        weight: 0\n")
        .replace("[[appel*], [peer]]", "[[appel*], [appel*]]")
    )
    err = load_text(tmp_path, text)
    assert err.line == 2 and "no rule with a positive weight" in err.message


def test_invalid_yaml_syntax(tmp_path: Path) -> None:
    err = load_text(tmp_path, GOOD.replace("      peer: 1\n", "      peer: [1\n"))
    assert err.line is not None and err.line >= 7
    assert "not valid YAML" in err.message


def test_empty_file_and_wrong_top_level(tmp_path: Path) -> None:
    err = load_text(tmp_path, "# nothing here\n")
    assert err.line == 1 and "empty" in err.message
    err = load_text(tmp_path, "- just\n- a list\n")
    assert err.line == 1 and "must be a mapping" in err.message
    err = load_text(tmp_path, "topics: []\n")
    assert err.line == 1 and "'topics'" in err.message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_topics(path)
    assert info.value.path == path and "not found" in info.value.message


def test_rules_and_model_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from feedwatch.config.topics import model_path, topics_path

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEEDWATCH_MODEL", raising=False)
    assert topics_path() is None and model_path() is None  # what ships with feedwatch
    assert topics_path("mine.yaml") == Path("mine.yaml")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "topics.yaml").write_text("x", encoding="utf-8")
    (tmp_path / "config" / "topics-model.json").write_text("{}", encoding="utf-8")
    assert topics_path() == Path("config/topics.yaml")
    assert model_path() == Path("config/topics-model.json")
    monkeypatch.setenv("FEEDWATCH_MODEL", "elsewhere.json")
    assert model_path() == Path("elsewhere.json")
    assert model_path("given.json") == Path("given.json")
    monkeypatch.setenv("FEEDWATCH_MODEL", "None")
    assert model_path() is False  # the rules alone


def test_rules_file_errors_name_the_line_after_the_split() -> None:
    """The YAML is read in feedwatch.config.topics; a bad term is found by the compiler in
    feedwatch.core.classify, which still names the file and line."""
    from feedwatch.config.topics import parse_topics_text

    text = "topics:\n  - key: a\n    title: A\n    threshold: 1\n    terms:\n      'x*y': 1\n"
    file = parse_topics_text(text, "t.yaml")
    assert file.line(("topics", 0, "terms", "x*y")) == 6
    with pytest.raises(ConfigError, match=r"^t\.yaml:6: bad term 'x\*y'"):
        parse_topics(text, "t.yaml")
