"""The learned layer beside the rules, and the full topic decision (rules + model) with its reasons.

Pure apart from `load_model` reading the model file. The model is a linear one-vs-rest model per
topic (logistic regression, trained by `feedwatch.core.classify.train` with scikit-learn) over

- the words of the body and of the title (binary, the text block scaled to unit length), and
- the rule layer's answer for *every* topic: its score, whether the rules assign it, the weight of
  its terms in the title and in the lead, the share of the body it covers, the number of distinct
  terms, its share of all topics' scores and whether it is the best-scoring topic.

Because each topic's model sees the other topics' rule signals, an item's main subject can
outweigh another topic's passing mentions (a high integratie score in the title and throughout
pushes migratie down when migratie's words sit in one sentence). Every decision is a sum of
contributions, and each TopicScore names the strongest of them for and against.

The model file is JSON (vocabulary, coefficients, intercepts, what it was trained on), never a
pickle: loading it runs no code, it reads the same under every scikit-learn and numpy version, and
a change shows in a diff. Its `version` is a hash of its content; the classifier version stored
with each item joins it to the rules' version, so a new model re-scores stale items as a rules
change does. numpy is imported on first use (see `_np`), so that commands which classify nothing
do not pay for it at start-up.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from feedwatch.core.classify.compile import Topics
from feedwatch.core.classify.score import SIGNALS, TERM_MARK, Scored, classify, score_fields
from feedwatch.errors import ConfigError
from feedwatch.types import TopicScore

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "MODEL_FORMAT",
    "Classifier",
    "Model",
    "load_model",
    "model_from_json",
    "model_to_json",
    "resolve_labels",
    "rule_features",
    "rule_feature_names",
]

MODEL_FORMAT = "feedwatch-topic-model/1"
SHOWN = 4  # contributions shown for and against each topic


def _np() -> Any:
    import numpy  # imported on first use: start-up of commands that classify nothing stays light

    return numpy


def text_tokens(words: Sequence[str], affix: int) -> set[str]:
    """The text features of a field: its distinct words, and the first and last `affix` letters
    of its longer words (``asielzoekerscentrum`` -> ``asiel-``, ``-ntrum``): Dutch compounds."""
    out = set(words)
    n = affix
    if n:
        longer = [w for w in out if len(w) > n + 2]
        out.update([w[:n] + "-" for w in longer])
        out.update(["-" + w[-n:] for w in longer])
    return out


def rule_feature_names(keys: Sequence[str]) -> tuple[str, ...]:
    """The rule-layer features of a model over topics `keys`, in order."""
    per = ("score", "assigned", *SIGNALS, "share", "top")
    return tuple(f"{k}:{p}" for k in keys for p in per)


def rule_features(scored: Scored, positions: Sequence[int]) -> list[float]:
    """The rule-layer features of one scored item for the model's topics (`positions`: each
    model topic's index among the rules' topics, -1 when the rules lack it)."""
    scores = scored.scores
    positive = [max(s.score, 0.0) for s in scores]
    total = sum(positive)
    best = max(positive, default=0.0)
    out: list[float] = []
    for i in positions:
        if i < 0:
            out.extend([0.0] * (4 + len(SIGNALS)))
            continue
        s, p = scores[i], positive[i]
        title_w, lead_w, cover, terms = scored.signals[i]
        out.extend(
            (
                math.log1p(p),
                1.0 if s.assigned else 0.0,
                math.log1p(title_w),
                math.log1p(lead_w),
                cover,
                math.log1p(terms),
                p / total if total else 0.0,
                1.0 if p and p == best else 0.0,
            )
        )
    return out


@dataclass(frozen=True, eq=False)
class Model:
    """A trained linear model: one column of coefficients per topic."""

    topics: tuple[str, ...]
    body_words: tuple[str, ...]
    title_words: tuple[str, ...]
    rule_names: tuple[str, ...]
    coef: npt.NDArray[np.float64]  # rows: body words, title words, rule features; cols: topics
    intercept: npt.NDArray[np.float64]
    text_scale: float = 12.0  # the length of the text block of features
    threshold: float = 0.4  # a topic is assigned when its probability reaches this
    affix: int = 5  # see `text_tokens`
    trained: Mapping[str, Any] = field(default_factory=dict)
    version: str = ""
    _body: dict[str, int] = field(default_factory=dict, repr=False)
    _title: dict[str, int] = field(default_factory=dict, repr=False)
    _rows_body: _RowCache = field(init=False, repr=False)
    _rows_title: _RowCache = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._body.update((w, i) for i, w in enumerate(self.body_words))
        base = len(self.body_words)
        self._title.update((w, base + i) for i, w in enumerate(self.title_words))
        object.__setattr__(self, "_rows_body", _RowCache(self._body, self.affix))
        object.__setattr__(self, "_rows_title", _RowCache(self._title, self.affix))

    @property
    def n_text(self) -> int:
        return len(self.body_words) + len(self.title_words)

    def feature_name(self, row: int) -> str:
        """How a feature reads in an explanation."""
        nb, nt = len(self.body_words), len(self.title_words)
        if row < nb:
            return _shown(self.body_words[row])
        if row < nb + nt:
            return f"title:{_shown(self.title_words[row - nb])}"
        return f"rules[{self.rule_names[row - nb - nt]}]"

    def text_rows(self, title_words: Sequence[str], body_words: Sequence[str]) -> list[int]:
        """The rows of the text features present, each once."""
        if not self.affix:  # one feature per word: straight look-ups
            some: set[int | None] = set(map(self._body.get, body_words))
            some.update(map(self._title.get, title_words))
            some.discard(None)
            return cast(list[int], list(some))
        found = set(chain.from_iterable(map(self._rows_body.__getitem__, set(body_words))))
        found.update(chain.from_iterable(map(self._rows_title.__getitem__, set(title_words))))
        return list(found)


class _RowCache(dict[str, tuple[int, ...]]):
    """word -> the rows of its text features (the word, its affixes), worked out on first sight;
    dropped whole at a size limit. Look-ups are plain dict look-ups, safe while threads read."""

    _LIMIT = 200_000

    def __init__(self, rows: Mapping[str, int], affix: int) -> None:
        super().__init__()
        self.rows = rows
        self.affix = affix

    def __missing__(self, word: str) -> tuple[int, ...]:
        get = self.rows.get
        out = tuple(r for r in map(get, text_tokens((word,), self.affix)) if r is not None)
        if len(self) >= self._LIMIT:
            self.clear()
        self[word] = out
        return out


SHOWN_TERM = 40  # a rule term's alternatives are shown up to about this many characters


def _shown(word: str) -> str:
    """A word feature as shown: a rule term found ("§azc*") reads "term:azc*"; a term of many
    alternatives shows its first ones ("term:azc*|asielzoekerscentr*|…")."""
    if not word.startswith(TERM_MARK):
        return word
    term = word[len(TERM_MARK) :]
    if len(term) > SHOWN_TERM and "|" in term:
        alts = term.split("|")
        kept = [alts[0]]
        for alt in alts[1:]:
            if len("|".join([*kept, alt])) > SHOWN_TERM:
                break
            kept.append(alt)
        term = "|".join(kept) + "|…"
    return f"term:{term}"


def _canonical(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def model_to_json(model: Model) -> str:
    """The model file's text: canonical JSON with its version (a hash of the rest) inside."""
    doc = _document(model)
    doc["version"] = hashlib.sha256(_canonical(doc)).hexdigest()[:12]
    return _canonical(doc).decode() + "\n"


