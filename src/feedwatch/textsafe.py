"""Untrusted text made safe where it goes: one line, Markdown, mail headers, links.

The one place that decides what an http(s) URL is (``is_http_url``) and how text from a source
is made inert; the digest, the exports, mail and the config all use these. No I/O.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

__all__ = ["header_value", "is_http_url", "md_escape", "md_url", "one_line", "safe_url"]


def is_http_url(url: str | None) -> bool:
    """An absolute http(s) URL with a host name and, if any, a valid port."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()<>#|!~&{}$])")


def one_line(text: str | None) -> str:
    """Control characters and line breaks become spaces; runs of space collapse."""
    if not text:
        return ""
    return _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()


def md_escape(text: str | None) -> str:
    """Source text made inert inside a Markdown line: no links, emphasis, HTML, tables, headings."""
    return _MD_SPECIAL.sub(r"\\\1", one_line(text))


def header_value(text: str | None, limit: int = 200) -> str:
    """A mail header value: one line, no control characters, at most `limit` characters."""
    value = one_line(text)
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


def safe_url(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) URL with a host and no spaces, else None; quotes,
    angle brackets, parentheses and backticks come back percent-encoded."""
    if not url:
        return None
    url = url.strip()
    if not url or _CONTROL.search(url) or any(c.isspace() for c in url):
        return None
    if not is_http_url(url):
        return None
    return md_url(url)


def md_url(url: str) -> str:
    """A safe URL as a Markdown link destination: characters that could end it are encoded."""
    return quote(url, safe="/:?#@!$&'*+,;=%-._~[]")
