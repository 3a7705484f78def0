"""The configured topic classifier, as the fetch run and the worker processes build it.

Imports the pure core and the config layer only (no HTTP client, no database): app/workers.py
builds its classifier with it in a worker process.
"""

from __future__ import annotations

from collections.abc import Sequence

from feedwatch.config.topics import model_path
from feedwatch.config.topics import topics_path as resolve_topics_path
from feedwatch.core.classify import Topics, load_topics
from feedwatch.core.classify import make_classifier as full_decision
from feedwatch.core.decide import Classifier
from feedwatch.types import Item, TopicScore

__all__ = ["Classifier", "configured_topics", "make_classifier"]


def configured_topics(topics_path: str | None = None) -> Topics:
    """The topics of `topics_path`, else of config/topics.yaml when present, else the topics
    that ship with feedwatch (the rule lives in config.topics)."""
    return load_topics(resolve_topics_path(topics_path))


def make_classifier(topics_path: str | None = None) -> tuple[Classifier | None, str | None]:
    """The full topic decision (rules + model, see feedwatch.core.classify) over
    configured_topics(topics_path) and the configured model, with its version."""
    decide = full_decision(configured_topics(topics_path), model_path())

    def run(item: Item) -> Sequence[TopicScore]:
        return decide(item.title, item.summary, item.source)

    return run, decide.version
