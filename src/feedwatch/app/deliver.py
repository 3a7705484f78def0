"""Digest delivery: build, store, write and mail a profile's digest exactly once
(pending -> sent), and publish the topic feeds. Used by `feedwatch digest`/`publish` and by the
daemon's digest jobs alike."""

from __future__ import annotations

import os
import re
import socket
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from feedwatch.app.pipeline import configured_topics
from feedwatch.config.digests import DigestProfile, DigestsConfig
from feedwatch.core import export as exporter
from feedwatch.core.digest import (
    Digest,
    HealthNote,
    assess_health,
    build_digest,
    period_for,
    render_email,
    render_markdown,
)
from feedwatch.core.entities import entity_url, parse_entity
from feedwatch.edges import mail
from feedwatch.edges.store import ItemQuery, ItemRow, Store
from feedwatch.errors import ConfigError, DeliveryError
from feedwatch.types import DigestRecord

if TYPE_CHECKING:
    from email.message import EmailMessage

    from feedwatch.config.digests import SmtpConfig

DEFAULT_OUTPUT_DIR = "out"

__all__ = [
    "DigestRun",
    "atomic_text",
    "markdown_path",
    "output_dir",
    "dossier_feed_name",
    "entity_rows",
    "publish_dossier_feeds",
    "publish_feeds",
    "run_digest",
    "topic_titles",
]

Sender = Callable[["EmailMessage", "SmtpConfig"], int]


def output_dir(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get("FEEDWATCH_OUTPUT_DIR") or DEFAULT_OUTPUT_DIR)


