"""feedwatch: watch Dutch government and NGO sources on asylum and migration.

The stable Python API, for people who script feedwatch and for evaluation against outside test
material (pure functions over bytes and strings that raise only feedwatch's own errors):

- ``parse_feed(body, *, url, headers=None, now=None)``: the items of an RSS, Atom or JSON feed;
- ``extract_listing(body, *, url, selectors=None, now=None)``: the items of an HTML news listing;
- ``article_date(body, *, url)``: an article page's publication date and its provenance;
- ``classify_text(title, text, *, lang=None)``: topic scores, each with its explanation.

They are imported on first use, so that ``import feedwatch`` (and the CLI's start-up) stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/feedwatch/feedwatch"
USER_AGENT = f"feedwatch/{__version__} (+{PROJECT_URL})"

_API = {
    "parse_feed": "feedwatch.core.extract.public",
    "extract_listing": "feedwatch.core.extract.public",
    "article_date": "feedwatch.core.extract.public",
    "classify_text": "feedwatch.core.classify",
}
__all__ = ["__version__", "article_date", "classify_text", "extract_listing", "parse_feed"]

if TYPE_CHECKING:
    from feedwatch.core.classify import classify_text as classify_text
    from feedwatch.core.extract.public import article_date as article_date
    from feedwatch.core.extract.public import extract_listing as extract_listing
    from feedwatch.core.extract.public import parse_feed as parse_feed


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'feedwatch' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
