"""The store calls behind an item's reasons and labels, the very ones `feedwatch why` and
`feedwatch label` use (edges/store/topics.py), gathered here so that pages.py names none."""

from __future__ import annotations

from feedwatch.edges.store import Store
from feedwatch.edges.store import topics as _topics

TopicRow = _topics.TopicRow


def topic_rows(store: Store, item_id: str) -> list[TopicRow]:
    return _topics.topic_rows(store, item_id)


def classifier_version(store: Store, item_id: str) -> str | None:
    return _topics.classifier_version(store, item_id)


def set_label(store: Store, item_id: str, topic: str, assigned: bool) -> None:
    _topics.set_label(store, item_id, topic, assigned)


def clear_label(store: Store, item_id: str, topic: str) -> bool:
    return _topics.clear_label(store, item_id, topic)
