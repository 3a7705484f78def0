"""Training the learned layer (scikit-learn) and evaluating it by grouped cross-validation.

Pure apart from scikit-learn's own computation. scikit-learn (and scipy, numpy) are imported
inside the functions that fit, so that nothing else in feedwatch pays for them: classifying at run
time needs numpy only (`model`). Training is deterministic: the same examples in the same order
give the same coefficients (lbfgs, no random state involved), rounded to 6 digits in the file.

An example carries what is known of it: from a labelled file every topic (in `labels` or not);
from a human decision stored with `feedwatch label` only the topics a person decided. Each
topic's model is fitted on the examples whose label for it is known.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from feedwatch.core.classify.compile import Topics
from feedwatch.core.classify.evaluate import EvalReport, record_fields, report
from feedwatch.core.classify.model import (
    Classifier,
    Model,
    rule_feature_names,
    rule_features,
    text_tokens,
)
from feedwatch.core.classify.score import Scored, score_fields
from feedwatch.errors import FeedwatchError
from feedwatch.types import TopicScore

__all__ = [
    "DEFAULTS",
    "Example",
    "cross_validate",
    "cross_validate_by",
    "examples_from_records",
    "fit",
]

# The design chosen by grouped cross-validation on the labelled items (see README, "Topics")
DEFAULTS: Mapping[str, float] = {
    "C": 1.0,  # inverse strength of the L2 penalty
    "min_df": 2,  # a word is a feature when at least this many training items have it
    "text_scale": 12.0,  # length of the text block beside the rule features
    "threshold": 0.4,  # probability from which a topic is assigned
    "affix": 0,  # first/last letters of longer words as features (compounds); 0: none
}


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled item: what is known of its topics, and the group it must not be split from."""

    title: str
    text: str
    source: str | None
    known: Mapping[str, bool]  # topic -> labelled with it or not (only the topics decided)
    group: str  # the story; items of one story stay on one side of a fold
    record: Mapping[str, Any]  # the original record (for reports)


def examples_from_records(
    records: Iterable[Mapping[str, Any]], keys: Sequence[str], *, prefix: str = ""
) -> list[Example]:
    """Labelled records (title, text, labels, optional story and id) -> examples that know every
    topic of `keys`. A record without `story` is a story of its own."""
    out: list[Example] = []
    for n, rec in enumerate(records, start=1):
        title, text, source = record_fields(rec)
        labels = {str(x) for x in (rec.get("labels") or ())}
        story = rec.get("story")
        group = f"story:{story}" if story else f"{prefix}#{rec.get('id') or n}"
        out.append(Example(title, text, source, {k: k in labels for k in keys}, group, rec))
    return out


def _matrix(
    scored: Sequence[Scored], model: Model, positions: Sequence[int]
) -> Any:  # scipy.sparse.csr_matrix
    from scipy.sparse import csr_matrix  # training only: scipy comes with scikit-learn

    data: list[float] = []
    cols: list[int] = []
    ptr = [0]
    n_text = model.n_text
    for s in scored:
        rows = model.text_rows(s.title_words, s.body_words)
        if rows:
            scale = model.text_scale / math.sqrt(len(rows))
            cols.extend(rows)
            data.extend([scale] * len(rows))
        for r, v in enumerate(rule_features(s, positions)):
            if v:
                cols.append(n_text + r)
                data.append(v)
        ptr.append(len(cols))
    return csr_matrix((data, cols, ptr), shape=(len(scored), n_text + len(model.rule_names)))


