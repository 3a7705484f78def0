"""Adding a source: find the feed or listing behind a page and append it to the config.

What a URL becomes (``resolve_source``): a feed when the URL is one; else a feed the page
declares (``<link rel="alternate">``, then feed-like links); else a feed at one of the common
paths (/feed/, /rss, ...); else the page as an HTML listing, when the generic extractor finds
items on it. Every candidate is fetched and parsed before it is chosen.

The config file is edited as text: the new entry is appended after the last source, so every
comment, blank line and the order of the file stay as they were; the result is validated
before it replaces the file (atomically). A config whose ``sources:`` list is not at the end
is edited with ruamel.yaml's round-trip mode, which also keeps comments.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from feedwatch.app.deliver import atomic_text
from feedwatch.app.pipeline import fetch_settings
from feedwatch.config._yaml import COMPOSER
from feedwatch.config.sources import (
    Config,
    parse_config,
)
from feedwatch.core.extract.discover import common_feed_urls, discover_feeds, sniff_kind
from feedwatch.core.extract.feeds import parse_feed
from feedwatch.core.extract.listing import extract_listing
from feedwatch.core.extract.page import parse_page, text_of
from feedwatch.edges.http.fetch import HostLimiter, fetch, make_client
from feedwatch.edges.http.robots import RobotsCache
from feedwatch.errors import DiscoveryError, ExtractError
from feedwatch.types import FetchResult

__all__ = ["NothingFound", "Resolved", "append_source", "resolve_source", "suggest_key"]

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_LINK_CANDIDATES = 3  # feeds a page declares that are tried


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a URL turned out to be."""

    url: str  # the URL to put in the config (the feed's, or the page's)
    kind: str  # rss | atom | json | html
    how: str  # plain words: how it was found
    items: int  # items read from it now
    dated: int  # of which with a date
    title: str | None = None


class NothingFound(DiscoveryError):
    """Neither a feed nor a listing with items behind the URL."""


def _feed_check(result: FetchResult, now: Any) -> tuple[str, int, int, str | None] | None:
    """(kind, items, dated, title) when the response is a feed with items, else None."""
    if not result.ok:
        return None
    kind = sniff_kind(result.body, result.headers.get("content-type"))
    if kind not in ("rss", "atom", "json"):
        return None
    try:
        parsed = parse_feed("add", result.body, result.headers, result.final_url, now)
    except ExtractError:
        return None
    if not parsed.items:
        return None
    dated = sum(1 for i in parsed.items if i.published is not None)
    return kind, len(parsed.items), dated, parsed.title


async def resolve_source(url: str, config: Config) -> Resolved:
    """Fetch `url` and decide what to watch. Raises NothingFound (with the reason)."""
    settings = fetch_settings(config)
    limiter = HostLimiter.from_settings(settings)
    robots = RobotsCache()
    now = datetime.now(UTC)
    async with make_client(settings) as client:

        async def get(target: str) -> FetchResult:
            return await fetch(client, "add", target, settings=settings, limiter=limiter, now=now)

        page = await get(url)
        if not page.ok:
            msg = page.error.message if page.error is not None else f"HTTP {page.status}"
            raise NothingFound(f"cannot fetch {url}: {msg}")
        page_url = page.final_url or url
        feed = _feed_check(page, now)
        if feed is not None:
            return Resolved(page_url, feed[0], "the URL is a feed", feed[1], feed[2], feed[3])

        declared = discover_feeds(page.body, page_url)
        for cand in declared[:MAX_LINK_CANDIDATES]:
            feed = _feed_check(await get(cand.url), now)
            if feed is not None:
                return Resolved(
                    cand.url, feed[0], "a feed the page links to", feed[1], feed[2], feed[3]
                )
        tried = {c.url for c in declared[:MAX_LINK_CANDIDATES]}
        for cand_url in common_feed_urls(page_url):
            if cand_url in tried:
                continue
            feed = _feed_check(await get(cand_url), now)
            if feed is not None:
                return Resolved(
                    cand_url, feed[0], "a feed at a common path", feed[1], feed[2], feed[3]
                )

        verdict = await robots.check(client, page_url, settings=settings, limiter=limiter)
        if not verdict.allowed:
            raise NothingFound(f"no feed found, and {verdict.reason}")
        items = extract_listing(page.body, page_url, selectors=None, now=now, headers=page.headers)
        if not items:
            raise NothingFound(
                f"no feed found at {url} and no news listing recognised on the page; "
                "add it by hand with kind: html and selectors"
            )
        parsed = parse_page(page.body, page_url, page.headers)
        title_el = parsed.root.find(".//title") if parsed is not None else None
        title = text_of(title_el) if title_el is not None else None
        dated = sum(1 for i in items if i.published is not None)
        return Resolved(
            page_url, "html", "an HTML listing (generic extractor)", len(items), dated, title
        )


