"""The stable extraction API of feedwatch (re-exported as ``feedwatch.parse_feed`` and friends).

Pure functions over bytes: no network, no database, no clock unless ``now`` is left out. They
raise only feedwatch's own errors (``ExtractError``); anything else escaping is a bug.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

from feedwatch.core.extract import article, feeds, listing
from feedwatch.core.normalise import normalise
from feedwatch.errors import ExtractError
from feedwatch.types import DateSource, Item, RawItem, Selectors

__all__ = ["article_date", "extract_listing", "parse_feed"]


def _key(url: str) -> str:
    """A source key for messages and item ids, from the URL's host."""
    host = urlsplit(url).hostname or "feed"
    return host.lower()


def _items(key: str, raws: Iterable[RawItem], url: str, now: datetime) -> list[Item]:
    out: list[Item] = []
    for raw in raws:
        item = normalise(key, raw, now, base_url=url)
        if item is not None:
            out.append(item)
    return out


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> list[Item]:
    """The items of an RSS, Atom or JSON feed body, newest first, as feedwatch stores them.

    ``now`` is the fetch time (first-seen date, the "not in the future" bound); default: the
    current time. Raises ``ExtractError`` when the body is not a usable feed.
    """
    now = now or datetime.now(UTC)
    key = _key(url)
    parsed = feeds.parse_feed(key, body, dict(headers or {}), url, now)
    return _items(key, parsed.items, url, now)


def extract_listing(
    body: bytes,
    *,
    url: str,
    selectors: Selectors | None = None,
    now: datetime | None = None,
) -> list[Item]:
    """The news items of an HTML listing page, in page order (dated ones: ``listing``)."""
    now = now or datetime.now(UTC)
    key = _key(url)
    try:
        raws = listing.extract_listing(body, url, selectors=selectors, now=now)
    except ValueError as exc:  # a selector that cannot be compiled
        raise ExtractError(key, str(exc)) from exc
    return _items(key, raws, url, now)


def article_date(body: bytes, *, url: str) -> tuple[datetime | None, DateSource | None]:
    """An article page's publication date (aware UTC) and where it was found on the page.

    The provenance is ``page-meta`` (structured metadata) or ``page-text`` (a visible date);
    (None, None) when the page shows no trustworthy date.
    """
    info = article.extract_article(body, url, now=datetime.now(UTC))
    return info.published, info.date_source