def _vocabulary(
    scored: Sequence[Scored], min_df: int, affix: int
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    body: Counter[str] = Counter()
    title: Counter[str] = Counter()
    for s in scored:
        body.update(text_tokens(s.body_words, affix))
        title.update(text_tokens(s.title_words, affix))
    return (
        tuple(sorted(w for w, n in body.items() if n >= min_df)),
        tuple(sorted(w for w, n in title.items() if n >= min_df)),
    )


def _fit_scored(
    scored: Sequence[Scored],
    examples: Sequence[Example],
    topics: Topics,
    keys: Sequence[str],
    params: Mapping[str, float],
) -> Model:
    import numpy as np  # training only (see the module's docstring)
    from sklearn.linear_model import LogisticRegression

    C, min_df, affix = float(params["C"]), int(params["min_df"]), int(params["affix"])
    scale, threshold = float(params["text_scale"]), float(params["threshold"])
    body, title = _vocabulary(scored, min_df, affix)
    names = rule_feature_names(keys)
    n = len(body) + len(title) + len(names)
    zeros = np.zeros((n, len(keys)))
    shell = Model(tuple(keys), body, title, names, zeros, zeros[0], scale, threshold, affix)
    positions = [topics.keys.index(k) if k in topics.keys else -1 for k in keys]
    X = _matrix(scored, shell, positions)
    coef = np.zeros((n, len(keys)))
    intercept = np.zeros(len(keys))
    for j, key in enumerate(keys):
        idx = [i for i, ex in enumerate(examples) if key in ex.known]
        y = np.array([examples[i].known[key] for i in idx], dtype=int)
        if not idx or y.min() == y.max():  # nothing to learn: follow the rules (their feature)
            coef[n - len(names) + names.index(f"{key}:assigned"), j] = 4.0
            intercept[j] = -2.0
            continue
        clf = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
        clf.fit(X[idx], y)
        coef[:, j] = clf.coef_[0]
        intercept[j] = clf.intercept_[0]
    return Model(tuple(keys), body, title, names, coef, intercept, scale, threshold, affix)


def fit(
    examples: Sequence[Example],
    topics: Topics,
    *,
    params: Mapping[str, float] | None = None,
    trained: Mapping[str, Any] | None = None,
) -> Model:
    """Fit the model on `examples` (rule features from `topics`); `params` default to DEFAULTS;
    `trained` (what it was trained on) is kept in the file."""
    if not examples:
        raise FeedwatchError("no labelled items to train on")
    p = {**DEFAULTS, **(params or {})}
    scored = [score_fields(e.title, e.text, topics, source=e.source) for e in examples]
    m = _fit_scored(scored, examples, topics, topics.keys, p)
    info = {"items": len(examples), "params": p, "rules_version": topics.version, **(trained or {})}
    return Model(
        m.topics,
        m.body_words,
        m.title_words,
        m.rule_names,
        m.coef,
        m.intercept,
        m.text_scale,
        m.threshold,
        m.affix,
        info,
    )


def cross_validate(
    examples: Sequence[Example],
    topics: Topics,
    *,
    folds: int = 5,
    params: Mapping[str, float] | None = None,
) -> EvalReport:
    """k-fold cross-validation grouped by story: every item is decided by a model that never
    saw it nor any item of its story. Only examples that know every topic are scored (a stored
    human label on one topic trains, but cannot be scored for the others)."""
    return cross_validate_by(examples, topics, folds=folds, params=params)["all"]


def cross_validate_by(
    examples: Sequence[Example],
    topics: Topics,
    *,
    folds: int = 5,
    params: Mapping[str, float] | None = None,
    field: str = "lang",
) -> dict[str, EvalReport]:
    """`cross_validate`, reported over all items ("all") and per value of the records' `field`
    (e.g. per language: "nl", "en"), from the same held-out decisions."""
    if len({e.group for e in examples}) < folds:
        raise FeedwatchError(f"too few labelled stories for {folds} folds")
    keys = topics.keys
    p = {**DEFAULTS, **(params or {})}
    scored = [score_fields(e.title, e.text, topics, source=e.source) for e in examples]
    fold_of = _folds([e.group for e in examples], folds)
    decided: dict[int, list[TopicScore]] = {}
    for k in range(folds):
        train = [i for i in range(len(examples)) if fold_of[i] != k]
        test = [i for i in range(len(examples)) if fold_of[i] == k]
        model = _fit_scored(
            [scored[i] for i in train], [examples[i] for i in train], topics, keys, p
        )
        clf = Classifier(topics, model)
        for i in test:
            decided[i] = clf._decide(scored[i])
    full = [i for i in range(len(examples)) if set(keys) <= set(examples[i].known)]
    version = f"{topics.version} cv{folds}"
    out = {"all": report([(examples[i].record, decided[i]) for i in full], keys, version)}
    values = sorted(
        {str(examples[i].record.get(field)) for i in full if examples[i].record.get(field)}
    )
    for value in values:
        rows = [
            (examples[i].record, decided[i])
            for i in full
            if str(examples[i].record.get(field)) == value
        ]
        out[value] = report(rows, keys, version)
    return out


def _folds(groups: Sequence[str], folds: int) -> list[int]:
    """Each item's fold: whole groups, the largest first, each to the fold with fewest items
    (ties: the lowest fold); groups of equal size in order of first appearance. Deterministic."""
    sizes = Counter(groups)
    order = sorted(dict.fromkeys(groups), key=lambda g: -sizes[g])
    load = [0] * folds
    where: dict[str, int] = {}
    for g in order:
        k = min(range(folds), key=lambda f: (load[f], f))
        where[g] = k
        load[k] += sizes[g]
    return [where[g] for g in groups]
