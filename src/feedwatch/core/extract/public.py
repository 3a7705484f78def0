"""The stable extraction API of feedwatch (re-exported as ``feedwatch.parse_feed`` and friends).

Pure functions over bytes: no network, no database, no clock unless ``now`` is left out. Stable
from 0.x on: the signatures below stay; new keyword arguments may be added with defaults.

- ``parse_feed(body, *, url, headers=None, now=None) -> list[Item]``
- ``extract_listing(body, *, url, selectors=None, now=None) -> list[Item]``
- ``article_date(body, *, url) -> (datetime | None, "page-meta" | "page-text" | None)``

Errors: the only exception any of them raises is ``feedwatch.errors.ExtractError`` (a
``FeedwatchError``), whatever the bytes: a body that is not a usable feed, an invalid CSS
selector. A failure inside a parser is turned into an ``ExtractError`` naming it (and is a bug
to report), never a traceback of lxml, feedparser or htmldate. ``article_date`` raises nothing
for a page it cannot read: it answers ``(None, None)``.

Dates are aware UTC. A feed date without a zone is UTC; a date without a time (in a feed or on
an article page) is 00:00 UTC of that day; dates on listing pages are Amsterdam wall time.
Items are what feedwatch stores (``feedwatch.types.Item``): canonical URL, plain-text title
and summary, ``published`` with its ``date_source`` ("feed", "listing", "first-seen", ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit

from feedwatch.core.extract import article, feeds, listing
from feedwatch.core.normalise import normalise
from feedwatch.errors import ExtractError
from feedwatch.types import DateSource, Item, RawItem, Selectors

__all__ = ["article_date", "extract_listing", "parse_feed"]

T = TypeVar("T")


def _key(url: str) -> str:
    """A source key for messages and item ids, from the URL's host."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    return (host or "feed").lower()


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _items(key: str, raws: Iterable[RawItem], url: str, now: datetime) -> list[Item]:
    out: list[Item] = []
    for raw in raws:
        item = normalise(key, raw, now, base_url=url)
        if item is not None:
            out.append(item)
    return out


def _guarded(key: str, what: str, call: Callable[[], T]) -> T:
    """Run one extraction; anything but an ExtractError becomes one (with its cause kept)."""
    try:
        return call()
    except ExtractError:
        raise
    except Exception as exc:  # a parser's own error (a bug to report): still ours to raise
        raise ExtractError(key, f"could not read the {what}: {type(exc).__name__}") from exc


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> list[Item]:
    """The items of an RSS 0.9x/1.0/2.0, Atom or JSON Feed body, as feedwatch stores them.

    ``url`` is the feed's address (base of relative links; its host names the source in item
    ids and messages); ``headers`` the HTTP response headers (Content-Type's charset counts);
    ``now`` the fetch time (first-seen date, the "not in the future" bound), default the
    current time. At most 200 items, newest first when the feed has more. Raises
    ``ExtractError`` when the body is not a usable feed.
    """
    when = _now(now)
    key = _key(url)
    if not isinstance(body, bytes | bytearray):
        raise ExtractError(key, "the body must be bytes")

    def run() -> list[Item]:
        parsed = feeds.parse_feed(key, bytes(body), dict(headers or {}), url, when)
        return _items(key, parsed.items, url, when)

    return _guarded(key, "feed", run)


def extract_listing(
    body: bytes,
    *,
    url: str,
    selectors: Selectors | None = None,
    now: datetime | None = None,
) -> list[Item]:
    """The news items of an HTML listing page, in page order.

    With ``selectors`` (a ``feedwatch.types.Selectors``: CSS for item/title/link/date/summary)
    those decide; otherwise JSON-LD lists, else feedwatch's detector of repeated dated cards.
    Dated items carry ``date_source == "listing"``. An empty list when the page shows no list;
    ``ExtractError`` for an invalid selector.
    """
    when = _now(now)
    key = _key(url)
    if not isinstance(body, bytes | bytearray):
        raise ExtractError(key, "the body must be bytes")

    def run() -> list[Item]:
        try:
            raws = listing.extract_listing(bytes(body), url, selectors=selectors, now=when)
        except ValueError as exc:  # a selector that cannot be compiled
            raise ExtractError(key, str(exc)) from exc
        return _items(key, raws, url, when)

    return _guarded(key, "listing page", run)


def article_date(body: bytes, *, url: str) -> tuple[datetime | None, DateSource | None]:
    """An article page's publication date (aware UTC) and where it was found.

    The provenance is ``"page-meta"`` (machine-readable metadata: JSON-LD, ``<meta>``,
    microdata, ``<time datetime>``) or ``"page-text"`` (a date shown on the page). A date
    without a time is 00:00 UTC of that day. ``(None, None)`` when the page shows no date
    feedwatch trusts, or cannot be read at all.
    """
    if not isinstance(body, bytes | bytearray):
        raise ExtractError(_key(url), "the body must be bytes")
    try:
        info = article.extract_article(bytes(body), url, now=datetime.now(UTC))
    except Exception:  # a page we cannot read has no date we trust
        return None, None
    return info.published, info.date_source
