"""The store calls behind an item's reasons and labels, the very ones `feedwatch why` and
`feedwatch label` use (the store's topics part), gathered here so that pages.py names none."""

from __future__ import annotations

from feedwatch.edges.store import Store
from feedwatch.edges.store.topics import TopicRow

__all__ = ["TopicRow", "classifier_version", "clear_label", "set_label", "topic_rows"]


def topic_rows(store: Store, item_id: str) -> list[TopicRow]:
    return store.topic_rows(item_id)


def classifier_version(store: Store, item_id: str) -> str | None:
    return store.classifier_version(item_id)


def set_label(store: Store, item_id: str, topic: str, assigned: bool) -> None:
    store.set_label(item_id, topic, assigned)


def clear_label(store: Store, item_id: str, topic: str) -> bool:
    return store.clear_label(item_id, topic)
