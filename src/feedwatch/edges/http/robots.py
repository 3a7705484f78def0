"""robots.txt for HTML pages: fetched with the shared client, cached per origin, RFC 9309 rules.

Feeds (rss/atom/json) are not subject to robots.txt; listing pages, article pages and sitemaps
are. One robots.txt per origin (scheme, host, port) is fetched through the same client and
limiter as everything else and kept for ``ttl`` (24 h). What a fetch means (RFC 9309 2.3.1):

- 2xx: the rules apply to the group of our product token ``feedwatch`` (else ``*``);
- 4xx (404 and friends): no rules, everything is allowed;
- 5xx, a timeout or no connection: the site is "unreachable" and everything is disallowed for
  now; that verdict is kept for a shorter ``unreachable_ttl`` (1 h) so that it is tried again.

urllib.robotparser reads the groups; its rule matching is replaced by RFC 9309's: the longest
matching rule wins (Allow on a tie), ``*`` matches any run of characters and a final ``$``
anchors the end.
"""

from __future__ import annotations

import asyncio
import re
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from feedwatch.edges.http.fetch import FetchSettings, HostLimiter, fetch
from feedwatch.textsafe import is_http_url

__all__ = ["ROBOTS_TOKEN", "RobotsCache", "RobotsVerdict", "robots_url"]

ROBOTS_TOKEN = "feedwatch"  # our product token in User-agent lines
MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309: parse at least the first 500 KiB
DEFAULT_TTL = 24 * 3600.0
UNREACHABLE_TTL = 3600.0


@dataclass(frozen=True, slots=True)
class RobotsVerdict:
    """May feedwatch fetch a URL; when not, `reason` says why in plain words."""

    allowed: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class _Rules:
    parser: urllib.robotparser.RobotFileParser | None  # None: no rules (allow all)
    unreachable: str | None  # why robots.txt could not be read: disallow all
    expires: float


class _Rule:
    """One Allow/Disallow line with RFC 9309 matching (wildcards, `$`, longest match)."""

    def __init__(self, path: str, allowance: bool) -> None:
        self.path = path  # percent-quoted by robotparser: '*' is '%2A', '$' is '%24'
        self.allowance = allowance
        anchored = path.endswith("%24")
        body = path[:-3] if anchored else path
        pattern = ".*".join(re.escape(part) for part in body.split("%2A"))
        self.regex = re.compile(pattern + ("$" if anchored else ""))
        self.weight = len(unquote(path))

    def applies_to(self, filename: str) -> bool:
        return self.regex.match(filename) is not None


def _rfc9309(parser: urllib.robotparser.RobotFileParser) -> None:
    """Swap robotparser's first-match rules for longest-match wildcard rules, in place."""
    entries: list[Any] = list(getattr(parser, "entries", []))
    default = getattr(parser, "default_entry", None)
    if default is not None:
        entries.append(default)
    for entry in entries:
        rules = [_Rule(line.path, bool(line.allowance)) for line in entry.rulelines]
        rules.sort(key=lambda r: (-r.weight, not r.allowance))
        entry.rulelines = rules


def robots_url(url: str) -> str | None:
    """The robots.txt URL of the origin of an http(s) URL, or None."""
    if not is_http_url(url):
        return None
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), "/robots.txt", "", ""))


def parse_robots(text: str) -> urllib.robotparser.RobotFileParser:
    """A parser for robots.txt text, with RFC 9309 matching. Pure."""
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(text.splitlines())
    _rfc9309(parser)
    return parser


def is_allowed(parser: urllib.robotparser.RobotFileParser, url: str) -> bool:
    """Whether our token may fetch `url` under the parsed rules. Pure."""
    return bool(parser.can_fetch(ROBOTS_TOKEN, url))


class RobotsCache:
    """robots.txt verdicts per origin, fetched on first need and kept until they expire.

    One cache may outlive a run (the daemon keeps it); `clock` is monotonic seconds.
    """

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        unreachable_ttl: float = UNREACHABLE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.unreachable_ttl = unreachable_ttl
        self.clock = clock
        self._rules: dict[str, _Rules] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetches = 0  # robots.txt requests made (for tests and logs)

    async def check(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        settings: FetchSettings,
        limiter: HostLimiter,
        key: str = "robots",
    ) -> RobotsVerdict:
        """May `url` be fetched? Fetches the origin's robots.txt when not cached."""
        where = robots_url(url)
        if where is None:
            return RobotsVerdict(True)
        lock = self._locks.setdefault(where, asyncio.Lock())
        async with lock:
            rules = self._rules.get(where)
            if rules is None or rules.expires <= self.clock():
                rules = await self._load(client, where, settings, limiter, key)
                self._rules[where] = rules
        if rules.unreachable is not None:
            return RobotsVerdict(
                False,
                f"robots.txt at {where} could not be read ({rules.unreachable}); "
                "its pages are not fetched until it can",
            )
        if rules.parser is None or is_allowed(rules.parser, url):
            return RobotsVerdict(True)
        return RobotsVerdict(False, f"robots.txt at {where} disallows {url} for feedwatch")

    async def _load(
        self,
        client: httpx.AsyncClient,
        where: str,
        settings: FetchSettings,
        limiter: HostLimiter,
        key: str,
    ) -> _Rules:
        self.fetches += 1
        result = await fetch(
            client,
            key,
            where,
            settings=replace(settings, max_body=min(settings.max_body, MAX_ROBOTS_BYTES)),
            limiter=limiter,
        )
        now = self.clock()
        if result.ok:
            text = result.body.decode("utf-8", errors="replace")
            return _Rules(parse_robots(text), None, now + self.ttl)
        status = result.status
        if result.error is not None and result.error.kind == "too-large":
            # RFC 9309 lets a crawler read the first 500 KiB; we do not parse a cut file.
            return _Rules(None, "it is larger than 512 KiB", now + self.unreachable_ttl)
        if status is not None and 400 <= status < 500:
            return _Rules(None, None, now + self.ttl)  # no robots.txt: allow all
        detail = result.error.message if result.error is not None else f"HTTP {status}"
        return _Rules(None, detail, now + self.unreachable_ttl)