@contextmanager
def atomic_text(path: Path) -> Iterator[TextIO]:
    """Write a text file through a temporary sibling, renamed over `path` when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def topic_titles(topics_path: str | None = None) -> dict[str, str]:
    """Topic key -> title of the configured topics (--topics / FEEDWATCH_TOPICS, else
    config/topics.yaml, else the packaged ones): the same rules the classifier uses."""
    return {t.key: t.title for t in configured_topics(topics_path).topics}


# ------------------------------------------------------------------------------ digest run


@dataclass(frozen=True, slots=True)
class DigestRun:
    """What one digest run did for one profile and day."""

    profile: str
    period: str
    status: str  # sent | pending (delivery failed) | skipped | already-sent | in-progress | dry-run
    items: int
    markdown: Path | None = None
    error: str | None = None
    text: str | None = None  # the Markdown, for --dry-run


def _message_id(profile: DigestProfile, record: DigestRecord) -> str:
    sender = profile.email.sender if profile.email else "feedwatch@localhost"
    domain = sender.rsplit("@", 1)[-1].rstrip(">").strip() or "localhost"
    return f"<digest.{record.id}.{record.attempts}.{profile.name}@{domain}>"


def _render(
    store: Store,
    profile: DigestProfile,
    record: DigestRecord,
    titles: Mapping[str, str],
    names: Mapping[str, str],
) -> Digest:
    rows = store.digest_rows(record)
    health = [HealthNote.from_json(h) for h in record.health]
    return build_digest(
        rows,
        health,
        period_for(date.fromisoformat(record.period)),
        profile,
        since=record.since,
        until=record.until,
        topic_titles=titles,
        source_names=names,
    )


_OWNER = f"{socket.gethostname()}:{os.getpid()}"


def markdown_path(profile: DigestProfile, period: str, out: Path) -> Path:
    base = Path(profile.markdown_dir) if profile.markdown_dir else out / "digests"
    return base / profile.name / f"{period}.md"


def _deliver(
    store: Store,
    cfg: DigestsConfig,
    profile: DigestProfile,
    record: DigestRecord,
    *,
    now: datetime,
    out: Path,
    titles: Mapping[str, str],
    names: Mapping[str, str],
    send: Sender | None,
    force: bool = False,
) -> DigestRun:
    if not force and not store.claim_delivery(record.id, _OWNER, now):
        # Another worker is delivering it right now (or has just done so).
        return DigestRun(profile.name, record.period, "in-progress", record.item_count)
    digest = _render(store, profile, record, titles, names)
    md: Path | None = None
    if profile.markdown:
        md = markdown_path(profile, record.period, out)
        with atomic_text(md) as fh:
            fh.write(render_markdown(digest))
    if profile.email is not None:
        assert cfg.smtp is not None  # the config loader insists
        subject, text, html = render_email(digest)
        msg = mail.build_message(
            subject=subject,
            text=text,
            html=html,
            sender=profile.email.sender,
            to=profile.email.to,
            cc=profile.email.cc,
            date=now,
            message_id=_message_id(profile, record),
        )
        try:
            (send or mail.send)(msg, cfg.smtp)
        except DeliveryError as exc:
            store.record_failure(record.id, str(exc))
            return DigestRun(
                profile.name, record.period, "pending", digest.total, md, error=str(exc)
            )
        store.mark_sent(record.id, now, str(msg["Message-ID"]))
    else:
        store.mark_sent(record.id, now)
    return DigestRun(profile.name, record.period, "sent", digest.total, md)


def run_digest(
    store: Store,
    cfg: DigestsConfig,
    profile: DigestProfile,
    day: date,
    now: datetime,
    *,
    out: Path,
    force: bool = False,
    dry_run: bool = False,
    titles: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
    send: Sender | None = None,
) -> list[DigestRun]:
    """Deliver the profile's earlier pending digests, then the digest of `day`: created pending
    with its item list in one transaction, written as Markdown, mailed, then marked sent. A sent
    digest is not sent again unless `force`. `dry_run` stores nothing and returns the Markdown."""
    titles = titles if titles is not None else topic_titles()
    names = names or {}
    period = period_for(day)
    runs: list[DigestRun] = []
    kw: dict[str, Any] = {"now": now, "out": out, "titles": titles, "names": names, "send": send}
    if not dry_run:
        for old in store.pending_digests(profile.name):
            if old.period < period.key:
                runs.append(_deliver(store, cfg, profile, old, **kw))
    record = store.get_digest(profile.name, period.key)
    if record is None:
        since, until = store.digest_window(profile.name, period.key, period.start, period.end, now)
        rows = store.new_items(since, until, profile.topics, profile.sources)
        facts = store.source_facts(since, until, profile.sources)
        health = assess_health(facts, since, now, profile.language)
        if dry_run:
            digest = build_digest(
                rows,
                health,
                period,
                profile,
                since=since,
                until=until,
                topic_titles=titles,
                source_names=names,
            )
            text = render_markdown(digest)
            return [*runs, DigestRun(profile.name, period.key, "dry-run", digest.total, text=text)]
        skip = not rows and not health and profile.empty == "skip"
        record = store.create_digest(
            profile=profile.name,
            period=period.key,
            since=since,
            until=until,
            item_ids=[r.item.id for r in rows],
            health=[h.to_json() for h in health],
            now=now,
            status="skipped" if skip else "pending",
        )
    if dry_run:
        text = render_markdown(_render(store, profile, record, titles, names))
        return [*runs, DigestRun(profile.name, period.key, "dry-run", record.item_count, text=text)]
    if record.status == "skipped" and not force:
        return [*runs, DigestRun(profile.name, period.key, "skipped", 0)]
    if record.status == "sent" and not force:
        md = markdown_path(profile, record.period, out) if profile.markdown else None
        return [*runs, DigestRun(profile.name, period.key, "already-sent", record.item_count, md)]
    runs.append(_deliver(store, cfg, profile, record, force=force, **kw))
    return runs


# ---------------------------------------------------------------------------------- publish


def _publish_pair(
    out: Path,
    name: str,
    rows: Callable[[], Iterable[ItemRow]],
    info: exporter.FeedInfo,
    base_url: str | None,
) -> list[Path]:
    """out/feeds/<name>.xml (Atom) and .json (JSON Feed) of `rows`, each written atomically."""
    written: list[Path] = []
    for fmt, suffix in (("atom", "xml"), ("jsonfeed", "json")):
        path = out / "feeds" / f"{name}.{suffix}"
        self_url = f"{base_url.rstrip('/')}/{path.name}" if base_url else None
        with atomic_text(path) as fh:
            exporter.write(fmt, rows(), fh, replace(info, self_url=self_url))
        written.append(path)
    return written


def publish_feeds(
    store: Store,
    topics: Mapping[str, str],
    out: Path,
    *,
    limit: int = 200,
    base_url: str | None = None,
    names: Mapping[str, str] | None = None,
) -> list[Path]:
    """One Atom (<topic>.xml) and one JSON Feed (<topic>.json) per topic under out/feeds/."""
    written: list[Path] = []
    for key, title in topics.items():
        written += _publish_pair(
            out,
            key,
            partial(store.iter_items, ItemQuery(topics=(key,), limit=limit)),
            exporter.FeedInfo(
                title=f"feedwatch — {title}",
                id=f"tag:feedwatch,2026:topic:{key}",
                description=f"Nieuwe berichten over {title} (feedwatch)",
                source_names=names,
            ),
            base_url,
        )
    return written


def entity_rows(store: Store, entity: str, query: ItemQuery) -> Iterable[ItemRow]:
    """The rows of `query` limited to the items citing `entity` (none when none does)."""
    ids = tuple(store.entity_item_ids(entity))
    if not ids:
        return iter(())
    return store.iter_items(replace(query, ids=ids))


def dossier_feed_name(entity: str) -> str:
    """`dossier-<kind>-<id>` with every character a file name may not hold as '-'."""
    kind, _, ident = entity.partition(":")
    return f"dossier-{kind}-{re.sub(r'[^A-Za-z0-9._-]+', '-', ident).strip('-')}"


def publish_dossier_feeds(
    store: Store,
    follow: Sequence[str],
    out: Path,
    *,
    limit: int = 200,
    base_url: str | None = None,
    names: Mapping[str, str] | None = None,
) -> list[Path]:
    """One Atom (.xml) and one JSON Feed (.json) per followed entity under out/feeds/."""
    written: list[Path] = []
    for ref in follow:
        try:
            entity = parse_entity(ref)
        except ValueError as exc:
            raise ConfigError(f"follow: {exc}") from None
        written += _publish_pair(
            out,
            dossier_feed_name(entity),
            partial(entity_rows, store, entity, ItemQuery(limit=limit)),
            exporter.FeedInfo(
                title=f"feedwatch — dossier {entity}",
                id=f"tag:feedwatch,2026:dossier:{entity}",
                home_url=entity_url(entity),
                description=f"Alles wat naar {entity} verwijst, uit alle bronnen (feedwatch)",
                source_names=names,
            ),
            base_url,
        )
    return written