def _document(model: Model) -> dict[str, Any]:
    return {
        "format": MODEL_FORMAT,
        "topics": list(model.topics),
        "body_words": list(model.body_words),
        "title_words": list(model.title_words),
        "rule_features": list(model.rule_names),
        "coef": [[round(float(v), 6) for v in row] for row in model.coef.tolist()],
        "intercept": [round(float(v), 6) for v in model.intercept.tolist()],
        "text_scale": model.text_scale,
        "threshold": model.threshold,
        "affix": model.affix,
        "trained": dict(model.trained),
    }


def model_from_json(text: str, path: Path | str | None = None) -> Model:
    """Read a model file's text; a ConfigError names the file when it is not a valid model."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"not a model file (invalid JSON: {exc})", path) from None
    if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT:
        raise ConfigError(f"not a model file: expected format {MODEL_FORMAT!r}", path)
    np = _np()
    try:
        topics = tuple(str(k) for k in doc["topics"])
        body = tuple(str(w) for w in doc["body_words"])
        title = tuple(str(w) for w in doc["title_words"])
        rules = tuple(str(r) for r in doc["rule_features"])
        coef = np.array(doc["coef"], dtype=np.float64).reshape(-1, len(topics))
        intercept = np.array(doc["intercept"], dtype=np.float64)
        trained = dict(doc.get("trained") or {})
        text_scale, threshold = float(doc["text_scale"]), float(doc["threshold"])
        affix = int(doc["affix"])
        version = str(doc["version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"not a model file: {exc!r}", path) from None
    if coef.shape != (len(body) + len(title) + len(rules), len(topics)) or intercept.shape != (
        len(topics),
    ):
        raise ConfigError("not a model file: the coefficients do not match the features", path)
    if rules != rule_feature_names(topics):
        raise ConfigError("the model was made by another version of feedwatch: retrain it", path)
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        raise ConfigError("not a model file: coefficients must be finite numbers", path)
    if not (0 < threshold < 1 and math.isfinite(text_scale) and 0 <= affix <= 20):
        raise ConfigError("not a model file: threshold, text_scale or affix out of range", path)
    model = Model(
        topics, body, title, rules, coef, intercept, text_scale, threshold, affix, trained, version
    )
    if hashlib.sha256(_canonical(_document(model))).hexdigest()[:12] != version:
        raise ConfigError("the model file was changed by hand: its version does not match", path)
    return model


def load_model(path: Path | None = None) -> Model:
    """Read a model file; None means the model that ships with feedwatch."""
    if path is None:
        ref = resources.files("feedwatch").joinpath("data").joinpath("topics-model.json")
        return model_from_json(ref.read_text(encoding="utf-8"), "feedwatch/data/topics-model.json")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("model file not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read model file: {exc}", path) from None
    return model_from_json(text, path)


class Classifier:
    """The full decision for one item: the rules, then the model over words and rule signals.

    Topics the model does not know (a topic added to the rules after training) are decided by the
    rules alone. `version` joins the rules' version and the model's.
    """

    def __init__(self, topics: Topics, model: Model | None) -> None:
        self.topics = topics
        self.model = model
        keys = topics.keys
        self.version = topics.version if model is None else f"{topics.version}+{model.version}"
        if model is None:
            return
        np = _np()
        self._np = np
        self._positions = [keys.index(k) if k in keys else -1 for k in model.topics]
        self._columns = {k: j for j, k in enumerate(model.topics) if k in keys}
        n_text = model.n_text
        self._text_coef = np.ascontiguousarray(model.coef[:n_text])
        self._rule_coef = np.ascontiguousarray(model.coef[n_text:])
        self._text_t = np.ascontiguousarray(self._text_coef.T)
        self._names = [model.feature_name(r) for r in range(n_text)]
        self._rule_names = model.rule_names
        self._rule_cols = [np.ascontiguousarray(c) for c in self._rule_coef.T]
        self._intercept: list[float] = model.intercept.tolist()
        self._zeros = [0.0] * len(model.topics)

    def __call__(self, title: str, text: str, source: str | None = None) -> list[TopicScore]:
        """One TopicScore per topic of the rules, in their order."""
        if self.model is None:
            return classify(title, text, self.topics, source=source)
        return self._decide(score_fields(title, text, self.topics, source=source))

    def _decide(self, scored: Scored) -> list[TopicScore]:
        np, model = self._np, self.model
        assert model is not None
        rows = model.text_rows(scored.title_words, scored.body_words)
        rf = np.array(rule_features(scored, self._positions))
        scale = model.text_scale / math.sqrt(len(rows)) if rows else 0.0
        # (topics, rows present): `take` along the rows of the transposed matrix, then sum each
        # topic's row: several times faster than summing a (rows, topics) block over axis 0
        taken = self._text_t.take(rows, axis=1)
        words = (taken.sum(axis=1) * scale).tolist() if rows else self._zeros
        rules = (rf @ self._rule_coef).tolist()
        intercept = self._intercept
        threshold = model.threshold
        out: list[TopicScore] = []
        for s in scored.scores:
            j = self._columns.get(s.topic)
            if j is None:
                out.append(s)
                continue
            logit = intercept[j] + words[j] + rules[j]
            prob = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))
            if prob < threshold and not s.score:
                # no rule of the topic matched and the model agrees: nothing to keep (the store
                # keeps no row for a score of 0; `why` shows it as 0)
                out.append(TopicScore(s.topic, 0.0, threshold, (), False))
                continue
            terms = self._reasons(s, j, prob, logit, words[j], rules[j], rows, taken, scale, rf)
            out.append(TopicScore(s.topic, round(prob, 4), threshold, terms, prob >= threshold))
        return out

    def _reasons(
        self,
        s: TopicScore,
        j: int,
        prob: float,
        logit: float,
        words: float,
        rules: float,
        rows: list[int],
        taken: Any,
        scale: float,
        rf: Any,
    ) -> tuple[str, ...]:
        """What decided topic `j`: the sum (rules, words, bias), the strongest contributions for
        and against it (the bias too, on its side), then what the rules alone say and their terms.
        The contributions are ranked when the topic is assigned or when the model overrules the
        rules; when neither assigns it, the sum and the rule terms say why."""
        np, model = self._np, self.model
        assert model is not None
        verdict = "assigned" if prob >= model.threshold else "not assigned"
        mark = "assigned" if s.assigned else "not assigned"
        bias = self._intercept[j]
        total = (
            f"model {prob:.2f} {verdict}: {logit:+.2f} = rules {rules:+.2f}"
            f" + words {words:+.2f} + bias {bias:+.2f}"
        )
        by_rules = f"rules {s.score:.1f} / {s.threshold:g} {mark} by themselves"
        if prob < model.threshold and not s.assigned:  # neither assigns it: the sum says why
            return (total, by_rules, *[f"rule: {t}" for t in s.terms])
        n_rows = len(rows)
        col = np.concatenate((taken[j] * scale, rf * self._rule_cols[j]))
        order = np.argsort(col, kind="stable")
        k = min(SHOWN, len(col))
        low, high = order[:k].tolist(), order[: -k - 1 : -1].tolist()
        values = col.tolist()
        names = self._names
        rf_list = rf.tolist()

        def named(i: int) -> str:
            if i < n_rows:
                return f"{names[rows[i]]} {values[i]:+.2f}"
            r = i - n_rows
            return f"rules[{self._rule_names[r]}={rf_list[r]:.2f}] {values[i]:+.2f}"

        con = [named(i) for i in low if values[i] < 0]
        pro = [named(i) for i in high if values[i] > 0]
        (pro if bias > 0 else con).append(f"bias {bias:+.2f}")
        return (
            total,
            f"for: {', '.join(pro) or '-'}",
            f"against: {', '.join(con) or '-'}",
            by_rules,
            *[f"rule: {t}" for t in s.terms],
        )


def resolve_labels(
    decided: Mapping[str, bool], manual: Mapping[str, bool]
) -> dict[str, tuple[bool, str]]:
    """A human label wins over the classifier, both ways: topic -> (assigned, by "hand" or
    "classifier"), for every topic either of them names."""
    out = {topic: (assigned, "classifier") for topic, assigned in decided.items()}
    out.update((topic, (assigned, "hand")) for topic, assigned in manual.items())
    return out
