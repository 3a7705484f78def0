"""Evaluation of topic decisions against labelled items: precision, recall, F1, and the misses.

Pure. `evaluate` scores labelled records with any decision (the rules alone by default, or the
full decision of `feedwatch.core.classify.model.Classifier`); `report` turns decisions already
taken (e.g. the held-out folds of a cross-validation, see `train`) into the same report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from feedwatch.core.classify.compile import Topics
from feedwatch.core.classify.score import classify
from feedwatch.types import TopicScore

__all__ = ["Decide", "EvalMiss", "EvalReport", "TopicEval", "evaluate", "record_fields", "report"]


@dataclass(frozen=True, slots=True)
class TopicEval:
    """Precision, recall and F1 of one topic over a labelled set."""

    precision: float
    recall: float
    f1: float
    support: int  # items labelled with the topic
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def to_json(self) -> dict[str, float | int]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.support,
        }


@dataclass(frozen=True, slots=True)
class EvalMiss:
    """One wrong decision: a false positive or false negative for one topic."""

    index: int  # line/record number, from 1
    id: str | None
    title: str
    topic: str
    kind: Literal["false positive", "false negative"]
    score: float
    threshold: float
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EvalReport:
    """The result of `evaluate`: per-topic figures, macro-F1 and the wrong decisions."""

    n: int
    macro_f1: float
    topics: Mapping[str, TopicEval]
    misses: tuple[EvalMiss, ...] = ()
    version: str = ""

    def to_json(self) -> dict[str, Any]:
        """``{"n", "macro_f1", "topics": {key: {precision, recall, f1, support}}}``."""
        return {
            "n": self.n,
            "macro_f1": self.macro_f1,
            "topics": {k: v.to_json() for k, v in self.topics.items()},
        }

    def format_table(self) -> str:
        width = max([len("topic"), *(len(k) for k in self.topics)])
        head = f"{'topic':<{width}}  precision  recall     f1  support   tp   fp   fn"
        lines = [head, "-" * len(head)]
        for key, t in self.topics.items():
            lines.append(
                f"{key:<{width}}  {t.precision:9.3f}  {t.recall:6.3f}  {t.f1:5.3f}"
                f"  {t.support:7d} {t.tp:4d} {t.fp:4d} {t.fn:4d}"
            )
        lines.append("-" * len(head))
        lines.append(f"{'macro-F1':<{width}}  {self.macro_f1:.3f}   (n = {self.n})")
        return "\n".join(lines)

    def format_misses(self, max_terms: int = 6) -> str:
        lines: list[str] = []
        for kind in ("false positive", "false negative"):
            rows = [m for m in self.misses if m.kind == kind]
            lines.append(f"{kind}s: {len(rows)}")
            for m in rows:
                ident = m.id or f"#{m.index}"
                title = m.title if len(m.title) <= 80 else m.title[:79] + "…"
                lines.append(
                    f"  {m.topic}  {ident}  score {m.score:.1f} / {m.threshold:g}  {title}"
                )
                if not m.terms:
                    lines.append("      no term of the topic found (rules 0; the model agreed)")
                for term in m.terms[:max_terms]:
                    lines.append(f"      {term}")
                if len(m.terms) > max_terms:
                    lines.append(f"      … {len(m.terms) - max_terms} more")
        return "\n".join(lines)


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


# What `evaluate` scores items with: (title, text, source) -> one TopicScore per topic
Decide = Callable[[str, str, str | None], Sequence[TopicScore]]


def record_fields(rec: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """(title, text, source) of a labelled record; `summary` stands in for a missing `text`."""
    title = str(rec.get("title") or "")
    text = str(rec.get("text") or rec.get("summary") or "")
    source = rec.get("source")
    return title, text, source if isinstance(source, str) else None


def evaluate(
    records: Iterable[Mapping[str, Any]],
    topics: Topics,
    *,
    decide: Decide | None = None,
    version: str | None = None,
) -> EvalReport:
    """Classify labelled records (title, text, labels; optional id, source) and score the result.

    `decide` scores one item (default: the rules alone). Labels that name no topic of `topics`
    are ignored. Macro-F1 averages the topics that occur in the labels or the predictions; a topic
    with neither is reported with zeros and left out.
    """
    if decide is None:

        def decide(title: str, text: str, source: str | None) -> Sequence[TopicScore]:
            return classify(title, text, topics, source=source)

    rows = []
    for rec in records:
        title, text, source = record_fields(rec)
        rows.append((rec, decide(title, text, source)))
    return report(rows, topics.keys, version if version is not None else topics.version)


def report(
    rows: Iterable[tuple[Mapping[str, Any], Sequence[TopicScore]]],
    keys: Sequence[str],
    version: str = "",
) -> EvalReport:
    """Precision, recall and F1 per topic of labelled records and the decisions taken on them."""
    counts = {k: [0, 0, 0] for k in keys}  # tp, fp, fn
    misses: list[EvalMiss] = []
    n = 0
    for n, (rec, scores) in enumerate(rows, start=1):
        gold = {str(x) for x in (rec.get("labels") or ())}
        title = str(rec.get("title") or "")
        for s in scores:
            c = counts.get(s.topic)
            if c is None:
                continue
            labelled = s.topic in gold
            if s.assigned and labelled:
                c[0] += 1
            elif s.assigned or labelled:
                c[1 if s.assigned else 2] += 1
                kind: Literal["false positive", "false negative"] = (
                    "false positive" if s.assigned else "false negative"
                )
                rid = rec.get("id")
                misses.append(
                    EvalMiss(
                        n,
                        str(rid) if rid is not None else None,
                        title,
                        s.topic,
                        kind,
                        s.score,
                        s.threshold,
                        s.terms,
                    )
                )
    per: dict[str, TopicEval] = {}
    f1s: list[float] = []
    for key, (tp, fp, fn) in counts.items():
        p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        per[key] = TopicEval(round(p, 4), round(r, 4), round(f1, 4), tp + fn, tp, fp, fn)
        if tp + fp + fn:
            f1s.append(f1)
    macro = round(sum(f1s) / len(f1s), 4) if f1s else 0.0
    return EvalReport(n, macro, per, tuple(misses), version)
