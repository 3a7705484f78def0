"""Builders shared by the tests: digest rows and profiles from tests/data/digest/items.yaml,
items stored as fetched, and the check that rendered HTML is inert. Tests import these from here,
never from each other."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from feedwatch.app.pipeline import write_update
from feedwatch.config.digests import DigestProfile, DigestsConfig, EmailOutput, SmtpConfig
from feedwatch.core.digest import Digest, HealthNote, build_digest, period_for
from feedwatch.edges.store import ItemRow, SourceUpdate, Store
from feedwatch.types import Item, Source, TopicScore

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "digest"
SHARED = ROOT.parent / "shared"

FIRST_SEEN = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)
TITLES = {
    "migratie": "Migratie",
    "integratie": "Integratie",
    "asielzoekerscentrum": "Asielzoekerscentra",
    "veiligelanders": "Veilige landen",
}
PROFILE = DigestProfile(
    name="test", title="asiel en migratie", topics=tuple(TITLES), subject="{title}: {count}"
)


def fixture() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DATA / "items.yaml").read_text(encoding="utf-8"))
    return data


def make_rows(hostile: bool | None = None, first_seen: datetime = FIRST_SEEN) -> list[ItemRow]:
    rows = []
    for i, spec in enumerate(fixture()["items"]):
        if hostile is not None and bool(spec.get("hostile")) != hostile:
            continue
        published = spec.get("published")
        if isinstance(published, str):
            published = datetime.fromisoformat(published.replace("Z", "+00:00"))
        item = Item(
            id=spec["id"],
            source=spec["source"],
            url=spec["url"],
            title=spec["title"],
            summary=spec.get("summary") or "",
            published=published,
            date_source="feed" if published else "first-seen",
            first_seen=first_seen + timedelta(minutes=i),
            content_hash=f"h{i}",
        )
        rows.append(ItemRow(item=item, topics=tuple(sorted(spec["topics"]))))
    return rows


def source_names() -> dict[str, str]:
    return dict(fixture()["sources"])


HEALTH = (
    HealthNote("krant", "Testkrant", "failing", "3 mislukte pogingen; laatste fout: time-out"),
    HealthNote("ngo", "Stichting Opvang Test", "quiet", "al 30 dagen geen nieuw bericht"),
)


def make_digest(hostile: bool | None = False, health: tuple[HealthNote, ...] = HEALTH) -> Digest:
    period = period_for(date(2026, 11, 22))
    return build_digest(
        make_rows(hostile),
        health,
        period,
        PROFILE,
        since=datetime(2026, 11, 21, 6, 0, tzinfo=UTC),
        until=datetime(2026, 11, 22, 6, 0, tzinfo=UTC),
        topic_titles=TITLES,
        source_names=source_names(),
    )


AMS_DAY = date(2026, 11, 22)
T0 = datetime(2026, 11, 21, 23, 0, tzinfo=UTC)  # Amsterdam midnight starting 22 November
TOPICS = ("migratie", "integratie", "asielzoekerscentrum", "veiligelanders")
TEAM_PROFILE = DigestProfile(name="team", topics=TOPICS, markdown=True)
MAIL_PROFILE = replace(
    TEAM_PROFILE, email=EmailOutput(to=("team@example.org",), sender="fw <fw@example.org>")
)
CFG = DigestsConfig(path=None, profiles=(TEAM_PROFILE,), smtp=SmtpConfig(host="127.0.0.1", port=1))


def add_sources(store: Store, keys: Sequence[str], kind: str = "rss") -> None:
    """Add sources, keeping the ones already there (sync_sources disables what it is not given)."""
    known = {r.key: r.kind for r in store.source_reports()}
    known.update({k: kind for k in keys if k not in known})
    store.sync_sources(
        [
            Source(key=k, name=source_names().get(k, k), url=f"https://{k}.example/f", kind=kd)  # type: ignore[arg-type]
            for k, kd in sorted(known.items())
        ],
        T0 - timedelta(days=30),
    )


def put(store: Store, rows: Sequence[ItemRow], at: datetime | None = None) -> None:
    """Store rows as fetched (one successful fetch per source), topics assigned."""
    by_source: dict[str, list[ItemRow]] = {}
    for r in rows:
        by_source.setdefault(r.item.source, []).append(r)
    add_sources(store, sorted(by_source))
    for key, part in by_source.items():
        started = at or min(r.item.first_seen for r in part)
        write_update(
            store,
            SourceUpdate(
                key=key,
                started_at=started,
                duration=0.1,
                outcome="ok",
                url=f"https://{key}.example/f",
                items=tuple(r.item for r in part),
                scores={
                    r.item.id: tuple(TopicScore(t, 1.0, 0.5, assigned=True) for t in r.topics)
                    for r in part
                },
            ),
        )


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert_html(html: str) -> list[str]:
    """No script, no event handlers, no images, only http(s) links; returns the links."""
    parser = _Elements()
    parser.feed(html)
    links = []
    for tag, attrs in parser.tags:
        assert tag not in ("script", "img", "iframe", "object", "form", "input", "b"), tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name == "href":
                assert value is not None and re.match(r"https?://", value), value
                links.append(value)
            if name == "src":
                raise AssertionError(f"{tag} has src {value}")
    return links
