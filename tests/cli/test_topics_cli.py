"""Topics in the store and on the command line: why, label, classify --all, near misses, eval."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from feedwatch.app.pipeline import make_classifier, write_update
from feedwatch.cli import cli
from feedwatch.core.normalise import normalise
from feedwatch.edges.store import ItemQuery, SourceUpdate, Store
from feedwatch.types import RawItem, Source

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "topics-dev.jsonl"

TEXTS = [
    (
        "Gemeente opent nieuw asielzoekerscentrum",
        "Het COA vangt vanaf maart 300 asielzoekers op in het azc aan de rand van de stad.",
    ),
    (
        "Kabinet scherpt asielbeleid aan",
        "De minister wil de Vreemdelingenwet wijzigen en de gezinshereniging beperken.",
    ),
    (
        "Nieuwe kinderopvang in de wijk",
        "Ouders kunnen hun kinderen vanaf januari naar de nieuwe kinderopvang brengen.",
    ),
]


def seed(store: Store) -> list[str]:
    source = Source(key="bron", name="Bron", url="https://bron.example.nl/feed")
    store.sync_sources([source], NOW)
    classifier, version = make_classifier()
    assert classifier is not None
    items, scores = [], {}
    for n, (title, body) in enumerate(TEXTS):
        item = normalise(
            "bron",
            RawItem(
                title=title,
                link=f"https://bron.example.nl/{n}",
                summary=body,
                published=NOW - timedelta(hours=n),
                date_source="feed",
            ),
            NOW,
        )
        assert item is not None
        items.append(item)
        scores[item.id] = tuple(classifier(item))
    write_update(
        store,
        SourceUpdate(
            key="bron",
            started_at=NOW,
            duration=0.1,
            outcome="ok",
            url=source.url,
            items=tuple(items),
            scores=scores,
            classifier_version=version,
        ),
    )
    return [i.id for i in items]


def topics_of(store: Store, item_id: str) -> tuple[str, ...]:
    return next(iter(store.iter_items(ItemQuery(ids=(item_id,))))).topics


def test_pipeline_scores_are_stored_and_filterable(store: Store) -> None:
    azc, beleid, opvang = seed(store)
    assert "asielzoekerscentrum" in topics_of(store, azc)
    assert "migratie" in topics_of(store, beleid)
    assert topics_of(store, opvang) == ()  # kinderopvang is another kind of opvang
    ids = [r.item.id for r in store.iter_items(ItemQuery(topics=("asielzoekerscentrum",)))]
    assert ids == [azc]


def test_a_label_wins_and_survives_reclassification(store: Store) -> None:
    azc, beleid, opvang = seed(store)
    store.set_label(opvang, "integratie", True)
    store.set_label(beleid, "migratie", False)
    classifier, version = make_classifier()
    assert classifier is not None
    assert store.reclassify(classifier, version, every=True) == 3
    assert topics_of(store, opvang) == ("integratie",)
    assert "migratie" not in topics_of(store, beleid)
    assert [r.item.id for r in store.iter_items(ItemQuery(topics=("migratie",)))] == []
    assert opvang in [r.item.id for r in store.iter_items(ItemQuery(topics=("integratie",)))]
    # nothing to re-score for the same rules
    assert store.reclassify(classifier, version) == 0


def test_edited_topics_rescore_only_what_is_stale(store: Store, tmp_path: Path) -> None:
    seed(store)
    from feedwatch.core.classify import load_topics

    packaged = load_topics()
    assert packaged.version
    classifier, version = make_classifier()
    assert store.reclassify(classifier, version) == 0
    edited = tmp_path / "topics.yaml"
    text = (Path(__file__).resolve().parents[2] / "config" / "topics.yaml").read_text(
        encoding="utf-8"
    )
    edited.write_text(text.replace("\n    threshold: 4", "\n    threshold: 5", 1), encoding="utf-8")
    classifier2, version2 = make_classifier(str(edited))
    assert version2 != version
    assert store.reclassify(classifier2, version2) == 3


def test_near_misses(store: Store) -> None:
    source = Source(key="bron", name="Bron", url="https://bron.example.nl/feed")
    store.sync_sources([source], NOW)
    classifier, version = make_classifier()
    assert classifier is not None
    item = normalise(
        "bron",
        RawItem(
            title="Discriminatie op de woningmarkt",
            link="https://bron.example.nl/d",
            summary="Een onderzoek naar ongelijke kansen.",
            published=NOW,
            date_source="feed",
        ),
        NOW,
    )
    assert item is not None
    write_update(
        store,
        SourceUpdate(
            key="bron",
            started_at=NOW,
            duration=0.1,
            outcome="ok",
            url=source.url,
            items=(item,),
            scores={item.id: tuple(classifier(item))},
            classifier_version=version,
        ),
    )
    misses = store.near_misses("integratie")
    assert [m[0].id for m in misses] == [item.id]
    assert misses[0][1].score < misses[0][1].threshold and misses[0][1].terms
    store.set_label(item.id, "integratie", False)
    assert store.near_misses("integratie") == []  # decided by a human: no longer to review


def test_cli_why_label_classify_and_near_miss(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'fw.db'}"
    with Store(db) as store:
        azc, beleid, opvang = seed(store)
    run = CliRunner()
    res = run.invoke(cli, ["--database-url", db, "why", azc[:8]])
    assert res.exit_code == 0, res.output
    assert "yes asielzoekerscentrum" in res.output and "azc" in res.output.lower()
    res = run.invoke(cli, ["--database-url", db, "label", opvang, "--add", "integratie"])
    assert res.exit_code == 0 and "+integratie" in res.output
    res = run.invoke(cli, ["--database-url", db, "label", opvang, "--add", "onbekend"])
    assert res.exit_code == 2 and "unknown topic 'onbekend'" in res.output
    res = run.invoke(cli, ["--database-url", db, "why", "ffffffffffff"])
    assert res.exit_code == 1 and "no item with id" in res.output
    res = run.invoke(cli, ["--database-url", db, "classify", "--all"])
    assert res.exit_code == 0 and "classified 3 items" in res.output
    res = run.invoke(
        cli, ["--database-url", db, "items", "--topic", "integratie", "--format", "jsonl"]
    )
    assert [json.loads(line)["id"] for line in res.output.splitlines()] == [opvang]
    res = run.invoke(cli, ["--database-url", db, "items", "--near-miss", "migratie"])
    assert res.exit_code == 0


def test_cli_eval_json_shape(tmp_path: Path) -> None:
    data = tmp_path / "eval.jsonl"
    rows = [
        {"title": t, "text": b, "labels": labels}
        for (t, b), labels in zip(TEXTS, [["asielzoekerscentrum"], ["migratie"], []], strict=True)
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["eval", str(data), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["n"] == 3 and set(out) == {"n", "macro_f1", "topics"}
    for topic in ("migratie", "integratie", "asielzoekerscentrum", "veiligelanders"):
        assert set(out["topics"][topic]) == {"precision", "recall", "f1", "support"}
    assert out["topics"]["asielzoekerscentrum"]["f1"] == 1.0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "x"}\nniet json\n', encoding="utf-8")
    res = CliRunner().invoke(cli, ["eval", str(bad)])
    assert res.exit_code == 2 and "bad.jsonl:2" in res.output


def test_cli_eval_on_the_dev_set() -> None:
    if not DEV.exists():  # CI always has ../shared beside the repository
        assert not os.environ.get("CI"), f"the labelled dev set is missing: {DEV}"
        pytest.skip("../shared/data/topics-dev.jsonl is not beside the repository")
    res = CliRunner().invoke(cli, ["eval", str(DEV), "--json"])
    assert res.exit_code == 0
    out = json.loads(res.output)
    assert out["n"] == 60 and out["macro_f1"] >= 0.85
    assert all(t["f1"] >= 0.75 for t in out["topics"].values())


def test_only_scores_above_zero_are_stored_and_every_topic_is_still_reported(
    tmp_path: Path,
) -> None:
    """A topic an item scored nothing on has no row, yet `why` and the JSON Lines export show
    every configured topic for it, at 0; an item no rules have scored reports none."""
    from sqlalchemy import select

    from feedwatch.edges.store.models import item_topics

    db = f"sqlite:///{tmp_path / 'fw.db'}"
    with Store(db) as store:
        _azc, _beleid, opvang = seed(store)
        with store.engine.connect() as conn:
            stored = set(
                conn.execute(
                    select(item_topics.c.topic).where(item_topics.c.item_id == opvang)
                ).scalars()
            )
    all_topics = {"migratie", "integratie", "asielzoekerscentrum", "veiligelanders"}
    assert stored < all_topics  # the childcare item scores nothing on most topics
    run = CliRunner()
    res = run.invoke(cli, ["--database-url", db, "why", opvang])
    assert res.exit_code == 0 and "not classified" not in res.output
    for topic in all_topics - stored:
        assert f"no  {topic:<20} score   0.00" in res.output
    res = run.invoke(cli, ["--database-url", db, "items", "--format", "jsonl"])
    records = [json.loads(line) for line in res.output.splitlines()]
    assert len(records) == 3
    for rec in records:
        assert set(rec["scores"]) == all_topics
    assert all({r["id"]: r["scores"] for r in records}[opvang][t] == 0 for t in all_topics - stored)
