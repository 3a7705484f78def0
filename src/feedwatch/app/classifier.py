"""The configured topic classifier, as the fetch run and the worker processes build it.

Imports the pure core only (no HTTP client, no database): app/workers.py builds its
classifier with it in a worker process.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from feedwatch.core.classify import Topics, classify, load_topics
from feedwatch.core.decide import Classifier
from feedwatch.types import Item, TopicScore

__all__ = ["Classifier", "configured_topics", "make_classifier"]


def configured_topics(topics_path: str | None = None) -> Topics:
    """The topics of `topics_path`, else of config/topics.yaml when present, else the topics
    that ship with feedwatch."""
    path = Path(topics_path) if topics_path else Path("config/topics.yaml")
    return load_topics(path if topics_path or path.exists() else None)


def make_classifier(topics_path: str | None = None) -> tuple[Classifier | None, str | None]:
    """The topic classifier over configured_topics(topics_path), with the rules' version."""
    topics = configured_topics(topics_path)

    def run(item: Item) -> Sequence[TopicScore]:
        return classify(item.title, item.summary, topics, source=item.source)

    return run, topics.version
