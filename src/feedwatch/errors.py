"""The one error tree of feedwatch; errors are translated at the edges with their cause kept."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

# Why a fetch failed (FetchError.kind): edges/http/fetch.py and the robots check set these.
FetchErrorKind = Literal[
    "url",  # not an http(s) URL
    "dns",  # the host name does not resolve
    "refused-address",  # the address policy refused every address of the host
    "connect",  # no TCP connection (refused, unreachable)
    "tls",  # TLS handshake or certificate failure
    "timeout",  # connect/read timeout, or the whole-exchange deadline
    "network",  # the connection broke during the exchange
    "protocol",  # the server broke HTTP
    "http",  # a 4xx/5xx (or an unusable 3xx) status; FetchResult.status is set
    "redirects",  # a loop, too many hops, or a redirect to a non-http(s) URL
    "too-large",  # decoded body over max_body
    "decoding",  # unsupported or corrupt Content-Encoding
    "robots",  # robots.txt disallows the page
]


class FeedwatchError(Exception):
    """Base of every error feedwatch raises on purpose."""


class ConfigError(FeedwatchError):
    """A configuration file is wrong; names the file, the line and what was expected."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        return f"{where}{self.message}"


class SourceError(FeedwatchError):
    """Something went wrong with one source; never stops the others."""

    def __init__(self, key: str, message: str):
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}")


class FetchError(SourceError):
    """The source could not be fetched (DNS, refused, timeout, HTTP error, too large, refused address)."""

    def __init__(
        self,
        key: str,
        message: str,
        *,
        kind: FetchErrorKind = "network",
        retry_after: float | None = None,
    ):
        self.kind: FetchErrorKind = kind
        self.retry_after = retry_after
        super().__init__(key, message)


class ExtractError(SourceError):
    """The response arrived but no items could be read from it (invalid feed, HTML for a feed)."""


class StorageError(FeedwatchError):
    """The database refused or failed an operation."""


class DeliveryError(FeedwatchError):
    """A message could not be delivered; `temporary` says whether a later try may succeed."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        self.temporary = temporary
        super().__init__(message)


class DiscoveryError(FeedwatchError):
    """No feed and no listing with items could be found behind a URL (`feedwatch add`)."""
