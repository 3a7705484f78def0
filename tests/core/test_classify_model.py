"""The learned layer beside the rules: the decision, its explanations, the model file, training,
grouped cross-validation, and that the shipped model is reproducible from ../shared/data."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import feedwatch
from feedwatch.core.classify import (
    Classifier,
    Topics,
    classify,
    load_model,
    load_topics,
    make_classifier,
    resolve_labels,
)
from feedwatch.core.classify.model import Model, _shown, model_from_json, model_to_json
from feedwatch.core.classify.train import (
    _folds,
    cross_validate_by,
    examples_from_records,
    fit,
)
from feedwatch.errors import ConfigError, FeedwatchError
from feedwatch.types import TopicScore

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / ".." / "shared" / "data"
SHIPPED = REPO / "src" / "feedwatch" / "data" / "topics-model.json"
FOUR = ("migratie", "integratie", "asielzoekerscentrum", "veiligelanders")

# Our own sentences (nothing from ../shared/data): an item on status holders at work that
# mentions the asylum procedure and the IND in passing; the rules alone file it under migratie.
AT_WORK = (
    "Statushouders vinden sneller een baan",
    "Vluchtelingen met een verblijfsvergunning vinden steeds vaker werk. Gemeenten begeleiden "
    "statushouders naar de arbeidsmarkt met taallessen en stages bij werkgevers in de regio. "
    "Wie de asielprocedure heeft doorlopen en van de IND een vergunning kreeg, moet daarna "
    "inburgeren. Werkgevers zijn positief over de nieuwe medewerkers en willen meer banen "
    "bieden. Vooral in de zorg en de techniek zijn veel statushouders aan het werk gegaan, "
    "blijkt uit cijfers van het CBS.",
)
OWN = [
    (*AT_WORK, {"integratie"}),
    (
        "Gemeente kiest locatie voor nieuw azc",
        "De gemeenteraad heeft ingestemd met de komst van een asielzoekerscentrum voor 400 "
        "bewoners aan de rand van het dorp. Het COA opent de opvanglocatie in het voorjaar. "
        "Omwonenden kregen op een informatieavond uitleg over de beveiliging en de begeleiding "
        "van de bewoners.",
        {"asielzoekerscentrum"},
    ),
    (
        "Cabinet tightens asylum rules",
        "The Dutch cabinet wants to limit the number of asylum applications. The minister "
        "proposes to abolish permanent residence permits and to restrict family reunification "
        "for refugees. The Council of State will advise on the bill, which the government calls "
        "the strictest asylum policy ever.",
        {"migratie"},
    ),
    (
        "Town council approves new asylum seekers centre",
        "The town council approved a new asylum seekers centre for 300 residents. The COA will "
        "open the reception location next spring. Local residents attended an information "
        "evening about safety around the centre.",
        {"asielzoekerscentrum"},
    ),
    (
        "Vogeltrek in het najaar",
        "Miljoenen trekvogels vliegen in het najaar naar het zuiden. De migratie van vogels "
        "wordt gevolgd met zenders; de trek begint als de dagen korter worden.",
        set(),
    ),
    (
        "Cloudmigratie bij de gemeente",
        "De gemeente verhuist haar systemen naar de cloud. De migratie van data en software "
        "duurt een jaar en kost twee miljoen euro.",
        set(),
    ),
]


@pytest.fixture(scope="module")
def topics() -> Topics:
    return load_topics()


@pytest.fixture(scope="module")
def full(topics: Topics) -> Classifier:
    return make_classifier(topics)


def labelled() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name in ("topics-train.jsonl", "topics-dev.jsonl"):
        text = (DATA / name).read_text(encoding="utf-8")
        rows.extend(json.loads(line) for line in text.splitlines() if line.strip())
    return rows


def examples(topics: Topics) -> list:  # type: ignore[type-arg]
    rows = labelled()
    train = [r for r in rows if "story" in r]
    dev = [r for r in rows if "story" not in r]
    return examples_from_records(train, topics.keys) + examples_from_records(
        dev, topics.keys, prefix="dev"
    )


def decided(scores: list[TopicScore]) -> set[str]:
    return {s.topic for s in scores if s.assigned}


@pytest.mark.parametrize(("title", "text", "expected"), OWN, ids=[t[:30] for t, _, _ in OWN])
def test_own_sentences_dutch_and_english(
    full: Classifier, title: str, text: str, expected: set[str]
) -> None:
    assert decided(full(title, text)) == expected


def test_the_main_subject_outweighs_passing_mentions(topics: Topics, full: Classifier) -> None:
    title, text = AT_WORK
    assert "migratie" in decided(classify(title, text, topics))  # the rules alone: fooled
    scores = {s.topic: s for s in full(title, text)}
    assert scores["integratie"].assigned and not scores["migratie"].assigned
    # the explanation of migratie names what held it back: the integratie signals
    against = next(t for t in scores["migratie"].terms if t.startswith("against: "))
    assert "rules[integratie:" in against or "rules[migratie:" in against


SUM = re.compile(
    r"model (\d\.\d\d) (assigned|not assigned): ([+-]\d+\.\d\d) = rules ([+-]\d+\.\d\d)"
    r" \+ words ([+-]\d+\.\d\d) \+ bias ([+-]\d+\.\d\d)$"
)


def check_explained(s: TopicScore) -> None:
    """Every assigned topic names what decided it: the sum, and contributions for it."""
    if not s.assigned:
        return
    assert s.terms, f"{s.topic} assigned without an explanation"
    m = SUM.match(s.terms[0])
    assert m, s.terms[0]
    logit, rules, words, bias = (float(m.group(i)) for i in (3, 4, 5, 6))
    assert abs(logit - (rules + words + bias)) <= 0.02
    assert m.group(2) == "assigned"
    pro = s.terms[1]
    assert pro.startswith("for: ") and pro != "for: -"
    assert any(t.startswith("rules ") and "by themselves" in t for t in s.terms)


def test_every_assignment_on_the_labelled_items_is_explained(full: Classifier) -> None:
    n = 0
    for rec in labelled():
        for s in full(str(rec["title"]), str(rec["text"])):
            check_explained(s)
            n += s.assigned
    assert n > 200


WORDS = st.sampled_from(
    [
        "azc",
        "coa",
        "opvang",
        "asielzoekers",
        "statushouders",
        "inburgering",
        "ind",
        "asielbeleid",
        "veilige",
        "landen",
        "herkomst",
        "marokko",
        "werk",
        "woning",
        "gemeente",
        "vluchtelingen",
        "the",
        "asylum",
        "refugees",
        "migratie",
        "data",
        "vogels",
        "kinderopvang",
        "noodopvang",
        "ter",
        "apel",
        "integratie",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.lists(WORDS, max_size=6).map(" ".join),
    text=st.lists(WORDS | st.text(max_size=8), max_size=60).map(" ".join),
)
def test_no_topic_is_assigned_without_an_explanation(title: str, text: str) -> None:
    clf = make_classifier(load_topics())
    scores = clf(title, text)
    assert [s.topic for s in scores] == list(FOUR)
    for s in scores:
        assert 0.0 <= s.score <= 1.0
        assert s.assigned == (s.score >= s.threshold) or s.score == round(s.threshold, 4)
        check_explained(s)


def test_classify_text_uses_rules_and_model() -> None:
    title, text = AT_WORK
    got = feedwatch.classify_text(title, text)
    assert set(got) == set(FOUR)
    assert got["integratie"].assigned and not got["migratie"].assigned
    check_explained(got["integratie"])
    assert feedwatch.classify_text("", "") == {
        k: TopicScore(k, 0.0, got[k].threshold, (), False) for k in FOUR
    }


def test_version_joins_rules_and_model(topics: Topics) -> None:
    model = load_model()
    clf = Classifier(topics, model)
    assert clf.version == f"{topics.version}+{model.version}"
    assert len(clf.version) <= 40  # the store's column
    assert Classifier(topics, None).version == topics.version
    assert make_classifier(topics, False).model is None


def test_model_file_round_trip_and_tampering() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    model = model_from_json(text, SHIPPED)
    assert model_to_json(model) == text  # canonical: written as read
    assert model.topics == FOUR and re.fullmatch(r"[0-9a-f]{12}", model.version)
    doc = json.loads(text)
    doc["intercept"][0] += 1.0
    with pytest.raises(ConfigError, match="changed by hand"):
        model_from_json(json.dumps(doc), "m.json")
    with pytest.raises(ConfigError, match="m.json: not a model file"):
        model_from_json("[1, 2]", "m.json")
    with pytest.raises(ConfigError, match="invalid JSON"):
        model_from_json("{", "m.json")
    doc = json.loads(text)
    doc["coef"] = doc["coef"][:-1]
    with pytest.raises(ConfigError, match="do not match"):
        model_from_json(json.dumps(doc), "m.json")
    with pytest.raises(ConfigError, match="model file not found"):
        load_model(Path("/nonexistent/model.json"))


def test_model_file_is_json_not_pickle() -> None:
    raw = SHIPPED.read_bytes()
    assert raw.startswith(b"{") and b"\x80" not in raw[:2]
    assert json.loads(raw)["format"] == "feedwatch-topic-model/1"


def test_shipped_model_is_reproducible_from_shared_data(topics: Topics) -> None:
    """`make model` fits on ../shared/data with the shipped rules: the same file, byte for byte."""
    shipped = model_from_json(SHIPPED.read_text(encoding="utf-8"))
    trained = dict(shipped.trained)
    extra = {k: trained[k] for k in ("files", "manual_labels", "cv")}
    model = fit(examples(topics), topics, trained=extra)
    assert model_to_json(model) == SHIPPED.read_text(encoding="utf-8")


def test_cross_validated_figures_over_train_and_dev(topics: Topics) -> None:
    """The grouped 5-fold figures the issue asks for: macro-F1 0.92, every topic 0.85."""
    reports = cross_validate_by(examples(topics), topics, folds=5)
    overall = reports["all"]
    assert overall.n == 420
    assert overall.macro_f1 >= 0.92, overall.format_table()
    assert all(t.f1 >= 0.85 for t in overall.topics.values()), overall.format_table()
    assert reports["en"].n + reports["nl"].n == 420
    for miss in overall.misses:  # each error comes with what decided it
        if miss.terms:
            assert miss.terms[0].startswith("model ")
        else:  # the rules found nothing of the topic and the model agreed
            assert miss.kind == "false negative" and miss.score == 0


def test_folds_keep_each_story_on_one_side() -> None:
    groups = ["a", "b", "a", "c", "d", "e", "b", "f", "a", "g"]
    fold_of = _folds(groups, 3)
    for g in set(groups):
        assert len({f for f, h in zip(fold_of, groups, strict=True) if h == g}) == 1
    sizes = [fold_of.count(k) for k in range(3)]
    assert max(sizes) - min(sizes) <= 1
    assert _folds(groups, 3) == fold_of  # deterministic


def test_fit_is_deterministic_and_learns_stored_labels(topics: Topics) -> None:
    rows = [
        {"title": t, "text": x, "labels": sorted(labels), "story": f"s{i}"}
        for i, (t, x, labels) in enumerate(OWN * 2)
    ]
    ex = examples_from_records(rows, topics.keys)
    a, b = fit(ex, topics), fit(ex, topics)
    assert model_to_json(a) == model_to_json(b)
    # an example that knows one topic only trains that topic's model
    from feedwatch.core.classify.train import Example

    one = Example("Taalles", "Taalles voor nieuwkomers", None, {"integratie": True}, "x", {})
    c = fit([*ex, one], topics)
    assert model_to_json(c) != model_to_json(a)
    with pytest.raises(FeedwatchError, match="no labelled items"):
        fit([], topics)


def test_a_topic_the_model_does_not_know_is_decided_by_the_rules(topics: Topics) -> None:
    text = (REPO / "src" / "feedwatch" / "data" / "topics.yaml").read_text(encoding="utf-8")
    extra = text.replace(
        "\n# Source priors",
        "\n  - key: grenzen\n    title: Grenzen\n    threshold: 2\n    terms:\n"
        "      grensbewaking: 3\n\n# Source priors",
    )
    from feedwatch.core.classify import parse_topics

    five = parse_topics(extra)
    scores = {s.topic: s for s in make_classifier(five)("Grensbewaking", "Meer grensbewaking.")}
    assert scores["grenzen"].assigned and scores["grenzen"].threshold == 2
    assert scores["grenzen"].terms[0].startswith("grensbewaking")


def test_resolve_labels_a_human_wins_both_ways() -> None:
    got = resolve_labels({"a": True, "b": False, "c": True}, {"a": False, "b": True, "d": True})
    assert got == {
        "a": (False, "hand"),
        "b": (True, "hand"),
        "c": (True, "classifier"),
        "d": (True, "hand"),
    }
    assert resolve_labels({}, {}) == {}


def test_core_classify_imports_no_yaml_pydantic_or_sklearn_itself() -> None:
    package = REPO / "src" / "feedwatch" / "core" / "classify"
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        names = {a.name for n in top if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in top if isinstance(n, ast.ImportFrom)}
        bad = {m for m in names if m.split(".")[0] in {"yaml", "pydantic", "sklearn", "numpy"}}
        assert not bad, (path.name, bad)


def test_cli_start_up_loads_neither_numpy_nor_sklearn() -> None:
    code = (
        "import sys, feedwatch.cli\n"
        "from click.testing import CliRunner\n"
        "CliRunner().invoke(feedwatch.cli.cli, ['--help'])\n"
        "bad = {'numpy', 'sklearn', 'scipy'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_model_has_the_topics_of_the_rules(topics: Topics) -> None:
    model: Model = load_model()
    assert model.topics == topics.keys
    assert model.trained["rules_version"] == topics.version


def test_affix_features_when_a_model_asks_for_them(topics: Topics) -> None:
    from feedwatch.core.classify.model import text_tokens

    assert text_tokens(["azc", "asielzoekerscentrum"], 0) == {"azc", "asielzoekerscentrum"}
    assert text_tokens(["azc", "asielzoekerscentrum"], 5) == {
        "azc",
        "asielzoekerscentrum",
        "asiel-",
        "-ntrum",
    }
    rows = [
        {"title": t, "text": x, "labels": sorted(labels), "story": f"s{i}"}
        for i, (t, x, labels) in enumerate(OWN * 2)
    ]
    model = fit(examples_from_records(rows, topics.keys), topics, params={"affix": 5})
    assert "asiel-" in model.body_words
    again = model_from_json(model_to_json(model))
    assert again.affix == 5
    title, text = OWN[1][:2]
    clf = Classifier(topics, again)
    assert decided(clf(title, text)) == decided(Classifier(topics, model)(title, text))


def test_a_term_of_many_alternatives_is_shown_short() -> None:
    long = "§azc*|asielzoekerscentr*|asylum seekers centre*|asylum seekers center*|asylum centre*"
    assert _shown(long) == "term:azc*|asielzoekerscentr*|…"
    assert _shown("§asiel*") == "term:asiel*"
    assert _shown("opvang") == "opvang"
    one = "§" + "x" * 50  # a single long alternative is never cut
    assert _shown(one) == "term:" + "x" * 50