def suggest_key(url: str, taken: set[str]) -> str:
    """A key from the host's name and the last path segment: coa.nl/nl/actueel/nieuws ->
    coa-nieuws; made unique with -2, -3, ..."""
    parts = urlsplit(url)
    host = (parts.hostname or "bron").lower()
    labels = [x for x in host.split(".") if x not in ("www", "feeds", "rss", "nl", "com", "org")]
    site = labels[-1] if labels else host.split(".")[0]
    try:
        ipaddress.ip_address(host)
        site = ""  # an address says nothing about the site
    except ValueError:
        pass
    segments = [s for s in parts.path.split("/") if s and s not in ("nl", "en", "feed", "rss")]
    last = segments[-1] if segments else ""
    last = re.sub(r"\.(?:xml|rss|atom|json|html?|php|aspx)$", "", last.lower())
    base = "-".join(x for x in (site, last) if x)
    base = re.sub(r"[^a-z0-9]+", "-", base).strip("-")[:40].strip("-") or "bron"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def _scalar(value: str) -> str:
    """A YAML scalar for value: plain when that reads back the same, else double-quoted."""
    if value and " #" not in value and not value.startswith(("'", '"', "&", "*", "!", "%", "@")):
        try:
            if yaml.safe_load(f"k: {value}") == {"k": value}:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


def _entry_lines(fields: dict[str, str], indent: int) -> list[str]:
    pad = " " * indent
    out = []
    for i, (name, value) in enumerate(fields.items()):
        lead = f"{pad}- " if i == 0 else f"{pad}  "
        out.append(f"{lead}{name}: {_scalar(value)}")
    return out


def _text_append(text: str, fields: dict[str, str], comment: str) -> str | None:
    """The config with the entry appended after the last source, or None when `sources:` is
    not the last thing in the file (or has no items to take the indentation from)."""
    root = yaml.compose(text, Loader=COMPOSER)
    if not isinstance(root, yaml.MappingNode) or not root.value:
        return None
    last_key, last_value = root.value[-1]
    if last_key.value != "sources" or not isinstance(last_value, yaml.SequenceNode):
        return None
    if not last_value.value:
        return None
    indent = last_value.value[0].start_mark.column - 2  # the column of "- "
    if indent < 0:
        return None
    body = text if text.endswith("\n") else text + "\n"
    block = [""] + ([f"{' ' * indent}# {comment}"] if comment else [])
    return body + "\n".join(block + _entry_lines(fields, indent)) + "\n"


def _ruamel_append(text: str, fields: dict[str, str]) -> str:
    from io import StringIO

    from ruamel.yaml import YAML

    yml = YAML()  # round-trip: comments and order kept
    yml.width = 4096
    yml.indent(mapping=2, sequence=4, offset=2)
    data = yml.load(text) or {}
    sources = data.get("sources")
    if sources is None:
        data["sources"] = sources = []
    sources.append(dict(fields))
    out = StringIO()
    yml.dump(data, out)
    return out.getvalue()


def append_source(path: Path, fields: dict[str, str], comment: str = "") -> None:
    """Append one source to the config at `path`, keeping comments and order; validated and
    written atomically. Raises ConfigError when the result would not load."""
    text = path.read_text(encoding="utf-8")
    new = _text_append(text, fields, comment)
    if new is None:
        new = _ruamel_append(text, fields)
    parse_config(new, path, environ={})  # raises ConfigError, and then nothing is written
    with atomic_text(path) as fh:
        fh.write(new)
