"""Topic classification: rules (YAML) plus a learned linear layer, every decision explained.

- `compile`: the rule language -> a compiled word index (`Topics`, `load_topics`);
- `score`: the rule layer (`classify`: per-topic scores with the terms that produced them);
- `model`: the learned layer and the full decision (`Classifier`, `load_model`);
- `evaluate`: precision, recall, F1 and the misses against labelled items;
- `train`: fitting the model (scikit-learn, imported only there) and grouped cross-validation.

Pure: apart from reading the rules and model files, nothing here does I/O; it never imports
httpx, sqlalchemy, apscheduler or click, and it imports neither pydantic nor yaml itself (the
rules file is read and validated by `feedwatch.config.topics`).
"""

from __future__ import annotations

from pathlib import Path

from feedwatch.core.classify.compile import Topic, Topics, load_topics, parse_topics
from feedwatch.core.classify.evaluate import EvalMiss, EvalReport, TopicEval, evaluate
from feedwatch.core.classify.model import Classifier, Model, load_model, resolve_labels
from feedwatch.core.classify.score import classify, explain
from feedwatch.errors import FeedwatchError
from feedwatch.types import TopicScore

__all__ = [
    "Classifier",
    "EvalMiss",
    "EvalReport",
    "Model",
    "Topic",
    "TopicEval",
    "Topics",
    "classify",
    "classify_text",
    "evaluate",
    "explain",
    "load_model",
    "load_topics",
    "make_classifier",
    "parse_topics",
    "resolve_labels",
]


def make_classifier(topics: Topics, model_path: Path | None | bool = None) -> Classifier:
    """The full decision over `topics`: with the model of `model_path` (None: the one that ships
    with feedwatch; False: none, the rules alone)."""
    if model_path is False:
        return Classifier(topics, None)
    return Classifier(topics, load_model(model_path if isinstance(model_path, Path) else None))


_DEFAULT: Classifier | None = None


def classify_text(title: str, text: str, *, lang: str | None = None) -> dict[str, TopicScore]:
    """Score a text with the topics and model shipped with feedwatch: {topic: TopicScore}.

    Each TopicScore says whether the topic is assigned, its score (the model's probability for
    the topics it knows) and threshold, and in `terms` what decided it: the model's sum, its
    strongest contributions for and against, and the rule terms (``explain([...])`` words it).
    ``lang`` is accepted for the stable API; Dutch and English are handled by the same rules and
    model. Raises only feedwatch errors.
    """
    global _DEFAULT
    try:
        if _DEFAULT is None:
            _DEFAULT = make_classifier(load_topics())
        return {s.topic: s for s in _DEFAULT(str(title or ""), str(text or ""))}
    except FeedwatchError:
        raise
    except Exception as exc:  # the stable API raises only feedwatch's own errors
        raise FeedwatchError(f"cannot classify: {exc!r}") from exc
