"""The topic commands: why, classify, label, eval and train.

numpy and scikit-learn are imported by the classifier only when it classifies or trains, so
that the CLI's start-up does not pay for them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from feedwatch.app.classifier import make_classifier as configured_classifier
from feedwatch.cli._common import Context, interactive, stderr_console
from feedwatch.cli.items import check_topic, topics_of
from feedwatch.config.topics import model_path
from feedwatch.core.classify import Topics, evaluate, make_classifier, resolve_labels
from feedwatch.core.classify.model import model_to_json
from feedwatch.core.classify.train import (
    Example,
    cross_validate,
    cross_validate_by,
    examples_from_records,
    fit,
)
from feedwatch.edges.store.topics import TopicRow

__all__ = ["classify", "eval_cmd", "label", "train", "why"]

SHARED_DATA = Path("../shared/data")
DEFAULT_TRAIN_FILES = ("topics-train.jsonl", "topics-dev.jsonl")


@click.command()
@click.argument("item_ref", metavar="ITEM_ID")
@click.pass_obj
def why(obj: Context, item_ref: str) -> None:
    """The topic decisions of one item and what decided each: a label by hand, or the model's
    contributions for and against and the rule terms."""
    store = obj.store()
    item = store.find_item(item_ref)
    rows = store.topic_rows(item.id)
    click.echo(f"{item.id}  {item.title}")
    click.echo(f"{item.source}  {item.url}")
    version = store.classifier_version(item.id)
    if not rows and version is None:
        click.echo("not classified yet: run `feedwatch classify`")
        return
    if version:
        click.echo(f"classifier {version}")
    manual = {r.topic: r.assigned for r in rows if r.origin == "manual"}
    rule = {r.topic: r for r in rows if r.origin == "rule"}
    stored = set(rule)
    # A topic the item scored nothing on has no stored row: it is shown as 0.
    for configured in topics_of(obj).topics:
        if configured.key not in rule:
            rule[configured.key] = TopicRow(
                configured.key, "rule", 0.0, configured.threshold, False, ()
            )
    decided = resolve_labels({t: r.assigned for t, r in rule.items()}, manual)
    for topic in sorted(decided):
        assigned, by = decided[topic]
        mark = "yes" if assigned else "no "
        r = rule.get(topic)
        if r is None:  # a label on a topic the rules no longer have
            click.echo(f"{mark} {topic:<20} (label by hand)")
            continue
        note = f"  (label by hand: {'added' if assigned else 'removed'})" if by == "hand" else ""
        if topic in stored:
            click.echo(
                f"{mark} {topic:<20} score {r.score:6.2f}  threshold {r.threshold:5.2f}{note}"
            )
        else:  # no row: nothing of the topic was found, and the classifier did not assign it
            click.echo(f"{mark} {topic:<20} score {0.0:6.2f}  (no term of the topic found){note}")
        if not r.terms and r.assigned:  # never silent about a decision: see `classify`
            click.echo("      (no explanation stored: run `feedwatch classify --all`)")
        for term in r.terms:
            click.echo(f"      {term}")


@click.command()
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Re-score every stored item, not only those scored by another classifier version.",
)
@click.pass_obj
def classify(obj: Context, every: bool) -> None:
    """(Re)classify stored items: new ones, or those scored by other rules or another model."""
    store = obj.store()
    classifier, version = configured_classifier(obj.topics_path)
    assert classifier is not None and version is not None
    total = store.count_items() if every else store.count_to_rescore(version)
    if interactive(obj) and total > 0:
        from rich.progress import Progress  # rich draws bars on a terminal only: imported then

        with Progress(console=stderr_console(), transient=True) as progress:
            task = progress.add_task("classifying", total=total)
            done = store.reclassify(
                classifier,
                version,
                every=every,
                progress=lambda n: progress.advance(task, n),
            )
    else:
        done = store.reclassify(classifier, version, every=every)
    if not obj.quiet:
        click.echo(f"classified {done} items with classifier version {version}")


@click.command()
@click.argument("item_ref", metavar="ITEM_ID")
@click.option("--add", "add", multiple=True, metavar="TOPIC", help="File the item under TOPIC.")
@click.option(
    "--remove", "remove", multiple=True, metavar="TOPIC", help="Take the item out of TOPIC."
)
@click.option(
    "--clear",
    "clear",
    multiple=True,
    metavar="TOPIC",
    help="Forget the human decision on TOPIC; the classifier decides again.",
)
@click.pass_obj
def label(
    obj: Context,
    item_ref: str,
    add: tuple[str, ...],
    remove: tuple[str, ...],
    clear: tuple[str, ...],
) -> None:
    """A human decision that wins over the classifier, survives re-classification and is
    learnt from by `feedwatch train`."""
    if not (add or remove or clear):
        raise click.UsageError("give --add TOPIC, --remove TOPIC or --clear TOPIC")
    both = set(add) & set(remove)
    if both:
        raise click.UsageError(f"both --add and --remove for {', '.join(sorted(both))}")
    for topic in (*add, *remove, *clear):
        check_topic(obj, topic)
    store = obj.store()
    item = store.find_item(item_ref)
    for topic in add:
        store.set_label(item.id, topic, True)
    for topic in remove:
        store.set_label(item.id, topic, False)
    for topic in clear:
        store.clear_label(item.id, topic)
    if not obj.quiet:
        parts = [f"+{t}" for t in add] + [f"-{t}" for t in remove] + [f"?{t}" for t in clear]
        click.echo(f"{item.id}: {' '.join(parts)}")


def read_labelled(file: Path) -> list[dict[str, Any]]:
    """The records of a labelled JSON Lines file (title, text, labels); a bad line is a usage
    error naming file and line."""
    records = []
    try:
        with file.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError as exc:
                    raise click.UsageError(f"{file}:{n}: not a JSON object: {exc}") from None
                if not isinstance(rec, dict) or not isinstance(rec.get("labels", []), list):
                    raise click.UsageError(
                        f"{file}:{n}: expected an object with title, text, labels"
                    )
                records.append(rec)
    except (OSError, UnicodeDecodeError) as exc:
        raise click.UsageError(f"cannot read {file}: {exc}") from None
    return records


def _print_report(report: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_json()))
        return
    click.echo(report.format_table())
    misses = report.format_misses()
    if misses:
        click.echo("")
        click.echo(misses)


@click.command(name="eval")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object (n, macro_f1, topics).")
@click.option(
    "--cv",
    "folds",
    type=click.IntRange(min=2),
    default=None,
    metavar="K",
    help="K-fold cross-validation grouped by story: retrain on the other folds for each one "
    "(default files: ../shared/data/topics-{train,dev}.jsonl).",
)
@click.option("--rules-only", is_flag=True, help="Judge the rules alone, without the model.")
@click.pass_obj
def eval_cmd(
    obj: Context, files: tuple[Path, ...], as_json: bool, folds: int | None, rules_only: bool
) -> None:
    """Classify labelled items (JSON Lines with title, text, labels) and report precision,
    recall, F1 per topic and macro-F1; without --json also the false positives and negatives,
    each with what decided it."""
    topics = topics_of(obj)
    if folds is not None:
        examples = _examples(topics, files or _default_files(), use_store=False, obj=obj)
        _print_report(cross_validate(examples, topics, folds=folds), as_json)
        return
    if len(files) != 1:
        raise click.UsageError("give one FILE.jsonl (or --cv K with any number of files)")
    records = read_labelled(files[0])
    decide = make_classifier(topics, False if rules_only else model_path())
    trained_on = decide.model.trained.get("files", ()) if decide.model is not None else ()
    if files[0].name in trained_on:  # in-sample figures flatter: say so, on stderr
        click.echo(
            f"note: the model was trained on {files[0].name}, so these figures are not a test; "
            "`feedwatch eval --cv 5` decides each item by a model that never saw it.",
            err=True,
        )
    _print_report(evaluate(records, topics, decide=decide, version=decide.version), as_json)


def _default_files() -> tuple[Path, ...]:
    found = tuple(
        SHARED_DATA / name for name in DEFAULT_TRAIN_FILES if (SHARED_DATA / name).exists()
    )
    if not found:
        raise click.UsageError(f"no labelled files given and none in {SHARED_DATA}")
    return found


def _examples(
    topics: Topics, files: Sequence[Path], *, use_store: bool, obj: Context
) -> list[Example]:
    examples: list[Example] = []
    for f in files:
        examples.extend(examples_from_records(read_labelled(f), topics.keys, prefix=f.name))
    if use_store:
        for item, known in obj.store().manual_labels():
            known = {k: v for k, v in known.items() if k in topics.keys}
            if known:
                rec = {"id": item.id, "title": item.title, "labels": []}
                examples.append(
                    Example(item.title, item.summary, item.source, known, f"item:{item.id}", rec)
                )
    return examples


@click.command()
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Labelled JSON Lines (title, text, labels, optional story); repeatable. "
    "Default: ../shared/data/topics-train.jsonl and topics-dev.jsonl when present.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("config/topics-model.json"),
    show_default=True,
    help="Where to write the model.",
)
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True)
@click.option(
    "--no-store", is_flag=True, help="Leave out the labels stored with `feedwatch label`."
)
@click.option("--misses", is_flag=True, help="Also list the cross-validated misses.")
@click.pass_obj
def train(
    obj: Context, files: tuple[Path, ...], output: Path, folds: int, no_store: bool, misses: bool
) -> None:
    """Retrain the model beside the rules from labelled files and the labels stored with
    `feedwatch label`; print cross-validated figures and write a versioned model file."""
    topics = topics_of(obj)
    paths = files or _default_files()
    examples = _examples(topics, paths, use_store=not no_store, obj=obj)
    reports = cross_validate_by(examples, topics, folds=folds)
    report = reports.pop("all")
    n_store = sum(1 for e in examples if e.group.startswith("item:"))
    click.echo(
        f"{len(examples)} labelled items ({n_store} labelled by hand in the database), "
        f"{folds}-fold cross-validation grouped by story:"
    )
    click.echo(report.format_table())
    for lang, part in reports.items():  # per language of the records (`lang`), same folds
        figures = ", ".join(f"{k} {t.f1:.3f}" for k, t in part.topics.items() if t.support)
        click.echo(f"lang {lang}: macro-F1 {part.macro_f1:.3f} (n = {part.n}; F1 {figures})")
    if misses:
        click.echo("")
        click.echo(report.format_misses())
    trained = {
        "files": [p.name for p in paths],
        "manual_labels": n_store,
        "cv": {"folds": folds, "macro_f1": report.macro_f1},
    }
    model = fit(examples, topics, trained=trained)
    text = model_to_json(model)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(output.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
    except OSError as exc:
        raise click.UsageError(f"cannot write {output}: {exc}") from None
    version = json.loads(text)["version"]
    click.echo(f"wrote {output} (model {version}); `feedwatch classify` re-scores stored items")
